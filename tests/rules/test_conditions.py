"""Case conditions (SPEC §3.4): grammar, precedence, THEN, errors with positions, evaluation."""

from __future__ import annotations

import polars as pl
import pytest

from engine.core.errors import ConditionError
from engine.rules.conditions import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Then,
    contains_then,
    evaluate,
    identifiers,
    parse_condition,
    to_polars,
)

KNOWN = ["a", "b", "c", "failed", "ok", "step_b"]


def cmp(name: str, op: str, value: float) -> Comparison:
    return Comparison(name, op, value)


PARSES: list[tuple[str, str, Condition]] = [
    ("single", "a > 3", cmp("a", ">", 3)),
    ("no-spaces", "a>0", cmp("a", ">", 0)),
    ("no-spaces-and", "a>0&&b>=1", AllOf((cmp("a", ">", 0), cmp("b", ">=", 1)))),
    ("decimal", "a > 0.995", cmp("a", ">", 0.995)),
    ("leading-dot-decimal", "a > .5", cmp("a", ">", 0.5)),
    ("negative", "a >= -1", cmp("a", ">=", -1)),
    ("op-gt", "a > 1", cmp("a", ">", 1)),
    ("op-ge", "a >= 1", cmp("a", ">=", 1)),
    ("op-lt", "a < 1", cmp("a", "<", 1)),
    ("op-le", "a <= 1", cmp("a", "<=", 1)),
    ("op-eq", "a == 1", cmp("a", "==", 1)),
    ("op-ne", "a != 1", cmp("a", "!=", 1)),
    ("named", "failed > 5 && ok > 0", AllOf((cmp("failed", ">", 5), cmp("ok", ">", 0)))),
    (
        "and-chain-flat",
        "a>0 && b>0 && c>0",
        AllOf((cmp("a", ">", 0), cmp("b", ">", 0), cmp("c", ">", 0))),
    ),
    (
        "and-binds-tighter-than-or",
        "a > 1 || b > 2 && c > 3",
        AnyOf((cmp("a", ">", 1), AllOf((cmp("b", ">", 2), cmp("c", ">", 3))))),
    ),
    (
        "and-before-or",
        "a > 1 && b > 2 || c > 3",
        AnyOf((AllOf((cmp("a", ">", 1), cmp("b", ">", 2))), cmp("c", ">", 3))),
    ),
    (
        "parentheses-override",
        "(a > 1 || b > 2) && c > 3",
        AllOf((AnyOf((cmp("a", ">", 1), cmp("b", ">", 2))), cmp("c", ">", 3))),
    ),
    ("redundant-parentheses", "((a > 1))", cmp("a", ">", 1)),
    ("then", "a > 0 THEN b > 0", Then(cmp("a", ">", 0), cmp("b", ">", 0))),
    ("then-lowercase", "a > 0 then b > 0", Then(cmp("a", ">", 0), cmp("b", ">", 0))),
    ("then-mixed-case", "a > 0 Then b > 0", Then(cmp("a", ">", 0), cmp("b", ">", 0))),
    (
        "then-looser-than-or",
        "a > 0 || b > 0 THEN c > 0",
        Then(AnyOf((cmp("a", ">", 0), cmp("b", ">", 0))), cmp("c", ">", 0)),
    ),
    (
        "then-looser-than-and",
        "a > 0 THEN b > 0 && c > 0",
        Then(cmp("a", ">", 0), AllOf((cmp("b", ">", 0), cmp("c", ">", 0)))),
    ),
    (
        "then-left-associative",
        "a > 0 THEN b > 0 THEN c > 0",
        Then(Then(cmp("a", ">", 0), cmp("b", ">", 0)), cmp("c", ">", 0)),
    ),
    (
        "then-in-parentheses",
        "a > 0 THEN (b > 0 THEN c > 0)",
        Then(cmp("a", ">", 0), Then(cmp("b", ">", 0), cmp("c", ">", 0))),
    ),
    ("newlines-and-tabs", "a > 0\n\t&& b > 0 ", AllOf((cmp("a", ">", 0), cmp("b", ">", 0)))),
]


@pytest.mark.parametrize(("text", "expected"), [p[1:] for p in PARSES], ids=[p[0] for p in PARSES])
def test_parse(text: str, expected: Condition) -> None:
    assert parse_condition(text, KNOWN) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n"], ids=["empty", "blank", "newline"])
def test_empty_condition_is_none(text: str) -> None:
    assert parse_condition(text, KNOWN) is None


ERRORS = [
    ("literal-on-left", "3 < a", 1, 1, "query name must be on the left"),
    ("literal-on-left-later", "a > 0 && 3 < b", 1, 10, "query name must be on the left"),
    ("unknown-identifier", "c > 0", 1, 1, "unknown query name 'c' (known: a, b)"),
    ("unknown-identifier-second", "a > 0 && zz > 1", 1, 10, "unknown query name 'zz'"),
    ("dangling-and", "a > 0 &&", 1, 9, "unexpected end of condition"),
    ("dangling-or", "a > 0 ||", 1, 9, "unexpected end of condition"),
    ("dangling-then", "a > 0 THEN", 1, 11, "unexpected end of condition"),
    ("missing-operator", "a 1", 1, 3, "expected a comparison operator"),
    ("missing-number", "a >", 1, 4, "unexpected end of condition, expected a number"),
    ("identifier-on-right", "a > b", 1, 5, "unexpected 'b', expected a number"),
    ("unbalanced-open", "(a > 0", 1, 7, "unexpected end of condition"),
    ("unbalanced-close", "a > 0)", 1, 6, "unexpected ')'"),
    ("single-ampersand", "a > 0 & b > 0", 1, 7, "unexpected character '&'"),
    ("bad-character", "a > 0 && $b > 0", 1, 10, "unexpected character '$'"),
    ("second-line", "a > 0\n&& b >", 2, 7, "expected a number"),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_have_positions(text: str, line: int, column: int, reason: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(text, ["a", "b"])
    err = caught.value
    assert (err.line, err.column) == (line, column)
    assert reason in err.reason
    assert err.known == ("a", "b")
    assert repr(text) in str(err)


def test_error_message_names_the_column() -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition("a > 0 && c > 1", ["a", "b"])
    assert caught.value.message == (
        "invalid condition 'a > 0 && c > 1' at column 10: unknown query name 'c' (known: a, b)"
    )


def test_unknown_identifier_noun_for_step_names() -> None:
    with pytest.raises(ConditionError, match="unknown step name 'a' \\(known: step_b\\)"):
        parse_condition("a > 0", ["step_b"], noun="step name")


def test_identifier_named_like_then_prefix() -> None:
    assert parse_condition("thenx > 1", ["thenx"]) == cmp("thenx", ">", 1)


def test_positions_do_not_affect_equality() -> None:
    assert parse_condition("  a>1", KNOWN) == parse_condition("a > 1", KNOWN)


def test_identifiers_in_order_of_appearance() -> None:
    cond = parse_condition("b > 0 && (a > 1 || b > 2) THEN c > 0", KNOWN)
    assert identifiers(cond) == ("b", "a", "c")
    assert identifiers(None) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a > 0", False), ("a > 0 && b > 0", False), ("(a > 0 THEN b > 0) || c > 0", True)],
    ids=["comparison", "all-of", "nested-then"],
)
def test_contains_then(text: str, expected: bool) -> None:
    assert contains_then(parse_condition(text, KNOWN)) is expected


def test_str_round_trips() -> None:
    text = "(a > 1 || b > 2) && c >= 0.5 THEN a != 3"
    cond = parse_condition(text, KNOWN)
    assert cond is not None
    assert str(cond) == "(a > 1 || b > 2) && c >= 0.5 THEN a != 3"
    assert parse_condition(str(cond), KNOWN) == cond


FRAME = pl.DataFrame(
    {
        "a": [4.0, 4.0, None, 0.0, 11.0],
        "b": [2.0, 1.0, None, 0.0, None],
        "c": [None, 5.0, None, 2.0, 0.0],
    },
    schema={"a": pl.Float64, "b": pl.Float64, "c": pl.Float64},
)
POLARS = [
    ("gt", "a > 3", [True, True, False, False, True]),
    ("null-is-zero", "b == 0", [False, False, True, True, True]),
    ("ne", "c != 0", [False, True, False, True, False]),
    ("le", "a <= 4", [True, True, True, True, False]),
    ("and-or", "a > 3 && b >= 2 || c < 1", [True, False, True, False, True]),
    ("parens", "a > 3 && (b >= 2 || c < 1)", [True, False, False, False, True]),
]


@pytest.mark.parametrize(("text", "expected"), [p[1:] for p in POLARS], ids=[p[0] for p in POLARS])
def test_to_polars(text: str, expected: list[bool]) -> None:
    cond = parse_condition(text, KNOWN)
    assert cond is not None
    assert FRAME.select(to_polars(cond)).to_series().to_list() == expected
    rows = [{k: v for k, v in row.items() if v is not None} for row in FRAME.to_dicts()]
    assert [evaluate(cond, row) for row in rows] == expected


def test_to_polars_refuses_then() -> None:
    cond = parse_condition("a > 0 THEN b > 0", KNOWN)
    assert cond is not None
    with pytest.raises(ValueError, match="THEN"):
        to_polars(cond)
    with pytest.raises(ValueError, match="THEN"):
        evaluate(cond, {"a": 1, "b": 1})
