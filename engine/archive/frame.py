"""Canonical events -> a polars DataFrame in the archive's column layout.

This is the one place where logs become columns, used by ingest (before writing Parquet) and by
`engine.match` (so a query is tested against exactly what the archive would hold):

- reserved fields are top-level columns, `tags` a list of strings, `timestamp` a UTC datetime (ms);
- every attribute leaf is a column named as a query names it (`@usr.id`); arrays, and paths that
  cross arrays of objects, become list columns holding every reached leaf value (nested arrays are
  flattened);
- one type per column: booleans, Int64, Float64 (ints and floats mixed) or String; values whose JSON
  types disagree are all kept as text; a column that is a list in any event is a list column;
- JSON `null` is missing; an empty object is kept as the text `{}` (it counts as present);
- `_raw` keeps the whole attributes object as JSON text, so nothing is ever lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import orjson
import polars as pl
import pyarrow as pa

from engine.archive.event import LogEvent, canonical_text
from engine.core.columns import BASE_COLUMNS, RAW_COLUMN, RESERVED_FIELDS, quote_segment
from engine.core.json import json_text

TIMESTAMP_DTYPE = pl.Datetime("ms", "UTC")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

#: The fixed dtypes of the base columns.
BASE_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "timestamp": TIMESTAMP_DTYPE,
    **{name: pl.String() for name in RESERVED_FIELDS},
    "tags": pl.List(pl.String()),
    RAW_COLUMN: pl.String(),
}


class _List(list[Any]):
    """Marks a flattened value that came through an array (a list-column value)."""


def flatten_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute leaves keyed by column name; values reached through arrays are lists."""
    out: dict[str, Any] = {}
    _walk(attributes, "@", out, in_list=False)
    return out


@lru_cache(maxsize=1 << 16)
def _column_name(prefix: str, key: str) -> str:
    return prefix + quote_segment(key)


_SCALARS = (str, int, float, bool)


def _walk(obj: Mapping[str, Any], prefix: str, out: dict[str, Any], *, in_list: bool) -> None:
    for key, value in obj.items():
        column = _column_name(prefix, key if type(key) is str else str(key))
        kind = type(value)
        if kind in _SCALARS:
            if in_list or column in out:
                _mark_list(out, column).append(value)
            else:
                out[column] = value
        elif kind is dict and value:
            _walk(value, column + ".", out, in_list=in_list)
        elif value is not None:
            _place(value, column, out, in_list=in_list)


def _place(value: Any, column: str, out: dict[str, Any], *, in_list: bool) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        if value:
            _walk(value, column + ".", out, in_list=in_list)
        else:
            _store("{}", column, out, in_list=in_list)
        return
    if isinstance(value, list | tuple):
        if not value:
            _mark_list(out, column)
        for item in value:
            _place(item, column, out, in_list=True)
        return
    _store(value, column, out, in_list=in_list)


def _mark_list(out: dict[str, Any], column: str) -> _List:
    current = out.get(column)
    if isinstance(current, _List):
        return current
    marked = out[column] = _List() if current is None else _List([current])
    return marked


def _store(value: Any, column: str, out: dict[str, Any], *, in_list: bool) -> None:
    if in_list or column in out:
        _mark_list(out, column).append(value)
    else:
        out[column] = value


_ARROW_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
}


def _column_kind(kinds: set[str]) -> str:
    """The one kind a column holds: ints + floats are floats; any other mix is text."""
    if kinds in ({"bool"}, {"int"}):
        return next(iter(kinds))
    if kinds and kinds <= {"int", "float"}:
        return "float"
    return "str"


_KIND_OF_TYPE: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}


def _kinds(values: list[Any]) -> tuple[set[str], bool]:
    """The scalar kinds in a column's values, and whether any value is a list (C-speed scans)."""
    types = set(map(type, values))
    types.discard(type(None))
    is_list = _List in types
    if is_list:
        types.discard(_List)
        for value in values:
            if type(value) is _List:
                types.update(map(type, value))
    kinds = {_KIND_OF_TYPE.get(kind, "str") for kind in types}
    if "int" in kinds:
        ints = [value for value in _scalars(values, is_list) if type(value) is int]
        if max(ints) > _INT64_MAX or min(ints) < _INT64_MIN:
            kinds.add("str")  # beyond 64 bits: kept as exact text
    return kinds, is_list


def _scalars(values: list[Any], is_list: bool) -> Iterable[Any]:
    if not is_list:
        return values
    return [
        item
        for value in values
        if value is not None
        for item in (value if type(value) is _List else (value,))
    ]


def _column_array(values: list[Any]) -> pa.Array:
    kinds, is_list = _kinds(values)
    kind = _column_kind(kinds)
    arrow_type = _ARROW_TYPES[kind]
    uniform = kinds <= {kind}
    if is_list:
        rows = [
            None
            if value is None
            else [
                item if uniform else _convert_kind(item, kind)
                for item in (value if type(value) is _List else (value,))
            ]
            for value in values
        ]
        return pa.array(rows, type=pa.list_(arrow_type))
    if not uniform:
        values = [None if value is None else _convert_kind(value, kind) for value in values]
    return pa.array(values, type=arrow_type)


def _convert_kind(value: Any, kind: str) -> Any:
    if kind == "str":
        return canonical_text(value)
    if kind == "float":
        return float(value)
    return value


def events_to_frame(events: Iterable[LogEvent]) -> pl.DataFrame:
    """Lay canonical events out as archive columns (see the module docstring)."""
    base: dict[str, list[Any]] = {name: [] for name in BASE_SCHEMA}
    attributes: dict[str, list[Any]] = {}
    row = 0
    for event in events:
        for name in BASE_COLUMNS:
            base[name].append(event[name])  # type: ignore[literal-required]
        base[RAW_COLUMN].append(json_text(event["attributes"]))
        for column, value in flatten_attributes(event["attributes"]).items():
            values = attributes.get(column)
            if values is None:
                values = attributes[column] = []
            if len(values) < row:
                values.extend([None] * (row - len(values)))
            values.append(value)
        row += 1
    arrays: dict[str, pa.Array] = {
        name: pa.array(base[name], type=_BASE_ARROW[name]) for name in BASE_SCHEMA
    }
    for column in sorted(attributes):
        values = attributes[column]
        values.extend([None] * (row - len(values)))
        arrays[column] = _column_array(values)
    frame = pl.from_arrow(pa.table(arrays))
    assert isinstance(frame, pl.DataFrame)
    return frame


_BASE_ARROW: dict[str, pa.DataType] = {
    "id": pa.string(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    **{name: pa.string() for name in RESERVED_FIELDS},
    "tags": pa.list_(pa.string()),
    RAW_COLUMN: pa.string(),
}


def frame_to_events(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows of an archive frame back as canonical log dicts (attributes from the `_raw` copy)."""
    wanted = [name for name in (*BASE_COLUMNS, RAW_COLUMN) if name in frame.columns]
    rows = frame.select(wanted).with_columns(
        pl.col("timestamp").dt.epoch("ms") if "timestamp" in wanted else []
    )
    events: list[dict[str, Any]] = []
    for row in rows.iter_rows(named=True):
        raw = row.pop(RAW_COLUMN, None)
        row["attributes"] = _load_json(raw) if raw else {}
        events.append(row)
    return events


def _load_json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
