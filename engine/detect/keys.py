"""Values of the fields a rule names in `groupByFields`, `distinctFields` and `metrics`.

A field is written as in rules: `@usr.id` (attribute), `host` (reserved), `#name` (calculated) or
any other word (a tag key: the value part of the first `key:value` tag, SPEC §3.6 step 2).
Group-by and distinct values compare as text (SPEC §2.11), so `text_values` gives String or
List(String) expressions; `numeric_values` reads numbers, numeric strings and every numeric
element of an array for `sum`/`max` (booleans are ignored).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from engine.core.columns import (
    RESERVED_ALIASES,
    RESERVED_FIELDS,
    attribute_column,
    split_attribute_column,
)
from engine.query.values import numeric_value

_SIMPLE_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def field_column(field: str) -> str:
    """The archive column a rule field names (a tag key maps to `tags`)."""
    name = RESERVED_ALIASES.get(field, field)
    if name.startswith("@"):
        return attribute_column(split_attribute_column(name))
    if name.startswith("#") or name in RESERVED_FIELDS:
        return name
    return "tags"


def _element_type(dtype: pl.DataType) -> pl.DataType:
    inner = dtype.inner if isinstance(dtype, pl.List) else dtype
    assert inner is not None
    return inner() if isinstance(inner, type) else inner


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return expr if isinstance(dtype, pl.String) else expr.cast(pl.String())


def text_values(field: str, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """The field's value(s) as text: String, or List(String) for array fields; null = missing."""
    column = field_column(field)
    if column == "tags" and not field.startswith("@"):
        prefix = field.lower() + ":"
        element = pl.element()
        return (
            pl.col("tags")
            .list.eval(element.filter(element.str.starts_with(prefix)).str.slice(len(prefix)))
            .list.first()
        )
    dtype = schema.get(column)
    if dtype is None:
        return _object_text(column, schema)
    expr = pl.col(column)
    if isinstance(dtype, pl.List):
        element_type = _element_type(dtype)
        return expr.list.eval(_as_text(pl.element(), element_type))
    return _as_text(expr, dtype)


def _object_text(column: str, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """An object-valued attribute as JSON text, read from the raw copy (null when absent)."""
    prefix = column + "."
    if (
        column.startswith("@")
        and "_raw" in schema
        and any(name.startswith(prefix) for name in schema)
    ):
        segments = split_attribute_column(column)
        if all(_SIMPLE_SEGMENT.match(segment) for segment in segments):
            return pl.col("_raw").str.json_path_match("$." + ".".join(segments))
    return pl.lit(None, dtype=pl.String())


def numeric_values(field: str, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """The field's numeric value(s) as Float64 or List(Float64); non-numeric values are null."""
    column = field_column(field)
    dtype = schema.get(column)
    if column == "tags" and not field.startswith("@"):
        return _or_null(numeric_value(text_values(field, schema), pl.String()))
    if dtype is None:
        return pl.lit(None, dtype=pl.Float64())
    if isinstance(dtype, pl.List):
        element = numeric_value(pl.element(), _element_type(dtype))
        if element is None:
            return pl.lit(None, dtype=pl.List(pl.Float64()))
        return pl.col(column).list.eval(element.drop_nulls())
    return _or_null(numeric_value(pl.col(column), dtype))


def _or_null(expr: pl.Expr | None) -> pl.Expr:
    return pl.lit(None, dtype=pl.Float64()) if expr is None else expr
