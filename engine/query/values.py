"""Numeric typing of query text and event values (SPEC §2.6, §2.7, §2.11), and boolean folds.

A value is *numeric* when it is a number, or a string that parses fully as a finite decimal number:
`200`, `-2.5`, `.5`, `5.`, `1e3`, `+7`; not `inf`, `nan`, hex, `1_000` or padded text. Strings are
tested with a regex guard and a cast, never with a Python callback.

`any_of` / `all_of` are the one OR / AND fold of compiled clauses: constants known at compile
time (a missing column, `*`) are folded away, expressions are combined with Kleene logic
(`either` / `both`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

import polars as pl

#: A decimal number, anchored (Rust regex syntax, also valid Python).
NUMERIC_PATTERN = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NUMERIC = re.compile(NUMERIC_PATTERN.removeprefix("^").removesuffix("$"))
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


#: A compiled clause: a polars boolean expression, or a constant known at compile time.
Compiled = pl.Expr | bool


def either(exprs: Sequence[pl.Expr]) -> pl.Expr:
    """The OR of one or more boolean expressions (null where none is true and one is null)."""
    return exprs[0] if len(exprs) == 1 else pl.any_horizontal(exprs)


def both(exprs: Sequence[pl.Expr]) -> pl.Expr:
    """The AND of one or more boolean expressions (null where none is false and one is null)."""
    return exprs[0] if len(exprs) == 1 else pl.all_horizontal(exprs)


def any_of(parts: Iterable[Compiled]) -> Compiled:
    """The OR of `parts`: True when one is True, False when none is an expression."""
    return _fold(parts, True, either)


def all_of(parts: Iterable[Compiled]) -> Compiled:
    """The AND of `parts`: False when one is False, True when none is an expression."""
    return _fold(
        parts, False, lambda exprs: exprs[0] if len(exprs) == 1 else pl.all_horizontal(exprs)
    )


def _fold(
    parts: Iterable[Compiled], absorbing: bool, combine: Callable[[list[pl.Expr]], pl.Expr]
) -> Compiled:
    """`combine` of the expressions of `parts`; `absorbing` (True for OR) decides at once."""
    exprs: list[pl.Expr] = []
    for part in parts:
        if part is absorbing:
            return absorbing
        if not isinstance(part, bool):
            exprs.append(part)
    return combine(exprs) if exprs else not absorbing


def let(value: pl.Expr, body: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """`body(value)` with `value` computed once, however often `body` uses it.

    polars does not always share repeated sub-expressions, so an expensive value (a parsed IP, a
    numeric string) is wrapped in a one-element list and `body` runs on its element.
    """
    return pl.concat_list([value]).list.eval(body(pl.element())).list.first()


def parse_number(text: str) -> float | None:
    """The finite number `text` spells, or None when it is not fully a decimal number."""
    if not _NUMERIC.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def as_int64(number: float) -> int | None:
    """`number` as an Int64 when it is integral and in range (exact integer comparison)."""
    if number.is_integer() and _INT64_MIN <= number <= _INT64_MAX:
        return int(number)
    return None


def is_string(dtype: pl.DataType) -> bool:
    """True for text columns."""
    return isinstance(dtype, pl.String | pl.Categorical | pl.Enum)


def is_numeric(dtype: pl.DataType) -> bool:
    """True for integer and float columns."""
    return dtype.is_numeric()


def is_boolean(dtype: pl.DataType) -> bool:
    """True for boolean columns."""
    return isinstance(dtype, pl.Boolean)


def as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The canonical string form of a value (`200`, `2.5`, `true`)."""
    if isinstance(dtype, pl.String):
        return expr
    return expr.cast(pl.String(), strict=False)


def numeric_value(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """The value as Float64 (null when not numeric), or None when the type never is numeric."""
    if is_numeric(dtype):
        return expr.cast(pl.Float64())
    if is_string(dtype):
        text = as_text(expr, dtype)
        number = (
            pl.when(text.str.contains(NUMERIC_PATTERN))
            .then(text.cast(pl.Float64(), strict=False))
            .otherwise(None)
        )
        return number.replace([math.inf, -math.inf], None)
    return None


def numeric_equals(expr: pl.Expr, dtype: pl.DataType, number: float) -> pl.Expr | None:
    """`expr == number` for numeric values (exact for integer columns), else None."""
    if dtype.is_integer():
        exact = as_int64(number)
        return None if exact is None else expr == exact
    value = numeric_value(expr, dtype)
    return None if value is None else value == number
