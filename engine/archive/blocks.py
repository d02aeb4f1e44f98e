"""A block of NDJSON lines -> an archive frame in native code: the fast path of ingest.

`block_frame` lays out a block of whole lines of the `ndjson` format (canonical events, one per
line) without one Python object per event: polars splits the lines and cuts each at its top-level
`"attributes":` key; pyarrow's JSON reader parses the heads (id, timestamp, reserved fields, tags)
and the attribute objects; `columnar` flattens and cleans the columns; `_raw` is the attribute
text itself when it is already in the compact form `orjson` writes, and is re-written by orjson
otherwise. It gives exactly what the per-event path gives for the same lines, or `None` when the
block holds anything it does not cover; the caller then reads the block line by line (which also
reports rejections). Covered: what `columnar` covers, on lines `{...,"attributes":{...}}` with
`attributes` last, and none of the texts pyarrow reads differently from the reference (integers
of 19 digits or more, `-0`, escaped UTF-16 surrogates, bytes that are not UTF-8).
"""

from __future__ import annotations

import io

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.json as pj

from engine.archive.columnar import assemble, attribute_columns, base_columns
from engine.core.columns import RAW_COLUMN, RESERVED_FIELDS
from engine.core.json import LONG_NUMBER

#: What a line must not hold (even inside strings, conservatively): pyarrow reads integers
#: beyond 64 bits as floats and `-0` among floats as -0.0, and may read escaped UTF-16
#: surrogates otherwise than the reference. Separate patterns scan faster than one alternation;
#: `LONG_NUMBER` is only looked for where 19 digits are (a cheaper scan), and digits inside other
#: text (`aws-go-sdk-1722375070115152000`) keep a line on the native path.
_UNSAFE = ((r"[0-9]{19}", LONG_NUMBER), (r"[:,\[]-0[^.0-9eE]",), (r"\\u[dD][89a-fA-F]",))
_ATTRIBUTES = '"attributes":'
_HEAD_KEYS = frozenset({"id", "timestamp", *RESERVED_FIELDS, "tags"})
#: Attribute text orjson may write otherwise: whitespace outside strings (in valid JSON it
#: touches a bracket, colon or comma), a float (`1.50`, `1E2`), an escape orjson does not use.
#: Conservative: a match inside a string only costs a re-write.
_NOT_COMPACT = r"^\s|[:,\[{]\s|\s[:,\]}]|[:,\[]-?[0-9]+[.eE]|\\[u/]"


def block_frame(data: bytes) -> pl.DataFrame | None:
    """The archive frame of the NDJSON lines in `data`, or `None` when not covered (module doc).

    `data` holds whole lines (a trailing newline is allowed), without a byte order mark."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    lines = pl.Series("line", [text.removesuffix("\n")]).str.split("\n").explode()
    if not (lines.str.starts_with("{") & lines.str.ends_with("}}")).all():
        return None  # blank lines, arrays, whitespace around records, no object to end with
    if any(all(lines.str.contains(p).any() for p in patterns) for patterns in _UNSAFE):
        return None
    try:
        return _lay_out(data, lines)
    except pa.ArrowException:  # what pyarrow cannot represent (`[null]` in some layouts)
        return None


def _lay_out(data: bytes, lines: pl.Series) -> pl.DataFrame | None:
    table = _read_json(data, lines.len())
    if table is None or "attributes" not in table.column_names:
        return None
    attributes = table.column("attributes").combine_chunks()
    if not pa.types.is_struct(attributes.type):
        return None
    base = _head_columns(table.drop_columns("attributes"))
    columns = attribute_columns(attributes)
    if base is None or columns is None:
        return None
    # Only `attributes` can hold an object and a line ends with `}}`, so `attributes` is the
    # last key, and its text runs from its key (the first, as no string can hold it) to the end.
    text_after = lines.str.splitn(_ATTRIBUTES, 2).struct.field("field_1")
    if text_after.null_count():
        return None  # `"attributes" :` with a space
    return assemble(base, _raw(text_after.str.strip_suffix("}")), columns)


def _read_json(data: bytes, rows: int) -> pa.Table | None:
    """One JSON object per line of `data`, read by pyarrow in one block; `None` on any error (a
    type that changes along a column, a repeated key, invalid JSON) or when a line holds more
    than one object. Strings pyarrow takes for timestamps are read again as the text they are."""
    options = pj.ReadOptions(use_threads=False, block_size=len(data) + 1)
    try:
        table = pj.read_json(io.BytesIO(data), read_options=options)
        if _has_timestamps(table.schema):
            schema = pa.schema([_as_text(field) for field in table.schema])
            parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
            table = pj.read_json(io.BytesIO(data), read_options=options, parse_options=parse)
    except pa.ArrowException:
        return None
    return table if table.num_rows == rows else None


def _has_timestamps(schema: pa.Schema) -> bool:
    return any(_as_text(field) != field for field in schema)


def _as_text(field: pa.Field) -> pa.Field:
    """`field` with every timestamp type inside it read as text instead."""
    kind = field.type
    if pa.types.is_timestamp(kind):
        return field.with_type(pa.string())
    if pa.types.is_struct(kind):
        return field.with_type(pa.struct([_as_text(kind.field(i)) for i in range(kind.num_fields)]))
    if pa.types.is_list(kind):
        return field.with_type(pa.list_(_as_text(kind.value_field)))
    return field


def _head_columns(heads: pa.Table) -> dict[str, pl.Series] | None:
    """The base columns from the parsed top-level fields but `attributes`, or `None` when one
    needs normalising."""
    if not _HEAD_KEYS.issuperset(heads.column_names) or "id" not in heads.column_names:
        return None
    if "timestamp" not in heads.column_names:
        return None
    columns = {name: heads.column(name).combine_chunks() for name in heads.column_names}
    rows = heads.num_rows
    if columns["id"].type != pa.string() or columns["timestamp"].type != pa.int64():
        return None
    reserved: dict[str, pl.Series] = {}
    for name in RESERVED_FIELDS:
        column = columns.get(name, pa.nulls(rows))
        if not (pa.types.is_null(column.type) or column.type == pa.string()):
            return None
        reserved[name] = pl.Series(name, column.cast(pa.string()))
    tags = columns.get("tags", pa.nulls(rows))
    if not (pa.types.is_null(tags.type) or pa.types.is_list(tags.type)):
        return None
    if pa.types.is_list(tags.type) and tags.type.value_type not in (pa.string(), pa.null()):
        return None
    return base_columns(
        pl.Series("id", columns["id"]),
        pl.Series("timestamp", columns["timestamp"]),
        reserved,
        pl.Series("tags", tags.cast(pa.list_(pa.string()))),
    )


def _raw(attribute_text: pl.Series) -> pl.Series:
    """`_raw`: each attribute text as orjson writes it (most are already; the others are
    re-written one by one)."""
    rewrite = attribute_text.str.contains(_NOT_COMPACT)
    if not rewrite.any():
        return attribute_text.alias(RAW_COLUMN)
    texts = attribute_text.filter(rewrite).to_list()
    compact = pl.Series([orjson.dumps(orjson.loads(text)).decode() for text in texts])
    return attribute_text.scatter(rewrite.arg_true(), compact).alias(RAW_COLUMN)
