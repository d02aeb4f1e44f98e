"""Column types of an archive: one type per column, widened when inputs disagree.

Files written at different times may hold a column with different types (`@n` integers in one
ingest, text in a later one). The archive keeps one *unified* type per column, the widest seen:
Int64 + Float64 → Float64; a scalar and a list → a list; any other disagreement → String (values
become their text: `200`, `2.5`, `true`). Older files are converted on read, never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from engine.archive.frame import BASE_SCHEMA, TIMESTAMP_DTYPE
from engine.core.errors import ArchiveError

Schema = dict[str, pl.DataType]

_SCALARS: dict[str, pl.DataType] = {
    "Boolean": pl.Boolean(),
    "Int64": pl.Int64(),
    "Float64": pl.Float64(),
    "String": pl.String(),
    "Null": pl.Null(),
    "Timestamp": TIMESTAMP_DTYPE,
}


def inner_type(dtype: pl.List) -> pl.DataType:
    """The element type of a list type, as an instance."""
    inner = dtype.inner
    assert inner is not None
    return inner() if isinstance(inner, type) else inner


def dtype_to_text(dtype: pl.DataType) -> str:
    """A stable text form of an archive column type (`List(String)`, `Int64`...)."""
    if isinstance(dtype, pl.List):
        return f"List({dtype_to_text(inner_type(dtype))})"
    if isinstance(dtype, pl.Datetime):
        return "Timestamp"
    for name, known in _SCALARS.items():
        if dtype == known:
            return name
    raise ArchiveError(f"unsupported column type in archive: {dtype}")


def dtype_from_text(text: str) -> pl.DataType:
    """Inverse of `dtype_to_text`."""
    if text.startswith("List(") and text.endswith(")"):
        return pl.List(dtype_from_text(text[5:-1]))
    try:
        return _SCALARS[text]
    except KeyError:
        raise ArchiveError(f"unknown column type {text!r} in archive metadata") from None


def normalize_dtype(dtype: pl.DataType) -> pl.DataType:
    """Map the types a Parquet reader may report onto the archive's own types."""
    if isinstance(dtype, pl.List):
        return pl.List(normalize_dtype(inner_type(dtype)))
    if isinstance(dtype, pl.Datetime):
        return TIMESTAMP_DTYPE
    if dtype.is_integer():
        return pl.Int64()
    if dtype.is_float():
        return pl.Float64()
    if dtype in (pl.Boolean(), pl.Null()):
        return dtype
    return pl.String()


def unify(left: pl.DataType, right: pl.DataType) -> pl.DataType:
    """The narrowest archive type both `left` and `right` convert to without loss."""
    if left == right:
        return left
    if isinstance(left, pl.Null):
        return right
    if isinstance(right, pl.Null):
        return left
    if isinstance(left, pl.List) or isinstance(right, pl.List):
        inner_left = inner_type(left) if isinstance(left, pl.List) else left
        inner_right = inner_type(right) if isinstance(right, pl.List) else right
        return pl.List(unify(inner_left, inner_right))
    if {type(left), type(right)} == {pl.Int64, pl.Float64}:
        return pl.Float64()
    return pl.String()


def unify_schemas(base: Mapping[str, pl.DataType], other: Mapping[str, pl.DataType]) -> Schema:
    """`base` widened by `other`: new columns appended, shared columns unified."""
    merged = dict(base)
    for name, dtype in other.items():
        merged[name] = unify(merged[name], dtype) if name in merged else dtype
    return merged


def convert(expr: pl.Expr, source: pl.DataType, target: pl.DataType) -> pl.Expr:
    """An expression turning values of type `source` into `target` (a unified wider type)."""
    if source == target:
        return expr
    if isinstance(source, pl.Null):
        return expr.cast(target)
    if isinstance(target, pl.List):
        inner = inner_type(target)
        if isinstance(source, pl.List):
            return expr.list.eval(convert(pl.element(), inner_type(source), inner))
        wrapped = pl.concat_list([convert(expr, source, inner)])
        return pl.when(expr.is_not_null()).then(wrapped).otherwise(pl.lit(None, dtype=target))
    return expr.cast(target)


def conform(
    frame_schema: Mapping[str, pl.DataType], target: Mapping[str, pl.DataType]
) -> list[pl.Expr]:
    """Select expressions giving a frame of `frame_schema` exactly the columns of `target`."""
    exprs: list[pl.Expr] = []
    for name, dtype in target.items():
        if name in frame_schema:
            exprs.append(convert(pl.col(name), frame_schema[name], dtype).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return exprs


def ordered(schema: Mapping[str, pl.DataType]) -> Schema:
    """Base columns first in their fixed order, then every other column sorted by name."""
    head = {name: schema.get(name, dtype) for name, dtype in BASE_SCHEMA.items()}
    rest = {name: schema[name] for name in sorted(schema) if name not in BASE_SCHEMA}
    return {**head, **rest}


def schema_to_json(schema: Mapping[str, pl.DataType]) -> dict[str, str]:
    """The schema as `{column: type text}` for the archive manifest."""
    return {name: dtype_to_text(dtype) for name, dtype in schema.items()}


def schema_from_json(data: Mapping[str, str]) -> Schema:
    """Inverse of `schema_to_json`."""
    return {name: dtype_from_text(text) for name, text in data.items()}
