"""Canonical records -> an archive frame in bulk: the fast path of ingest.

`records_frame` lays a batch of parsed canonical records (the `ndjson` format) out as archive
columns with pyarrow (one struct array inferred from every record, then flattened) instead of one
`LogEvent` and one flattened dict per record. It gives exactly what
`frame.events_to_frame` gives for the same records, or `None` when the batch holds anything the
fast path does not cover; the caller then reads that batch record by record (the reference path,
which also reports rejections). Covered: records whose keys are the canonical ones, a text `id`,
an epoch-millisecond integer `timestamp`, text (or null) reserved fields, a list of text `tags`,
and attributes whose leaves have one JSON type per path (ints mixed with floats allowed), whose
arrays hold scalars and no null, and with no empty object.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from engine.archive.frame import BASE_SCHEMA
from engine.core.columns import RAW_COLUMN, RESERVED_FIELDS, quote_segment

_KEYS = frozenset({"id", "timestamp", *RESERVED_FIELDS, "tags", "attributes"})
#: the epoch-millisecond range `parse_timestamp` reads an integer as milliseconds
_MS_LOW, _MS_HIGH = 10**11, 10**14
#: ids that look like content ids (`event.event_id`) are left to the reference path
_CONTENT_ID = re.compile(r"h[0-9a-f]{24}")
_SCALAR_TYPES = (pa.bool_(), pa.int64(), pa.float64(), pa.string())


def records_frame(records: list[Any]) -> pl.DataFrame | None:
    """The archive frame of `records`, or `None` when the batch is not covered (module doc)."""
    if not records or not all(type(record) is dict for record in records):
        return None
    if not _KEYS.issuperset(set().union(*map(dict.keys, records))):
        return None
    base = _record_columns(records)
    if base is None:
        return None
    attributes = [record.get("attributes") or {} for record in records]
    if not all(type(value) is dict for value in attributes):
        return None
    try:
        table = pa.array(attributes)  # every key of every object (`from_pylist` reads the first)
        raw = pa.array(map(_dumps, attributes), type=pa.string(), size=len(attributes))
    except (pa.ArrowException, OverflowError, TypeError):
        return None
    if pa.types.is_null(table.type):
        table = pa.array([{}] * len(attributes), pa.struct([]))
    columns = attribute_columns(table)
    if columns is None:
        return None
    if any(_is_float(array.type) for array in columns.values()) and _has_boolean(raw):
        return None  # pyarrow reads `false` among floats as 0.0; the reference path keeps text
    return assemble(base, pl.Series(RAW_COLUMN, raw), columns)


def attribute_columns(table: pa.StructArray) -> dict[str, pa.Array] | None:
    """The attribute leaf columns (`@a.b`) of a struct array of `attributes` objects, or `None`
    when a leaf is not covered (module doc)."""
    columns: dict[str, pa.Array] = {}
    for index in range(table.type.num_fields):
        name = "@" + quote_segment(table.type.field(index).name)
        if not _leaves(pc.struct_field(table, [index]), name, columns):
            return None
    return columns


def assemble(
    base: dict[str, pl.Series], raw: pl.Series, columns: dict[str, pa.Array]
) -> pl.DataFrame:
    """The archive frame: base columns, `_raw`, then the attribute columns in name order."""
    base[RAW_COLUMN] = raw.alias(RAW_COLUMN)
    frame = pl.DataFrame([base[name] for name in BASE_SCHEMA])
    if not columns:
        return frame
    attribute_frame = pl.from_arrow(pa.table({name: columns[name] for name in sorted(columns)}))
    assert isinstance(attribute_frame, pl.DataFrame)
    return pl.concat([frame, attribute_frame], how="horizontal")


def _is_float(kind: pa.DataType) -> bool:
    inner = kind.value_type if pa.types.is_list(kind) else kind
    return bool(inner == pa.float64())


#: a JSON boolean in compact JSON text (or, conservatively, such text inside a string)
_BOOLEAN = r"[:\[,](true|false)[,\]}]"


def _has_boolean(raw: pa.Array) -> bool:
    return bool(pc.any(pc.match_substring_regex(raw, _BOOLEAN)).as_py())


def _dumps(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


def _record_columns(records: list[dict[str, Any]]) -> dict[str, pl.Series] | None:
    """The base columns of parsed records, or `None` when a value needs normalising."""
    ids = [record.get("id") for record in records]
    stamps = [record.get("timestamp") for record in records]
    if not all(type(value) is str for value in ids) or not all(
        type(value) is int and _MS_LOW <= abs(value) < _MS_HIGH for value in stamps
    ):
        return None
    reserved: dict[str, pl.Series] = {}
    for name in RESERVED_FIELDS:
        values = [record.get(name) for record in records]
        if not all(value is None or type(value) is str for value in values):
            return None
        reserved[name] = pl.Series(name, values, dtype=pl.String())
    tags = [record.get("tags") for record in records]
    if not all(value is None or type(value) is list for value in tags):
        return None
    try:
        tag_array = pa.array(tags, type=pa.list_(pa.string()))
    except (pa.ArrowException, TypeError):
        return None
    return base_columns(
        pl.Series("id", ids, dtype=pl.String()),
        pl.Series("timestamp", stamps, pl.Int64()),
        reserved,
        pl.Series("tags", tag_array),
    )


def base_columns(
    ids: pl.Series, stamps: pl.Series, reserved: dict[str, pl.Series], tags: pl.Series
) -> dict[str, pl.Series] | None:
    """The archive's base columns from text ids, Int64 epoch-millisecond stamps, text reserved
    fields and lists of text tags; `None` when a value needs the reference path's normalising
    (a missing, empty or content-like id, a stamp outside the millisecond range, a null tag,
    text beyond ASCII where Python's and polars' lower-casing may differ)."""
    if ids.null_count() or stamps.null_count() or (ids == "").any():
        return None
    if not stamps.abs().is_between(_MS_LOW, _MS_HIGH, closed="left").all():
        return None
    if ids.str.contains(f"^{_CONTENT_ID.pattern}$").any():
        return None
    items = tags.explode()
    if items.null_count() > tags.list.len().eq(0).sum() + tags.null_count():
        return None  # a null tag is the text `null` to the reference path
    status = reserved["status"]
    if _beyond_ascii(items) or _beyond_ascii(status):
        return None
    columns = {
        "id": ids.alias("id"),
        "timestamp": stamps.alias("timestamp").cast(BASE_SCHEMA["timestamp"]),
        **{name: reserved[name].alias(name) for name in RESERVED_FIELDS},
        "status": status.str.to_lowercase().alias("status"),
    }
    cleaned = tags.alias("tags").list.eval(pl.element().str.strip_chars().str.to_lowercase())
    columns["tags"] = cleaned.list.eval(pl.element().filter(pl.element() != "")).fill_null([])
    return columns


def _beyond_ascii(column: pl.Series) -> bool:
    return bool(column.str.contains(r"[^\x20-\x7e]").any())


def _may_hide_empty_object(array: pa.Array) -> bool:
    """Whether a present object has no field set: `{}` (text for the reference path) and
    `{"a": null}` (nothing) look alike in Arrow, so such a batch takes the reference path."""
    children = [
        pc.struct_field(array, [index]).is_valid() for index in range(array.type.num_fields)
    ]
    if not children:
        return False
    any_child = children[0]
    for child in children[1:]:
        any_child = pc.or_(any_child, child)
    return bool(pc.any(pc.and_(array.is_valid(), pc.invert(any_child))).as_py())


def _leaves(array: pa.Array, name: str, out: dict[str, pa.Array]) -> bool:
    """Put the leaf columns of `array` (named `name`) into `out`; False when not covered."""
    kind = array.type
    if pa.types.is_null(kind):
        return True
    if pa.types.is_struct(kind):
        if kind.num_fields == 0:  # `{}` counts as present: kept as the text `{}`
            out[name] = pc.if_else(array.is_valid(), "{}", pa.scalar(None, pa.string()))
            return True
        if _may_hide_empty_object(array):
            return False
        for index in range(kind.num_fields):
            child = pc.struct_field(array, [index])
            if not _leaves(child, f"{name}.{quote_segment(kind.field(index).name)}", out):
                return False
        return True
    if pa.types.is_list(kind):
        inner = kind.value_type
        if pc.list_flatten(array).null_count:
            return False  # the reference path drops nulls in arrays
        if pa.types.is_null(inner):  # only empty arrays: text lists, as the reference types them
            out[name] = array.cast(pa.list_(pa.string()))
            return True
        if inner not in _SCALAR_TYPES:
            return False
        out[name] = array
        return True
    if kind not in _SCALAR_TYPES:
        return False
    out[name] = array
    return True
