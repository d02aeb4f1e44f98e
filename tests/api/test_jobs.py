"""Run, get, cancel and delete historical jobs, under both path families, with every status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import engine.service.jobs
from engine.core.errors import HindsightError
from tests.api.conftest import (
    EACH,
    HISTORICAL,
    LIBRARY_RULE_ID,
    R1,
    RULES,
    UNKNOWN_JOB,
    Api,
    Hold,
    definition,
    from_rule_body,
    run_body,
    serve,
)
from tests.detect.builders import T

INVALID_ID = {"errors": [{"status": "400", "detail": "invalid jobId"}]}
INVALID_ID_GENERIC = {
    "errors": [{"status": "400", "title": "Generic Error", "detail": "invalid jobId"}]
}
BARE_NOT_FOUND = {"errors": [{"status": "404", "detail": "Not Found"}]}
UNKNOWN_INDEX = {
    "errors": ["input_validation_error(Field 'index' is invalid: Invalid index): Index must exist"]
}


def test_run_answers_201_with_a_job_id(api: Api, family: str) -> None:
    response = api.client.post(f"{family}/jobs", json=run_body(definition(R1)), headers=api.headers)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.json() == {
        "data": {"id": response.json()["data"]["id"], "type": "historicalDetectionsJob"}
    }
    assert api.service.jobs.get(response.json()["data"]["id"]) is not None


def test_run_without_data_type_uses_the_default_type(api: Api) -> None:
    body = {"data": {"attributes": {"jobDefinition": definition(R1)}}}
    assert api.client.post(f"{HISTORICAL}/jobs", json=body, headers=api.headers).status_code == 201


def test_a_job_records_the_application_key_name_as_its_creator(api: Api) -> None:
    job_id = api.run(
        run_body(definition(R1)), **api.key("security_monitoring_rules_write", name="bob")
    )
    attributes = api.finish(job_id)["attributes"]
    assert (attributes["createdByHandle"], attributes["createdByName"]) == ("bob", "bob")


@pytest.mark.parametrize("signal_output", [True, False, None], ids=["true", "false", "absent"])
def test_signal_output_is_echoed_false_when_absent(api: Api, signal_output: bool | None) -> None:
    extra = {} if signal_output is None else {"signalOutput": signal_output}
    job = api.finish(api.run(run_body(definition(R1), **extra)))
    assert job["attributes"]["signalOutput"] is bool(signal_output)


INVALID_RUNS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "keepAlive-not-allowed",
        definition({**R1, "options": {**R1["options"], "keepAlive": 999999}}),
        ["keepAlive"],
    ),
    (
        "window-over-keepAlive",
        definition(
            {**R1, "options": {**R1["options"], "evaluationWindow": 3600, "keepAlive": 600}}
        ),
        ["evaluationWindow"],
    ),
    (
        "every-problem-listed",
        definition(
            {
                **R1,
                "queries": [{**R1["queries"][0], "aggregation": "avg"}],
                "cases": [{"status": "high", "condition": "c > 0"}],
            }
        ),
        ["queries[0].aggregation", "cases[0].condition", "2 problems"],
    ),
    (
        "query-syntax",
        definition({**R1, "queries": [{**R1["queries"][0], "query": "@usr.id:(alice"}]}),
        ["line 1, column"],
    ),
    ("from-after-to", definition(R1, start=T + 1000, end=T), ["from"]),
    (
        "missing-name",
        {key: value for key, value in definition(R1).items() if key != "name"},
        ["name"],
    ),
]


@pytest.mark.parametrize(
    ("job_definition", "mentions"),
    [case[1:] for case in INVALID_RUNS],
    ids=[case[0] for case in INVALID_RUNS],
)
def test_an_invalid_definition_is_400_naming_every_problem(
    api: Api, family: str, job_definition: dict[str, Any], mentions: list[str]
) -> None:
    response = api.client.post(f"{family}/jobs", json=run_body(job_definition), headers=api.headers)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["status"] == "400"
    for text in mentions:
        assert text in error["detail"]
    assert api.service.jobs.all() == []


@pytest.mark.parametrize(
    ("attributes", "mention"),
    [
        (
            {
                "jobDefinition": definition(R1),
                "fromRule": from_rule_body(LIBRARY_RULE_ID)["data"]["attributes"]["fromRule"],
            },
            "exactly one",
        ),
        ({}, "exactly one"),
        (
            {"jobDefinition": definition(R1), "signalOutput": "yes"},
            "signalOutput: must be true or false",
        ),
        ({"jobDefinition": definition(R1), "priority": 1}, "priority: is not a known field"),
    ],
    ids=["both-forms", "neither-form", "signalOutput-not-boolean", "unknown-attribute"],
)
def test_a_malformed_run_request_is_400(api: Api, attributes: dict[str, Any], mention: str) -> None:
    body = {"data": {"type": "historicalDetectionsJobCreate", "attributes": attributes}}
    response = api.client.post(f"{HISTORICAL}/jobs", json=body, headers=api.headers)
    assert response.status_code == 400
    assert mention in response.json()["errors"][0]["detail"]


def test_an_unknown_index_is_400_in_the_string_form(api: Api, family: str) -> None:
    body = run_body(definition(R1, index="nope"))
    response = api.client.post(f"{family}/jobs", json=body, headers=api.headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == UNKNOWN_INDEX


def test_from_rule_with_an_unknown_rule_is_404_without_detail(api: Api, family: str) -> None:
    response = api.client.post(
        f"{family}/jobs", json=from_rule_body("nope-nop-nop"), headers=api.headers
    )
    assert response.status_code == 404
    assert response.json() == {"errors": [{"status": "404", "title": "Not Found"}]}


def test_from_rule_with_a_case_index_out_of_range_is_400(api: Api) -> None:
    body = from_rule_body(LIBRARY_RULE_ID, caseIndex=3)
    response = api.client.post(f"{HISTORICAL}/jobs", json=body, headers=api.headers)
    assert response.status_code == 400
    assert "caseIndex" in response.json()["errors"][0]["detail"]


def test_a_library_rule_job_names_its_rule(api: Api) -> None:
    job = api.finish(api.run(from_rule_body(LIBRARY_RULE_ID)))
    assert job["attributes"]["createdFromRuleId"] == LIBRARY_RULE_ID
    assert job["attributes"]["jobStatus"] == "completed"
    assert len(api.results(job["id"])) == 1


def test_a_definition_job_has_no_rule_id(api: Api) -> None:
    job = api.finish(api.run(run_body(definition(R1))))
    assert "createdFromRuleId" not in job["attributes"]


# --- get, cancel, delete: malformed and unknown ids -----------------------------------------------

ID_ERRORS = [
    ("get-malformed", "GET", "/jobs/inva-lid", 400, INVALID_ID),
    ("cancel-malformed", "PATCH", "/jobs/inva-lid/cancel", 400, INVALID_ID),
    ("delete-malformed", "DELETE", "/jobs/inva-lid", 400, INVALID_ID_GENERIC),
    ("histsignals-malformed", "GET", "/jobs/inva-lid/histsignals", 400, INVALID_ID),
    (
        "get-unknown",
        "GET",
        f"/jobs/{UNKNOWN_JOB}",
        404,
        {
            "errors": [
                {
                    "status": "404",
                    "title": "Not Found",
                    "detail": f"Job {UNKNOWN_JOB} was not found.",
                }
            ]
        },
    ),
    ("cancel-unknown", "PATCH", f"/jobs/{UNKNOWN_JOB}/cancel", 404, BARE_NOT_FOUND),
    ("delete-unknown", "DELETE", f"/jobs/{UNKNOWN_JOB}", 404, BARE_NOT_FOUND),
    (
        "histsignals-unknown",
        "GET",
        f"/jobs/{UNKNOWN_JOB}/histsignals",
        404,
        {
            "errors": [
                {
                    "status": "404",
                    "title": "Not Found",
                    "detail": f"Job {UNKNOWN_JOB} was not found.",
                }
            ]
        },
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [case[1:] for case in ID_ERRORS],
    ids=[case[0] for case in ID_ERRORS],
)
def test_job_id_errors_have_the_recorded_bodies(
    api: Api, family: str, method: str, path: str, status: int, body: dict[str, Any]
) -> None:
    response = api.client.request(method, f"{family}{path}", headers=api.headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.json() == body


@pytest.mark.parametrize(
    "job_id",
    [
        "12345",
        "8e2a37fb-b0c8-4761-a7f0-0a8d6a98ba9",
        "8e2a37fbb0c84761a7f00a8d6a98ba93",
        "{8e2a37fb-b0c8-4761-a7f0-0a8d6a98ba93}",
        "8e2a37fb-b0c8-4761-a7f0-0a8d6a98ba9g",
    ],
    ids=["digits", "short", "no-dashes", "braces", "not-hex"],
)
def test_only_canonical_uuids_are_job_ids(api: Api, job_id: str) -> None:
    response = api.client.get(f"{HISTORICAL}/jobs/{job_id}", headers=api.headers)
    assert (response.status_code, response.json()) == (400, INVALID_ID)


def test_an_upper_case_job_id_finds_the_job(api: Api) -> None:
    job_id = api.finish(api.run(run_body(definition(R1))))["id"]
    response = api.client.get(f"{HISTORICAL}/jobs/{job_id.upper()}", headers=api.headers)
    assert (response.status_code, response.json()["data"]["id"]) == (200, job_id)


# --- get, cancel, delete: the lifecycle ---------------------------------------------------------


def status(api: Api, family: str, job_id: str) -> dict[str, Any]:
    response = api.client.get(f"{family}/jobs/{job_id}", headers=api.headers)
    assert response.status_code == 200
    attributes: dict[str, Any] = response.json()["data"]["attributes"]
    return attributes


def test_get_shows_a_pending_job_without_progress(api: Api, held: Hold, family: str) -> None:
    job_id = api.run(run_body(definition(R1)), family)
    attributes = status(api, family, job_id)
    assert attributes["jobStatus"] == "pending"
    assert "progressRate" not in attributes


def test_cancel_a_pending_job_is_204_and_a_second_cancel_409(
    api: Api, held: Hold, family: str
) -> None:
    job_id = api.run(run_body(definition(R1)), family)
    assert (
        api.client.patch(f"{family}/jobs/{job_id}/cancel", headers=api.headers).status_code == 204
    )
    assert status(api, family, job_id)["jobStatus"] == "cancelled"
    again = api.client.patch(f"{family}/jobs/{job_id}/cancel", headers=api.headers)
    assert again.status_code == 409
    (error,) = again.json()["errors"]
    assert (error["status"], error["title"]) == ("409", "Conflict")
    assert "cancelled" in error["detail"]


def test_cancel_a_running_job_stops_it(api: Api, held: Hold, family: str) -> None:
    job_id = api.run(run_body(definition(R1)), family)
    held.start()
    assert status(api, family, job_id)["jobStatus"] == "running"
    assert (
        api.client.patch(f"{family}/jobs/{job_id}/cancel", headers=api.headers).status_code == 204
    )
    held.release()
    api.service.runner.wait(job_id, 30)
    attributes = status(api, family, job_id)
    assert attributes["jobStatus"] == "cancelled"
    assert "progressRate" not in attributes


@pytest.mark.parametrize("running", [False, True], ids=["pending", "running"])
def test_delete_an_active_job_is_409(api: Api, held: Hold, family: str, running: bool) -> None:
    job_id = api.run(run_body(definition(R1)), family)
    if running:
        held.start()
    response = api.client.delete(f"{family}/jobs/{job_id}", headers=api.headers)
    assert response.status_code == 409
    assert "cancel it before deleting it" in response.json()["errors"][0]["detail"]
    assert api.service.jobs.get(job_id) is not None


def test_delete_a_finished_job_removes_it_and_its_results(api: Api, family: str) -> None:
    job_id = api.finish(api.run(run_body(definition(R1)), family))["id"]
    (result,) = api.results(job_id)
    response = api.client.delete(f"{family}/jobs/{job_id}", headers=api.headers)
    assert (response.status_code, response.content) == (204, b"")
    assert api.client.get(f"{family}/jobs/{job_id}", headers=api.headers).status_code == 404
    assert (
        api.client.get(f"{family}/jobs/{job_id}/histsignals", headers=api.headers).status_code
        == 404
    )
    assert (
        api.client.get(f"{family}/histsignals/{result['id']}", headers=api.headers).status_code
        == 404
    )


def test_cancel_a_completed_job_is_409(api: Api, family: str) -> None:
    job_id = api.finish(api.run(run_body(definition(R1)), family))["id"]
    response = api.client.patch(f"{family}/jobs/{job_id}/cancel", headers=api.headers)
    assert response.status_code == 409
    assert "completed" in response.json()["errors"][0]["detail"]


def test_a_failed_job_says_why(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise HindsightError("archive file main/x.parquet is corrupt")

    monkeypatch.setattr(engine.service.jobs, "run", broken)
    attributes = api.finish(api.run(run_body(definition(R1))))["attributes"]
    assert attributes["jobStatus"] == "failed"
    assert attributes["failureReason"] == "archive file main/x.parquet is corrupt"
    assert "progressRate" not in attributes


def test_a_truncated_job_says_so(tmp_path: Path, archive: Path) -> None:
    with serve(tmp_path, archive, max_results_per_job=5) as api:
        attributes = api.finish(api.run(run_body(definition(EACH))))["attributes"]
        assert attributes["jobStatus"] == "completed"
        assert attributes["truncated"] is True
        assert len(api.results(api.service.jobs.all()[0].id)) == 5


def test_a_complete_job_has_no_truncated_flag(api: Api) -> None:
    attributes = api.finish(api.run(run_body(definition(EACH))))["attributes"]
    assert "truncated" not in attributes
    assert "failureReason" not in attributes


def test_a_rule_pasted_as_a_job_definition_runs_and_ignores_decrease_criticality(
    api: Api, family: str
) -> None:
    pasted = {**R1, "options": {**R1["options"], "decreaseCriticalityBasedOnEnv": True}}
    job = api.finish(api.run(run_body(definition(pasted)), family))
    assert job["attributes"]["jobStatus"] == "completed"
    assert job["attributes"]["jobDefinition"]["options"] == {
        "detectionMethod": "threshold",
        "evaluationWindow": 300,
        "keepAlive": 600,
        "maxSignalDuration": 3600,
    }
    assert len(api.results(job["id"])) == 1


def test_decrease_criticality_in_a_job_must_still_be_a_boolean(api: Api) -> None:
    pasted = {**R1, "options": {**R1["options"], "decreaseCriticalityBasedOnEnv": "yes"}}
    response = api.client.post(
        f"{HISTORICAL}/jobs", json=run_body(definition(pasted)), headers=api.headers
    )
    assert response.status_code == 400
    assert (
        "options.decreaseCriticalityBasedOnEnv: must be true or false (got 'yes')"
        in (response.json()["errors"][0]["detail"])
    )


NEW_VALUE = {
    **R1,
    "queries": [{"query": "@evt.outcome:failure", "aggregation": "new_value", "metrics": ["host"]}],
    "cases": [{"status": "info"}],
    "options": {
        "detectionMethod": "new_value",
        "newValueOptions": {"forgetAfter": 7, "learningDuration": 1},
    },
}
TRAVEL = {
    **R1,
    "queries": [
        {
            "query": "@evt.outcome:failure",
            "aggregation": "geo_data",
            "metrics": ["@network.client.geoip"],
            "groupByFields": ["@usr.id"],
        }
    ],
    "cases": [{"status": "info"}],
    "options": {"detectionMethod": "impossible_travel"},
}
CORRELATION = {
    **R1,
    "type": "signal_correlation",
    "queries": [{"ruleId": "abc-def-ghi", "correlatedByFields": ["@usr.id"]}],
    "cases": [{"status": "info", "condition": "a > 0"}],
}


HARDCODED = {
    **R1,
    "name": "Log4Shell",
    "options": {**R1["options"], "detectionMethod": "hardcoded"},
}


@pytest.mark.parametrize(
    "rule_json", [NEW_VALUE, TRAVEL, CORRELATION], ids=["new_value", "travel", "correlation"]
)
def test_a_job_of_every_runnable_method_is_accepted(api: Api, rule_json: dict[str, Any]) -> None:
    body = run_body(definition(rule_json))
    response = api.client.post(f"{HISTORICAL}/jobs", json=body, headers=api.headers)
    assert response.status_code == 201, response.json()


def test_a_hardcoded_job_is_refused_naming_the_rule(api: Api) -> None:
    response = api.client.post(
        f"{HISTORICAL}/jobs", json=run_body(definition(HARDCODED)), headers=api.headers
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "rule 'Log4Shell': unsupported detection method 'hardcoded'" in error["detail"]
    assert api.service.jobs.all() == []


def test_a_stored_rule_the_engine_cannot_run_is_refused_as_a_from_rule_job(api: Api) -> None:
    created = api.client.post(RULES, json=HARDCODED, headers=api.headers).json()
    response = api.client.post(
        f"{HISTORICAL}/jobs", json=from_rule_body(created["id"]), headers=api.headers
    )
    assert response.status_code == 400
    assert "unsupported detection method 'hardcoded'" in response.json()["errors"][0]["detail"]
    assert api.service.jobs.all() == []
