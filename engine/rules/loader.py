"""Loading detection rules from JSON files and folders.

Accepted shapes (SPEC §3; Datadog's own exports):

- one rule object, as `GET /api/v2/security_monitoring/rules/{id}` returns it or the app's
  "Export to JSON" writes it;
- a JSON:API resource wrapping a rule: `{"data": {"id": ..., "attributes": {...rule...}}}`;
- for `load_rules` only: a JSON array of rules, or a rules list response `{"data": [...]}` whose
  items are rule objects or JSON:API resources;
- for `load_rules` only: Sigma rules (`.yml` / `.yaml` files, or those of a folder that hold a
  Sigma rule), converted by `engine.rules.sigma` with the `sigma_pipeline` given (default: the
  shipped pipelines).

Every error names the file, plus the array index when the file holds several rules
(`rules.json[3]`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.errors import RuleSetValidationError, RuleValidationError
from engine.rules.models import Rule
from engine.rules.sigma.files import is_sigma_file
from engine.rules.sigma.loading import sigma_entries
from engine.rules.validation import validate_rule

__all__ = ["RuleEntry", "RuleSetValidationError", "load_rule", "load_rules", "rule_entries"]

RuleSource = str | os.PathLike[str] | Mapping[str, Any]


def load_rule(rule: RuleSource) -> Rule:
    """One rule from a `.json` file holding one rule object, or from an already-decoded dict."""
    if isinstance(rule, Mapping):
        return validate_rule(_unwrap_resource(rule))
    source = str(rule)
    data = _read_json(Path(rule))
    items = _rule_list(data)
    if items is not None:
        problem = f"holds a list of {len(items)} rules; load_rule reads one (use load_rules)"
        raise RuleValidationError([("", problem)], source=source)
    return validate_rule(_unwrap_resource(data), source=source)


def load_rules(path: str | os.PathLike[str], *, sigma_pipeline: Any = None) -> list[Rule]:
    """Every rule of a file (one rule or a list) or of a folder (`*.json` and Sigma `*.yml`,
    recursively, sorted); `sigma_pipeline` is the Sigma pipeline (see `engine.rules.sigma`).

    Raises the rule's `RuleValidationError` when one rule is invalid, and a
    `RuleSetValidationError` listing each invalid rule when several are.
    """
    entries = rule_entries(path, sigma_pipeline=sigma_pipeline)
    errors = [entry.error for entry in entries if entry.error is not None]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise RuleSetValidationError(errors)
    return [entry.rule for entry in entries if entry.rule is not None]


@dataclass(frozen=True)
class RuleEntry:
    """One rule of a rule file (`source` is the file, or `file[index]` in an array), or the
    error that kept it from loading."""

    file: Path
    source: str
    rule: Rule | None = None
    error: RuleValidationError | None = None


def rule_entries(path: str | os.PathLike[str], *, sigma_pipeline: Any = None) -> list[RuleEntry]:
    """Every rule of a file or folder (as `load_rules` reads them), each loaded or refused."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*.json") if p.is_file()) if root.is_dir() else [root]
    found = [RuleEntry(*entry) for entry in sigma_entries(path, sigma_pipeline)]
    files = [file for file in files if not is_sigma_file(file)]
    for file in files:
        try:
            data = _read_json(file)
        except RuleValidationError as err:
            found.append(RuleEntry(file, str(file), error=err))
            continue
        items = _rule_list(data)
        entries = (
            [(str(file), data)]
            if items is None
            else [(f"{file}[{i}]", item) for i, item in enumerate(items)]
        )
        for source, item in entries:
            try:
                rule = validate_rule(_unwrap_resource(item), source=source)
            except RuleValidationError as err:
                found.append(RuleEntry(file, source, error=err))
            else:
                found.append(RuleEntry(file, source, rule=rule))
    return found


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleValidationError([("", "no such file or folder")], source=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise RuleValidationError(
            [("", f"cannot read the file: {reason}")], source=str(path)
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        problem = f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        raise RuleValidationError([("", problem)], source=str(path)) from None


def _rule_list(data: Any) -> list[Any] | None:
    """The rules of a list-shaped document (array or `{"data": [...]}`), else None."""
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping) and isinstance(data.get("data"), list):
        return list(data["data"])
    return None


def _unwrap_resource(data: Any) -> Any:
    """`{"data": {"id", "attributes": {...}}}` or `{"id", "attributes": {...}}` -> the rule."""
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        data = data["data"]
    if isinstance(data, Mapping) and isinstance(data.get("attributes"), Mapping):
        rule = dict(data["attributes"])
        if isinstance(data.get("id"), str):
            rule.setdefault("id", data["id"])
        return rule
    if isinstance(data, Mapping) and "tests" in data:  # unit tests, read by `hindsight test`
        return {key: value for key, value in data.items() if key != "tests"}
    return data
