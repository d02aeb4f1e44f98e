"""Value predicates: how one event value is tested against one query value (SPEC §2.6, §2.7).

A predicate takes a polars expression for a single value and the value's dtype, and returns a
boolean expression, or None when no value of that dtype can ever satisfy it (the caller then
skips the column). Nulls are handled by the caller (`fill_null(False)`).

- Equality (`Term`, `Phrase`): exact, case-sensitive, whole value; numeric query text also matches
  numbers and numeric strings numerically (`200` matches 200, 200.0, "200", "2e2"); `true`/`false`
  match booleans.
- Wildcards: anchored at both ends, `*` also matches newlines, on the value's string form.
- Comparisons and ranges: numeric when every bound is a number (numbers and numeric strings
  satisfy them, nothing else does), otherwise lexicographic on the string form; booleans never.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, assert_never

import polars as pl

from engine.query.ast import Comparison, Glob, Phrase, Range, Term, Value, Wildcard
from engine.query.values import (
    as_text,
    either,
    is_boolean,
    is_numeric,
    numeric_equals,
    numeric_value,
    parse_number,
)

ValuePredicate = Callable[[pl.Expr, pl.DataType], pl.Expr | None]


def equals(text: str) -> ValuePredicate:
    """Whole-value equality with the numeric and boolean typing rules."""
    number = parse_number(text)

    def test(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
        if is_boolean(dtype):
            if text == "true":
                return expr
            return ~expr if text == "false" else None
        tests: list[pl.Expr] = []
        if not is_numeric(dtype):
            tests.append(as_text(expr, dtype) == text)
        if number is not None:
            numeric = numeric_equals(expr, dtype, number)
            if numeric is not None:
                tests.append(numeric)
        return either(tests) if tests else None

    return test


def string_matcher(parts: tuple[str | Glob, ...]) -> Callable[[pl.Expr], pl.Expr]:
    """A whole-string wildcard test on a String expression (cheapest form for the shape)."""
    if len(parts) == 2 and parts[1] is Glob.STAR and isinstance(parts[0], str):
        prefix = parts[0]
        return lambda text: text.str.starts_with(prefix)
    if len(parts) == 2 and parts[0] is Glob.STAR and isinstance(parts[1], str):
        suffix = parts[1]
        return lambda text: text.str.ends_with(suffix)
    if len(parts) == 3 and parts[0] is Glob.STAR and parts[2] is Glob.STAR:
        middle = parts[1]
        if isinstance(middle, str):
            return lambda text: text.str.contains(middle, literal=True)
    if all(part is Glob.STAR for part in parts):
        return lambda text: text.is_not_null()
    pattern = "(?s)^" + "".join(_glob_regex(part) for part in parts) + "$"
    return lambda text: text.str.contains(pattern)


def is_pattern(value: Value) -> bool:
    """Whether `value` is a wildcard tested with a regular expression (not a prefix, suffix,
    inner text or match-all test: `string_matcher`)."""
    if not isinstance(value, Wildcard):
        return False
    parts = value.parts
    simple = (
        (len(parts) == 2 and isinstance(parts[0], str) != isinstance(parts[1], str))
        or (len(parts) == 3 and parts[0] is Glob.STAR and parts[2] is Glob.STAR)
        or all(part is Glob.STAR for part in parts)
    )
    return not simple or any(part is Glob.ONE for part in parts)


def _glob_regex(part: str | Glob) -> str:
    if part is Glob.STAR:
        return ".*"
    if part is Glob.ONE:
        return "."
    assert isinstance(part, str)
    return pl.escape_regex(part)


def wildcard(parts: tuple[str | Glob, ...]) -> ValuePredicate:
    """A whole-value wildcard on the value's string form."""
    matcher = string_matcher(parts)

    def test(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
        return matcher(as_text(expr, dtype))

    return test


def compare(op: str, bound: str, *, numeric_only: bool = False) -> ValuePredicate:
    """`value <op> bound`: numeric when `bound` is a number, else lexicographic."""
    if op.startswith(">"):
        return bounded((bound, op == ">="), None, numeric_only=numeric_only)
    return bounded(None, (bound, op == "<="), numeric_only=numeric_only)


def within(value: Range, *, numeric_only: bool = False) -> ValuePredicate:
    """`value` inside the range (open `*` bounds; `[* TO *]` = any non-boolean value, or any
    number with `numeric_only`)."""
    low = None if value.low is None else (value.low, value.include_low)
    high = None if value.high is None else (value.high, value.include_high)
    return bounded(low, high, numeric_only=numeric_only)


Limit = tuple[str, bool]  # bound text, inclusive
ClosedInterval = Literal["both", "left", "right", "none"]


def bounded(low: Limit | None, high: Limit | None, *, numeric_only: bool = False) -> ValuePredicate:
    """`low <(=) value <(=) high` with one typing decision for both bounds (SPEC §2.7).

    Numeric when every present bound is a number (then only numbers and numeric strings satisfy
    it), otherwise lexicographic on the string form; booleans never satisfy it. `numeric_only`
    (free-text tokens) allows only the numeric test: no bound at all means "is a number".
    """
    limits = [limit for limit in (low, high) if limit is not None]
    numbers = [parse_number(text) for text, _ in limits]
    numeric = all(number is not None for number in numbers)

    def test(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
        if is_boolean(dtype):
            return None
        if not limits and not numeric_only:
            return expr.is_not_null()
        if not limits:
            number = numeric_value(expr, dtype)
            return None if number is None else number.is_not_null()
        if numeric:
            subject = numeric_value(expr, dtype)
            if subject is None:
                return None
            return _between(subject, low, high, parse_number)
        if numeric_only:
            return None
        return _between(as_text(expr, dtype), low, high, str)

    return test


def _between(
    subject: pl.Expr,
    low: Limit | None,
    high: Limit | None,
    convert: Callable[[str], object],
) -> pl.Expr:
    """`subject` within the limits (each compared once: `is_between` for two bounds)."""
    if low is not None and high is not None:
        closed = _CLOSED[(low[1], high[1])]
        return subject.is_between(pl.lit(convert(low[0])), pl.lit(convert(high[0])), closed=closed)
    if low is not None:
        value = pl.lit(convert(low[0]))
        return subject >= value if low[1] else subject > value
    assert high is not None
    value = pl.lit(convert(high[0]))
    return subject <= value if high[1] else subject < value


_CLOSED: dict[tuple[bool, bool], ClosedInterval] = {
    (True, True): "both",
    (True, False): "left",
    (False, True): "right",
    (False, False): "none",
}


def for_value(value: Value, *, numeric_only: bool = False) -> ValuePredicate:
    """The predicate of any query value."""
    match value:
        case Term() | Phrase():
            return equals(value.text)
        case Wildcard():
            return wildcard(value.parts)
        case Comparison():
            return compare(value.op, value.bound, numeric_only=numeric_only)
        case Range():
            return within(value, numeric_only=numeric_only)
        case _:
            assert_never(value)


def lowered(value: Value) -> Value:
    """`value` with its text lower-cased (tags and `status` are stored lower-cased)."""
    match value:
        case Term():
            return Term(value.text.lower(), span=value.span)
        case Phrase():
            return Phrase(value.text.lower(), span=value.span)
        case Wildcard():
            parts = tuple(part.lower() if isinstance(part, str) else part for part in value.parts)
            return Wildcard(parts, span=value.span)
        case Comparison():
            return Comparison(value.op, value.bound.lower(), span=value.span)
        case Range():
            return Range(
                None if value.low is None else value.low.lower(),
                None if value.high is None else value.high.lower(),
                value.include_low,
                value.include_high,
                span=value.span,
            )
        case _:
            assert_never(value)
