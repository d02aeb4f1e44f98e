"""Sigma files as the rule loader reads them (`engine.load_rules`, `hindsight run`).

Kept apart from the conversion so that loading JSON rules does not import pySigma: it is
imported only when a Sigma file is found.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from engine.errors import RuleValidationError
from engine.rules.models import Rule

__all__ = ["SIGMA_SUFFIXES", "SigmaEntry", "is_sigma_file", "sigma_entries", "sigma_files"]

SIGMA_SUFFIXES: tuple[str, ...] = (".yml", ".yaml")
#: A top-level key only Sigma rules, correlations and filters have.
RULE_KEY = re.compile(r"^(detection|correlation|filter):", re.MULTILINE)

log = logging.getLogger("hindsight.sigma")


def is_sigma_file(path: str | os.PathLike[str]) -> bool:
    """A `.yml` / `.yaml` file: read as Sigma rules."""
    return Path(path).suffix.lower() in SIGMA_SUFFIXES


def sigma_files(path: str | os.PathLike[str]) -> list[Path]:
    """The Sigma files of a file or folder: a `.yml` file named, or the `.yml` files of a folder
    (recursively, sorted) that hold a Sigma rule, correlation or filter (a top-level `detection:`,
    `correlation:` or `filter:` key), so other YAML beside rules (fixtures, configuration) is
    left alone."""
    root = Path(path)
    if root.is_dir():
        found = (p for p in root.rglob("*") if p.is_file() and is_sigma_file(p))
        return sorted(p for p in found if _holds_rule(p))
    return [root] if is_sigma_file(root) else []


def _holds_rule(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # listed, so that reading it reports why it cannot be read
    return RULE_KEY.search(text) is not None


class SigmaEntry(NamedTuple):
    """One Sigma rule as the loader lists it (the fields of its `RuleEntry`)."""

    file: Path
    source: str
    rule: Rule | None
    error: RuleValidationError | None


def sigma_entries(path: str | os.PathLike[str], pipeline: Any = None) -> list[SigmaEntry]:
    """Every Sigma rule of a file or folder that yields a rule of its own (a rule only a
    correlation uses does not): loaded, or refused with the converter's reason. A note on a
    converted rule (a longer window, a method to come) is logged as a warning."""
    files = sigma_files(path)
    if not files:
        return []
    from engine.rules.sigma.convert import convert_sigma  # noqa: PLC0415 - imports pySigma

    entries: list[SigmaEntry] = []
    for conversion in convert_sigma(files, pipeline):
        if conversion.loaded is not None and not conversion.output:
            continue
        if conversion.loaded is None:
            reason = f"cannot convert this Sigma rule: {conversion.error}"
            error = RuleValidationError([("", reason)], source=conversion.source)
            entries.append(SigmaEntry(conversion.file, conversion.source, None, error))
            continue
        for note in conversion.notes:
            log.warning("Sigma rule %s: %s", conversion.source, note)
        entries.append(SigmaEntry(conversion.file, conversion.source, conversion.loaded, None))
    return entries
