"""Dictionary-coded string predicates give, row for row, what direct evaluation gives."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.query import coding, compile_query
from engine.query.casing import DATADOG, SIGMA, Casing
from engine.scan.plan import ScanPlan

LETTERS = "aAbBéÉßİ1"
VALUE = st.one_of(st.none(), st.text(alphabet=LETTERS + " ", min_size=0, max_size=3))
WORD = st.text(alphabet=LETTERS, min_size=1, max_size=3)
PATTERN = st.text(alphabet=LETTERS + "*?", min_size=1, max_size=3).filter(lambda t: t != "*")
CLAUSE = st.one_of(
    WORD.map(lambda w: f"@a:{w}"),
    PATTERN.map(lambda w: f"@a:{w}"),
    st.lists(WORD, min_size=2, max_size=3).map(lambda ws: f"@a:({' OR '.join(ws)})"),
    WORD.map(lambda w: f'@a:"{w} {w}"'),
    WORD.map(lambda w: f"-@a:{w}"),
    WORD.map(lambda w: f"@a:>{w}"),
    WORD.map(lambda w: f"@b:{w}"),  # a list column: never coded
    WORD.map(lambda w: f"@a:{w} @c:{w}"),
)
SCHEMA = {"id": pl.String(), "timestamp": pl.Datetime("ms", "UTC")}
SCHEMA |= {"@a": pl.String(), "@b": pl.List(pl.String()), "@c": pl.String()}


def _frame(values: list[str | None], repeat: int) -> pl.DataFrame:
    rows = values * repeat
    return pl.DataFrame(
        {
            "id": [str(n) for n in range(len(rows))],
            "timestamp": [0] * len(rows),
            "@a": rows,
            "@b": [[v, "x"] if v is not None else None for v in rows],
            "@c": list(reversed(rows)),
        },
        schema=SCHEMA,
    )


def _flags(queries: list[str], casing: Casing, frame: pl.DataFrame, coded: bool) -> pl.DataFrame:
    plan = ScanPlan(SCHEMA)
    if coded:
        with coding.collecting(plan.leaves):
            flags = [plan.flag(compile_query(text, SCHEMA, casing)) for text in queries]
    else:
        flags = [plan.flag(compile_query(text, SCHEMA, casing)) for text in queries]
    return plan.apply(frame.lazy()).collect().select("id", *dict.fromkeys(flags))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(VALUE, min_size=1, max_size=8),
    st.lists(CLAUSE, min_size=1, max_size=6),
    st.sampled_from([DATADOG, SIGMA]),
)
def test_coded_predicates_equal_direct_evaluation(
    values: list[str | None], queries: list[str], casing: Casing
) -> None:
    frame = _frame(values, repeat=40)  # few distinct values against the rows: coded
    direct = _flags(queries, casing, frame, coded=False)
    coded = _flags(queries, casing, frame, coded=True)
    assert coded.equals(direct)


def test_a_column_tested_by_several_costly_predicates_with_few_values_is_coded() -> None:
    plan = ScanPlan(SCHEMA)
    with coding.collecting(plan.leaves):
        # regex wildcards are costly; an equality, a prefix and an inner text are not
        text = "@a:a?b OR @a:*B*x OR @c:x? OR @c:y OR @c:y* OR @c:*y*"
        plan.flag(compile_query(text, SCHEMA))
        plan.flag(compile_query("@c:Y", SCHEMA, SIGMA))  # case-insensitive: costly
    few = coding.worth_coding(plan.leaves.distinct(_frame(["ab", "B", None], 40).lazy()).collect())
    many = [f"v{n}" for n in range(200)]
    every = coding.worth_coding(plan.leaves.distinct(_frame(many, 1).lazy()).collect())
    # both have 2 costly predicates; they are coded only when their values are few
    assert plan.leaves.candidates() == ["@a", "@c"]
    assert sorted(few["@a"].to_list()) == ["B", "ab"] and every == {}


@pytest.mark.parametrize("query", ["@a:B", "@a:b*", "@a:(a OR B)"])
def test_a_case_insensitive_predicate_is_coded_too(query: str) -> None:
    frame = _frame(["ab", "AB", "b", "B", "é", "É", None], 40)
    for casing in (DATADOG, SIGMA):
        queries = [query, "@a:AB"]
        assert _flags(queries, casing, frame, True).equals(_flags(queries, casing, frame, False))
