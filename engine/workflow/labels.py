"""Labelled attack windows for `score`: a CSV or JSON file of what happened, when, to whom.

Columns (CSV header) or keys (JSON objects; a list, or `{"labels": [...]}`):

| column | required | meaning |
|---|---|---|
| `label` | yes | the attack's name (unique) |
| `start`, `end` | yes | the window, RFC 3339 or epoch ms, both included (`end` >= `start`) |
| `entity` | no | who or what it is about: a user, host, IP or ARN, as the logs spell it |
| `rule` | no | the rule(s) expected to catch it, by name or id (`|`-separated, or a JSON list) |
| `technique` | no | the technique(s) it is, e.g. `T1110` (`|`-separated, or a JSON list) |
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from engine.core.errors import HindsightError, LabelError
from engine.core.times import parse_time

COLUMNS = ("label", "start", "end", "entity", "rule", "technique")
REQUIRED = ("label", "start", "end")
SEPARATOR = "|"


@dataclass(frozen=True)
class Label:
    """One labelled attack window (epoch ms, both ends included)."""

    label: str
    start: int
    end: int
    entity: str | None = None
    rules: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()


def load_labels(path: str | Path) -> list[Label]:
    """The labels of a `.csv` or `.json` file (raises `LabelError`)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabelError(f"labels {file}: cannot read the file: {exc.strerror}") from None
    if file.suffix.lower() == ".json":
        rows = _json_rows(text, file)
    elif file.suffix.lower() == ".csv":
        rows = _csv_rows(text, file)
    else:
        raise LabelError(f"labels {file}: give a .csv or .json file")
    labels = [_label(row, f"{file}:{where}") for where, row in rows]
    seen: set[str] = set()
    for label in labels:
        if label.label in seen:
            raise LabelError(f"labels {file}: label {label.label!r} appears twice")
        seen.add(label.label)
    return labels


def _csv_rows(text: str, file: Path) -> list[tuple[str, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise LabelError(
            f"labels {file}: unknown column(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})"
        )
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise LabelError(f"labels {file}: missing column(s) {', '.join(missing)}")
    return [(f"line {reader.line_num}", row) for row in reader]


def _json_rows(text: str, file: Path) -> list[tuple[str, Mapping[str, Any]]]:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise LabelError(f"labels {file}: not valid JSON: {exc}") from None
    if isinstance(data, Mapping) and isinstance(data.get("labels"), list):
        data = data["labels"]
    if not isinstance(data, list):
        raise LabelError(f'labels {file}: expected a list of labels (or {{"labels": [...]}})')
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for number, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise LabelError(f"labels {file}:[{number}]: a label must be an object")
        unknown = [key for key in item if key not in COLUMNS]
        if unknown:
            raise LabelError(f"labels {file}:[{number}]: unknown field(s) {', '.join(unknown)}")
        rows.append((f"[{number}]", item))
    return rows


def _texts(value: Any, where: str, name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(SEPARATOR) if part.strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise LabelError(f"labels {where}: {name} must be text or a list of text")


def _label(row: Mapping[str, Any], where: str) -> Label:
    for name in REQUIRED:
        if row.get(name) in (None, ""):
            raise LabelError(f"labels {where}: {name} is required")
    times: list[int] = []
    for name in ("start", "end"):
        try:
            times.append(parse_time(row[name]))
        except HindsightError as exc:
            raise LabelError(f"labels {where}: {name}: {exc}") from None
    start, end = times
    if end < start:
        raise LabelError(f"labels {where}: end ({row['end']}) is before start ({row['start']})")
    entity = row.get("entity")
    if entity is not None and not isinstance(entity, str):
        raise LabelError(f"labels {where}: entity must be text")
    return Label(
        label=str(row["label"]),
        start=start,
        end=end,
        entity=entity or None,
        rules=_texts(row.get("rule"), where, "rule"),
        techniques=_texts(row.get("technique"), where, "technique"),
    )
