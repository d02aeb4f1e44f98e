"""Case conditions (SPEC §3.4): parse the text of a rule case into an AST, evaluate it.

A condition compares query aggregates with numbers and combines the comparisons::

    failed_login > 5 && successful_login > 0
    a > 10 || (b >= 3 && c != 0)
    create_iam_user > 0 THEN administratoraccess_policy_attached > 0

Identifiers are the query names of the rule (the positional letter `a`, `b`, ... of an unnamed
query), or the step names in the cases of a sequence rule. `THEN` binds looser than `||`, is
left-associative and case-insensitive; its temporal meaning belongs to the detection engine, so
`to_polars` and `evaluate` only accept conditions without it (see `contains_then`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, assert_never

import polars as pl
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from engine.core.errors import ConditionError

__all__ = [
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "Comparison",
    "Condition",
    "ConditionError",
    "Then",
    "condition_expr",
    "contains_then",
    "evaluate",
    "identifiers",
    "parse_condition",
    "to_polars",
]

#: The comparison operators a condition accepts (`>` and `>=` are the documented ones).
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Comparison:
    """`name op value`: the aggregate of query (or step) `name` compared with a number."""

    name: str
    op: str
    value: float
    line: int = field(default=1, compare=False, repr=False)
    column: int = field(default=1, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value:g}"


@dataclass(frozen=True)
class AllOf:
    """`x && y && ...`: every item holds."""

    items: tuple[Condition, ...]

    def __str__(self) -> str:
        return " && ".join(_wrap(item, (Comparison, AllOf)) for item in self.items)


@dataclass(frozen=True)
class AnyOf:
    """`x || y || ...`: at least one item holds."""

    items: tuple[Condition, ...]

    def __str__(self) -> str:
        return " || ".join(_wrap(item, (Comparison, AllOf, AnyOf)) for item in self.items)


@dataclass(frozen=True)
class Then:
    """`first THEN second`: `second` holds after `first` held (same group, same window)."""

    first: Condition
    second: Condition

    def __str__(self) -> str:
        return f"{self.first} THEN {_wrap(self.second, (Comparison, AllOf, AnyOf))}"


Condition = Comparison | AllOf | AnyOf | Then


def _wrap(item: Condition, bare: tuple[type, ...]) -> str:
    return str(item) if isinstance(item, bare) else f"({item})"


_TERMINALS = {
    "IDENT": "a query name",
    "OP": "a comparison operator (> >= < <= == !=)",
    "NUMBER": "a number",
    "_AND": "'&&'",
    "_OR": "'||'",
    "_THEN": "THEN",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "$END": "the end of the condition",
}


@cache
def _parser() -> Lark:
    grammar = Path(__file__).with_name("conditions.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


class _ToAst(Transformer[Token, Condition]):
    def start(self, items: list[Condition]) -> Condition:
        return items[0]

    def comparison(self, items: list[Token]) -> Comparison:
        name, op, number = items
        return Comparison(
            str(name), str(op), float(number), line=name.line or 1, column=name.column or 1
        )

    def all_of(self, items: list[Condition]) -> AllOf:
        return AllOf(tuple(_flatten(items, AllOf)))

    def any_of(self, items: list[Condition]) -> AnyOf:
        return AnyOf(tuple(_flatten(items, AnyOf)))

    def then(self, items: list[Condition]) -> Then:
        return Then(items[0], items[1])


def _flatten(items: list[Condition], kind: type[AllOf] | type[AnyOf]) -> Iterator[Condition]:
    for item in items:
        if isinstance(item, kind):
            yield from item.items
        else:
            yield item


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of condition"
    return f"{token.value!r}"


def _syntax_error(text: str, err: UnexpectedInput, known: Sequence[str]) -> ConditionError:
    line, column = max(err.line, 1), max(err.column, 1)
    if isinstance(err, UnexpectedCharacters):
        reason = f"unexpected character {err.char!r}"
    elif isinstance(err, UnexpectedToken):
        expected = sorted(err.expected)
        if err.token.type == "$END":
            line, column = _end_position(text)
        if err.token.type == "NUMBER" and "IDENT" in expected:
            reason = (
                f"the query name must be on the left of the comparison "
                f"(write 'a > 3', not '3 < a'; got {err.token.value!r})"
            )
        else:
            wanted = " or ".join(_TERMINALS.get(name, name) for name in expected)
            reason = f"unexpected {_describe(err.token)}, expected {wanted}"
    else:  # pragma: no cover - LALR raises the two kinds above
        reason = str(err)
    return ConditionError(text, reason, line=line, column=column, known=known)


def _end_position(text: str) -> tuple[int, int]:
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    return line, len(stripped) - (stripped.rfind("\n") + 1) + 1


def parse_condition(
    text: str, known: Sequence[str], *, noun: str = "query name"
) -> Condition | None:
    """Parse a case condition; every identifier must be one of `known`.

    An empty (or blank) condition returns None: the case matches whenever the detection method
    produces a detection. Raises `ConditionError` with the position and the known identifiers
    (called `noun`s in the message: query names, or step names in a sequence rule's cases).
    """
    if not text.strip():
        return None
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(text, err, known) from None
    condition = _ToAst().transform(tree)
    allowed = set(known)
    for comparison in _comparisons(condition):
        if comparison.name not in allowed:
            listing = ", ".join(known) if known else "none"
            reason = f"unknown {noun} {comparison.name!r} (known: {listing})"
            raise ConditionError(
                text, reason, line=comparison.line, column=comparison.column, known=known
            )
    return condition


def _comparisons(condition: Condition) -> Iterator[Comparison]:
    match condition:
        case Comparison():
            yield condition
        case Then():
            yield from _comparisons(condition.first)
            yield from _comparisons(condition.second)
        case AllOf() | AnyOf():
            for item in condition.items:
                yield from _comparisons(item)
        case _:
            assert_never(condition)


def identifiers(condition: Condition | None) -> tuple[str, ...]:
    """The identifiers a condition reads, in order of first appearance."""
    if condition is None:
        return ()
    return tuple(dict.fromkeys(c.name for c in _comparisons(condition)))


def contains_then(condition: Condition | None) -> bool:
    """Whether the condition uses `THEN` (and so needs temporal evaluation)."""
    match condition:
        case None | Comparison():
            return False
        case Then():
            return True
        case AllOf() | AnyOf():
            return any(contains_then(item) for item in condition.items)
        case _:
            assert_never(condition)


def condition_expr(
    condition: Condition,
    value: Callable[[str], pl.Expr],
    recent: Callable[[pl.Expr], pl.Expr] | None = None,
) -> pl.Expr:
    """A condition as one boolean polars expression (the one translation of conditions).

    `value(name)` is the expression of an identifier's aggregate; a comparison with a null value
    is false. `recent(flag)` says whether `flag` held at some instant of the same group inside the
    evaluation window: `X THEN Y` is `Y and recent(X)`. Without it, `THEN` is refused
    (`ValueError`): only the detection engine knows instants and windows.
    """
    match condition:
        case Comparison():
            compared = OPERATORS[condition.op](value(condition.name), condition.value)
            return compared.fill_null(False)  # type: ignore[no-any-return]
        case AllOf():
            return pl.all_horizontal([condition_expr(i, value, recent) for i in condition.items])
        case AnyOf():
            return pl.any_horizontal([condition_expr(i, value, recent) for i in condition.items])
        case Then():
            if recent is None:
                raise ValueError(f"a THEN condition has no single-instant expression: {condition}")
            first = condition_expr(condition.first, value, recent)
            return condition_expr(condition.second, value, recent) & recent(first)
        case _:
            assert_never(condition)


def to_polars(condition: Condition) -> pl.Expr:
    """A boolean expression over a frame with one Float64 column per identifier.

    Columns are named exactly as the identifiers; a null (no event in the window) counts as 0.
    Conditions with `THEN` are refused (`ValueError`): the detection engine handles them.
    """
    return condition_expr(condition, lambda name: pl.col(name).fill_null(0))


def evaluate(condition: Condition, values: Mapping[str, float]) -> bool:
    """Evaluate a condition without `THEN` on one set of aggregates (a missing name is 0)."""
    match condition:
        case Comparison():
            return bool(OPERATORS[condition.op](values.get(condition.name, 0), condition.value))
        case AllOf():
            return all(evaluate(item, values) for item in condition.items)
        case AnyOf():
            return any(evaluate(item, values) for item in condition.items)
        case Then():
            raise ValueError(f"a THEN condition has no single-instant value: {condition}")
        case _:
            assert_never(condition)
