"""Reference tables, calculated fields and legacy filters (SPEC §3.16, §3.17), through `run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.core.errors import FormulaError, ReferenceTableError, UnsupportedRuleError
from engine.query.formula import compile_formula
from engine.run import run
from tests.detect.builders import T, event, query, rule

ONE = [{"status": "high", "condition": "a > 0"}]
LOGS = [
    event(0, "alice", network={"client": {"ip": "10.0.0.1"}}, bytes=100, parts=4),
    event(10, "bob", network={"client": {"ip": "10.0.0.2"}}, bytes=9000, parts=3),
    event(20, "carol", bytes=50, parts=0),
]


def users(rule_json: dict[str, Any], **job: Any) -> list[str]:
    return sorted(r.group_by["@usr.id"] for r in run(rule_json, LOGS, start=T, **job).results)


def table_rule(presence: bool, table: str = "blocked", column: str = "ip") -> dict[str, Any]:
    reference = {
        "tableName": table,
        "columnName": column,
        "logFieldPath": "@network.client.ip",
        "checkPresence": presence,
        "ruleQueryName": "a",
    }
    return rule(query(), cases=ONE, referenceTables=[reference])


BLOCKED = {"blocked": pl.DataFrame({"ip": ["10.0.0.1", "192.0.2.9"]})}


@pytest.mark.parametrize(
    ("presence", "expected"),
    [(True, ["alice"]), (False, ["bob", "carol"])],
    ids=["check_presence_in", "check_presence_not_in"],
)
def test_reference_table_check_presence(presence: bool, expected: list[str]) -> None:
    assert users(table_rule(presence), tables=BLOCKED) == expected


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_reference_tables_are_read_from_a_folder(tmp_path: Path, suffix: str) -> None:
    frame = BLOCKED["blocked"]
    path = tmp_path / f"blocked.{suffix}"
    frame.write_csv(path) if suffix == "csv" else frame.write_parquet(path)
    assert users(table_rule(True), tables=tmp_path) == ["alice"]


@pytest.mark.parametrize(
    ("table", "column", "message"),
    [
        ("absent", "ip", "reference table 'absent' was not found (tables: blocked)"),
        ("blocked", "address", "reference table 'blocked' has no column 'address' (columns: ip)"),
    ],
    ids=["missing_table", "missing_column"],
)
def test_a_missing_table_or_column_is_an_error_before_the_scan(
    table: str, column: str, message: str
) -> None:
    with pytest.raises(UnsupportedRuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(table_rule(True, table, column), LOGS, tables=BLOCKED, strict=True)


def test_a_missing_tables_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ReferenceTableError, match="does not exist"):
        run(table_rule(True), LOGS, tables=tmp_path / "none")


def calculated_rule(text: str, expression: str) -> dict[str, Any]:
    return rule(
        query(text), cases=ONE, calculatedFields=[{"name": "ratio", "expression": expression}]
    )


@pytest.mark.parametrize(
    ("text", "expression", "expected"),
    [
        ("#ratio:>1000", "@bytes / @parts", ["bob"]),
        ("#ratio:>=25", "@bytes / @parts", ["alice", "bob"]),
        ("#ratio:true", "is_null(@bytes / @parts)", ["carol"]),
        ("#ratio:big", 'if(@bytes > 1000, "big", "small")', ["bob"]),
        ("#ratio:alice-100", 'concat(@usr.id, "-", @bytes)', ["alice"]),
        ("#ratio:BOB", "upper(@usr.id)", ["bob"]),
        ("#ratio:true", "@bytes * 2 == 200 || @parts == 3", ["alice", "bob"]),
    ],
    ids=["division", "ge", "division_by_zero_null", "if", "concat", "upper", "logic"],
)
def test_calculated_fields_compute_per_event(
    text: str, expression: str, expected: list[str]
) -> None:
    assert users(calculated_rule(f"source:auth {text}", expression)) == expected


def test_a_calculated_field_groups_like_any_attribute() -> None:
    grouped = rule(
        query("source:auth", group_by=["#bucket"]),
        cases=ONE,
        calculatedFields=[{"name": "bucket", "expression": 'if(@bytes > 75, "big", "small")'}],
    )
    found = run(grouped, LOGS, start=T).results
    assert sorted(r.group_by["#bucket"] for r in found) == ["big", "small"]


@pytest.mark.parametrize(
    ("expression", "column", "reason"),
    [
        ("sqrt(@bytes)", 1, "unknown function 'sqrt'"),
        ("@bytes +", 8, ""),
        ("#other * 2", 1, "unknown calculated field #other"),
        ("upper(@a, @b)", 1, "upper() takes 1 argument(s) (got 2)"),
    ],
    ids=["unknown_function", "syntax", "unknown_field", "arity"],
)
def test_a_bad_formula_is_an_error_with_its_position(
    expression: str, column: int, reason: str
) -> None:
    with pytest.raises(FormulaError) as caught:
        compile_formula(expression, {"@bytes": pl.Int64})
    assert (caught.value.line, caught.value.column) == (1, column)
    assert reason in str(caught.value)
    assert "^" in str(caught.value)


def test_a_rule_with_a_bad_formula_is_reported_and_the_others_run() -> None:
    bad = calculated_rule("#ratio:>1", "sqrt(@bytes)") | {"name": "bad"}
    outcome = run([bad, rule(query(), cases=ONE, name="good")], LOGS, start=T)
    errors = {stat.rule: stat.error for stat in outcome.stats}
    assert "unknown function 'sqrt'" in (errors["bad"] or "")
    assert errors["good"] is None and len(outcome.results) == 3


@pytest.mark.parametrize(
    ("action", "expected"),
    [("require", ["bob"]), ("suppress", ["alice", "carol"])],
)
def test_legacy_filters_apply_to_every_method(action: str, expected: list[str]) -> None:
    learning = rule(
        query(aggregation="new_value", metrics=["@usr.id"], group_by=[]),
        cases=[{"status": "info"}],
        window=0,
        keep_alive=0,
        filters=[{"action": action, "query": "@bytes:>1000"}],
    )
    learning["options"].update(
        detectionMethod="new_value",
        newValueOptions={"learningMethod": "threshold", "learningThreshold": 0},
    )
    found = run(learning, LOGS, start=T).results
    assert sorted(value for r in found for value in r.extra["new_value"]["values"]) == expected
