"""Rule and job-definition models: defaults, wire names, normalised echo, conversions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.core.errors import RuleValidationError
from engine.rules import (
    AllOf,
    Comparison,
    FromRule,
    JobDefinition,
    JobOptions,
    Rule,
    RuleOptions,
    validate_from_rule,
    validate_job_definition,
    validate_rule,
)

T = 1_704_067_200_000  # 2024-01-01T00:00:00Z in ms


def r1_job(**changes: Any) -> dict[str, Any]:
    """SPEC §8 base rule R1 as a job definition, in the shape the cassettes send."""
    job: dict[str, Any] = {
        "from": T,
        "to": T + 3_600_000,
        "index": "main",
        "name": "R1 brute force",
        "message": "Brute force on {{@usr.id}}",
        "queries": [
            {
                "query": "source:auth @evt.outcome:failure",
                "aggregation": "count",
                "groupByFields": ["@usr.id"],
                "distinctFields": [],
            }
        ],
        "cases": [{"name": "", "status": "high", "condition": "a > 3"}],
        "options": {"evaluationWindow": 300, "keepAlive": 600, "maxSignalDuration": 3600},
    }
    job.update(changes)
    return job


def two_case_rule() -> dict[str, Any]:
    """TC-16's stored rule: cases [{a>10, critical}, {a>3, medium}]."""
    return {
        "id": "abc-def-ghi",
        "name": "Escalating brute force",
        "type": "log_detection",
        "isEnabled": True,
        "message": "msg",
        "tags": ["source:auth"],
        "queries": [{"query": "source:auth", "groupByFields": ["@usr.id"]}],
        "cases": [
            {"name": "many", "status": "critical", "condition": "a>10"},
            {"name": "some", "status": "medium", "condition": "a>3"},
        ],
        "options": {
            "detectionMethod": "threshold",
            "evaluationWindow": 300,
            "keepAlive": 600,
            "maxSignalDuration": 3600,
            "decreaseCriticalityBasedOnEnv": True,
        },
        "filters": [],
        "createdAt": 1,
        "version": 3,
    }


# Request and echoed `jobDefinition` of the recorded `test_get_a_jobs_details_returns_ok_response`
# cassette (datadog-api-client-python), verbatim.
CASSETTE_REQUEST: dict[str, Any] = {
    "cases": [{"condition": "a > 1", "name": "Condition 1", "notifications": [], "status": "info"}],
    "from": 1730387522611,
    "index": "main",
    "message": "A large number of failed login attempts.",
    "name": "Excessive number of failed attempts.",
    "options": {"evaluationWindow": 900, "keepAlive": 3600, "maxSignalDuration": 86400},
    "queries": [
        {
            "aggregation": "count",
            "distinctFields": [],
            "groupByFields": [],
            "query": "source:non_existing_src_weekend",
        }
    ],
    "tags": [],
    "to": 1730387532611,
    "type": "log_detection",
}
CASSETTE_ECHO: dict[str, Any] = {
    "from": 1730387522611,
    "to": 1730387532611,
    "index": "main",
    "name": "Excessive number of failed attempts.",
    "cases": [{"name": "Condition 1", "status": "info", "notifications": [], "condition": "a > 1"}],
    "queries": [
        {
            "query": "source:non_existing_src_weekend",
            "groupByFields": [],
            "hasOptionalGroupByFields": False,
            "distinctFields": [],
            "aggregation": "count",
            "name": "",
            "dataSource": "logs",
        }
    ],
    "options": {
        "evaluationWindow": 900,
        "detectionMethod": "threshold",
        "maxSignalDuration": 86400,
        "keepAlive": 3600,
    },
    "message": "A large number of failed login attempts.",
    "tags": [],
    "type": "log_detection",
}


def test_tc30_step2_job_definition_echo_normalised() -> None:
    assert validate_job_definition(CASSETTE_REQUEST).normalized_json() == CASSETTE_ECHO


def test_echo_of_r1_adds_only_defaults() -> None:
    echoed = validate_job_definition(r1_job()).normalized_json()
    query = echoed["queries"][0]
    assert (query["name"], query["dataSource"], query["hasOptionalGroupByFields"]) == (
        "",
        "logs",
        False,
    )
    assert echoed["options"]["detectionMethod"] == "threshold"
    assert echoed["from"] == T and "from_" not in echoed
    # Optional fields never sent stay absent.
    assert "tags" not in echoed and "groupSignalsBy" not in echoed
    assert "newValueOptions" not in echoed["options"]


def test_options_default_when_omitted() -> None:
    data = r1_job()
    del data["options"]
    job = validate_job_definition(data)
    assert job.options == JobOptions()
    assert job.normalized_json()["options"] == {
        "detectionMethod": "threshold",
        "evaluationWindow": 0,
        "keepAlive": 0,
        "maxSignalDuration": 0,
    }


def test_python_names_and_wire_names() -> None:
    job = validate_job_definition(r1_job())
    assert job.from_ == T and job.to == T + 3_600_000
    built = JobDefinition.model_validate(job.normalized_json())
    assert built == job
    request = FromRule.model_validate({"id": "x", "from": 1, "to": 2, "index": "main"})
    assert request.from_ == 1 and request.to_json()["from"] == 1


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["", ""], ["a", "b"]),
        (["failed", "ok"], ["failed", "ok"]),
        (["", "ok", ""], ["a", "ok", "c"]),
    ],
    ids=["unnamed", "named", "mixed"],
)
def test_query_names(names: list[str], expected: list[str]) -> None:
    queries = [{"query": "*", "name": name} for name in names]
    cases = [{"status": "info", "condition": f"{expected[0]} > 0"}]
    job = validate_job_definition(r1_job(queries=queries, cases=cases))
    assert job.query_names() == expected
    assert job.to_rule().query_names() == expected


def test_engine_helpers() -> None:
    job = validate_job_definition(
        r1_job(
            queries=[
                {"query": "a", "name": "failed", "groupByFields": ["@usr.name"]},
                {"query": "b", "name": "ok", "groupByFields": ["@usr.name"]},
            ],
            cases=[{"status": "high", "condition": "failed > 5 && ok > 0"}, {"status": "low"}],
        )
    )
    assert job.detection_method == "threshold"
    assert job.group_by_fields() == [["@usr.name"], ["@usr.name"]]
    assert job.case_conditions() == [
        AllOf((Comparison("failed", ">", 5), Comparison("ok", ">", 0))),
        None,
    ]
    assert job.step_conditions() == []


def test_sequence_helpers() -> None:
    options = {
        "detectionMethod": "sequence_detection",
        "evaluationWindow": 0,
        "keepAlive": 300,
        "maxSignalDuration": 600,
        "sequenceDetectionOptions": {
            "steps": [
                {"name": "step_a", "condition": "a > 0", "evaluationWindow": 60},
                {"name": "step_b", "condition": "b > 0", "evaluationWindow": 60},
            ],
            "stepTransitions": [{"parent": "step_a", "child": "step_b", "evaluationWindow": 900}],
        },
    }
    job = validate_job_definition(
        r1_job(
            queries=[{"query": "x"}, {"query": "y"}],
            cases=[{"status": "info", "condition": "step_b > 0"}],
            options=options,
        )
    )
    assert job.case_identifiers() == ["step_a", "step_b"]
    assert job.case_conditions() == [Comparison("step_b", ">", 0)]
    assert job.step_conditions() == [Comparison("a", ">", 0), Comparison("b", ">", 0)]


def test_metric_fields_accepts_deprecated_metric() -> None:
    rule = validate_rule(
        {
            "name": "nv",
            "queries": [{"query": "*", "aggregation": "new_value", "metric": "@geo.country"}],
            "cases": [{"status": "info"}],
            "options": {"detectionMethod": "new_value"},
        }
    )
    assert rule.queries[0].metric_fields() == ["@geo.country"]


def test_rule_defaults() -> None:
    rule = validate_rule({"name": "r", "queries": [{"query": "*"}], "cases": [{"status": "low"}]})
    assert rule.type == "log_detection"
    assert rule.options == RuleOptions()
    assert rule.cases[0].condition == "" and rule.case_conditions() == [None]


def test_tc16_from_rule_case_index_keeps_only_that_case() -> None:
    rule = validate_rule(two_case_rule())
    request = validate_from_rule(
        {"id": rule.id, "from": T, "to": T + 60_000, "index": "main", "caseIndex": 1}
    )
    job = request.to_job_definition(rule)
    assert [(c.status, c.condition) for c in job.cases] == [("medium", "a>3")]
    assert (job.from_, job.to, job.index) == (T, T + 60_000, "main")
    assert job.name == rule.name and job.message == rule.message and job.tags == rule.tags
    assert job.queries == rule.queries
    assert job.type == "log_detection"


def test_from_rule_without_case_index_keeps_all_cases() -> None:
    rule = validate_rule(two_case_rule())
    job = rule.to_job_definition(T, T + 1, "main")
    assert [c.status for c in job.cases] == ["critical", "medium"]


def test_from_rule_drops_rule_only_options() -> None:
    rule = validate_rule(two_case_rule())
    job = rule.to_job_definition(T, T + 1, "main")
    options = job.normalized_json()["options"]
    assert "decreaseCriticalityBasedOnEnv" not in options
    assert type(job.options) is JobOptions
    assert options == {
        "detectionMethod": "threshold",
        "evaluationWindow": 300,
        "keepAlive": 600,
        "maxSignalDuration": 3600,
    }


@pytest.mark.parametrize("case_index", [2, 9], ids=["just-past-end", "max-allowed"])
def test_from_rule_case_index_out_of_range(case_index: int) -> None:
    rule = validate_rule(two_case_rule())
    with pytest.raises(RuleValidationError) as caught:
        rule.to_job_definition(T, T + 1, "main", case_index)
    assert caught.value.problems == [
        (
            "caseIndex",
            f"must be between 0 and 1 (rule 'Escalating brute force' has 2 cases) "
            f"(got {case_index})",
        )
    ]


def test_from_rule_of_invalid_range_is_refused() -> None:
    rule = validate_rule(two_case_rule())
    with pytest.raises(RuleValidationError) as caught:
        rule.to_job_definition(T + 1, T, "main")
    assert caught.value.problems == [("to", f"must be greater than from ({T + 1}) (got {T})")]


def test_from_rule_folds_legacy_filters_into_additional_filters() -> None:
    data = two_case_rule()
    data["filters"] = [
        {"action": "require", "query": "env:prod"},
        {"action": "suppress", "query": "@usr.id:svc-*"},
    ]
    data["queries"] = [
        {"query": "source:auth", "additionalFilters": "@evt.outcome:failure"},
        {"query": "source:web"},
    ]
    data["cases"] = [{"status": "low", "condition": "a > 0"}]
    job = validate_rule(data).to_job_definition(T, T + 1, "main")
    assert [q.additionalFilters for q in job.queries] == [
        "(@evt.outcome:failure) (env:prod) -(@usr.id:svc-*)",
        "(env:prod) -(@usr.id:svc-*)",
    ]


def test_to_rule_copies_definition() -> None:
    job = validate_job_definition(r1_job(tags=["team:sec"], groupSignalsBy=["@usr.id"]))
    rule = job.to_rule()
    assert isinstance(rule, Rule)
    assert (rule.name, rule.type, rule.message) == (job.name, "log_detection", job.message)
    assert rule.queries == job.queries and rule.cases == job.cases
    assert rule.options.to_job_options() == job.options
    assert rule.tags == ["team:sec"] and rule.groupSignalsBy == ["@usr.id"]


def test_round_trip_rule_to_job_to_rule() -> None:
    rule = validate_rule(two_case_rule())
    again = rule.to_job_definition(T, T + 1, "main").to_rule()
    assert again.queries == rule.queries and again.cases == rule.cases


def test_models_forbid_unknown_fields() -> None:
    data = copy.deepcopy(two_case_rule())
    data["queries"][0]["surprise"] = 1
    with pytest.raises(RuleValidationError) as caught:
        validate_rule(data)
    assert caught.value.problems[0][0] == "queries[0].surprise"
