"""Jobs of every detection method through the API: new_value, a correlation of stored results,
reference tables from the service's `tables` setting (a missing one is a 400)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import (
    HISTORICAL,
    LIBRARY_RULE_ID,
    R1,
    SIGNALS,
    Api,
    convert_body,
    definition,
    from_rule_body,
    run_body,
    serve,
)
from tests.detect.builders import query, rule

NEW_HOST = {
    **R1,
    "name": "new host",
    "queries": [{"query": "@evt.outcome:failure", "aggregation": "new_value", "metrics": ["host"]}],
    "cases": [{"status": "info", "name": "new host"}],
    "options": {
        "detectionMethod": "new_value",
        "keepAlive": 0,
        "maxSignalDuration": 86400,
        "newValueOptions": {"learningMethod": "threshold", "learningThreshold": 0},
    },
}


def test_a_new_value_job_finds_each_new_host(api: Api) -> None:
    job_id = api.run(run_body(definition(NEW_HOST)))
    assert api.finish(job_id)["attributes"]["jobStatus"] == "completed"
    found = api.results(job_id)
    inner = [item["attributes"]["attributes"] for item in found]
    assert sorted(value for item in inner for value in item["new_value"]["values"]) == [
        "web-0",
        "web-1",
    ]
    assert {item["workflow"]["rule"]["detectionMethod"] for item in inner} == {"new_value"}


def test_a_new_value_result_converts_to_a_signal(api: Api) -> None:
    job_id = api.run(run_body(definition(NEW_HOST)))
    api.finish(job_id)
    first = api.results(job_id)[0]
    response = api.client.post(
        f"{HISTORICAL}/jobs/signal_convert", json=convert_body([first["id"]]), headers=api.headers
    )
    assert response.status_code == 204, response.text
    (signal,) = api.client.get(SIGNALS, headers=api.headers).json()["data"]
    assert (
        signal["attributes"]["attributes"]["new_value"]
        == first["attributes"]["attributes"]["new_value"]
    )


def test_a_correlation_job_correlates_the_stored_results_of_other_jobs(api: Api) -> None:
    first = api.run(from_rule_body(LIBRARY_RULE_ID))
    api.finish(first)
    correlation = {
        "name": "correlated",
        "type": "signal_correlation",
        "queries": [{"ruleId": LIBRARY_RULE_ID, "correlatedByFields": ["@usr.id"]}],
        "cases": [{"status": "high", "condition": "a > 0"}],
        "options": {"evaluationWindow": 900, "keepAlive": 900, "maxSignalDuration": 3600},
        "message": "two failures on one host",
    }
    job_id = api.run(run_body(definition(correlation)))
    assert api.finish(job_id)["attributes"]["jobStatus"] == "completed"
    found = api.results(job_id)
    assert [item["attributes"]["attributes"]["group_by"] for item in found] == [
        {"@usr.id": "alice"}
    ]
    stored = {item["id"] for item in api.results(first)}
    for item in found:
        inner = item["attributes"]["attributes"]
        assert inner["workflow"]["rule"]["type"] == "Signal Correlation"
        assert set(inner["correlated_results"]) <= stored


@pytest.fixture
def tabled(tmp_path: Path, archive: Path) -> Iterator[Api]:
    """A server whose `tables` setting holds `watched.csv` (users u1 and u3)."""
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "watched.csv").write_text("user\nu1\nu3\n")
    with serve(tmp_path, archive, tables=tables) as server:
        yield server


def watched(table: str = "watched", column: str = "user") -> dict[str, Any]:
    reference = {
        "tableName": table,
        "columnName": column,
        "logFieldPath": "@usr.id",
        "checkPresence": True,
        "ruleQueryName": "a",
    }
    return rule(
        query("@evt.outcome:failure"),
        cases=[{"status": "low", "condition": "a > 0"}],
        window=0,
        keep_alive=0,
        max_duration=0,
        referenceTables=[reference],
    )


def test_a_job_joins_the_services_reference_tables(tabled: Api) -> None:
    job_id = tabled.run(run_body(definition(watched())))
    assert tabled.finish(job_id)["attributes"]["jobStatus"] == "completed"
    users = {
        item["attributes"]["attributes"]["group_by"]["@usr.id"] for item in tabled.results(job_id)
    }
    assert users == {"u1", "u3"}


@pytest.mark.parametrize(
    ("table", "column", "detail"),
    [
        ("absent", "user", "reference table 'absent' was not found"),
        ("watched", "name", "reference table 'watched' has no column 'name'"),
    ],
    ids=["missing_table", "missing_column"],
)
def test_a_missing_table_or_column_is_a_400(
    tabled: Api, table: str, column: str, detail: str
) -> None:
    response = tabled.client.post(
        f"{HISTORICAL}/jobs",
        json=run_body(definition(watched(table, column))),
        headers=tabled.headers,
    )
    assert response.status_code == 400
    assert detail in response.json()["errors"][0]["detail"]
    assert tabled.service.jobs.all() == []
