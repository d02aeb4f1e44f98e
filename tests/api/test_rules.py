"""The rules API (create, list, get, update, delete) and `fromRule` jobs of API-created rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import (
    DAY_MS,
    HISTORICAL,
    LIBRARY_RULE_ID,
    R1,
    RULES,
    Api,
    from_rule_body,
)
from tests.detect.builders import T, rule

#: SPEC TC-16's stored rule: cases [{a > 10, critical}, {a > 3, medium}].
TC16_RULE = rule(
    cases=[
        {"name": "many", "status": "critical", "condition": "a > 10"},
        {"name": "some", "status": "medium", "condition": "a > 3"},
    ],
    name="Brute force",
)


def create(api: Api, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = api.client.post(RULES, json=body, headers=headers or api.headers)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_answers_the_stored_rule(api: Api) -> None:
    created = create(api, TC16_RULE, **api.key("security_monitoring_rules_write", name="dana"))
    assert created["name"] == "Brute force"
    assert [case["status"] for case in created["cases"]] == ["critical", "medium"]
    assert (created["version"], created["isDefault"], created["isDeleted"]) == (1, False, False)
    assert created["creator"] == {"handle": "dana", "name": "dana"}
    assert isinstance(created["createdAt"], int)
    fetched = api.client.get(f"{RULES}/{created['id']}", headers=api.headers)
    assert (fetched.status_code, fetched.json()) == (200, created)


def test_an_invalid_rule_is_400_listing_every_problem(api: Api) -> None:
    body = {
        **R1,
        "queries": [{**R1["queries"][0], "query": ""}],
        "cases": [{"status": "high", "condition": "c > 0"}],
    }
    response = api.client.post(RULES, json=body, headers=api.headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    errors = response.json()["errors"]
    assert errors[0] == "Invalid rule configuration"
    assert "queries[0].query: Query filter cannot be empty" in errors
    assert any(line.startswith("cases[0].condition:") for line in errors)


@pytest.mark.parametrize(
    ("body", "mention"),
    [([], "the request body must be a JSON object (got an array)"), (b"{", "not valid JSON")],
    ids=["array", "not-json"],
)
def test_a_malformed_rule_body_is_400(api: Api, body: Any, mention: str) -> None:
    if isinstance(body, bytes):
        response = api.client.post(
            RULES, content=body, headers={**api.headers, "content-type": "application/json"}
        )
    else:
        response = api.client.post(RULES, json=body, headers=api.headers)
    assert response.status_code == 400
    assert mention in response.json()["errors"][0]["detail"]


def test_list_has_library_and_created_rules_with_counts(api: Api) -> None:
    created = [create(api, {**TC16_RULE, "name": f"Brute force {n}"}) for n in range(3)]
    response = api.client.get(RULES, headers=api.headers)
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["data"]] == [LIBRARY_RULE_ID] + [
        rule["id"] for rule in created
    ]
    assert body["meta"] == {"page": {"total_count": 4, "total_filtered_count": 4}}
    page = api.client.get(
        RULES, params={"page[size]": 2, "page[number]": 1, "query": "brute"}, headers=api.headers
    ).json()
    assert [item["id"] for item in page["data"]] == [created[2]["id"]]
    assert page["meta"] == {"page": {"total_count": 4, "total_filtered_count": 3}}


@pytest.mark.parametrize(
    "params", [{"page[size]": 101}, {"page[number]": -1}], ids=["size-over-100", "negative-number"]
)
def test_bad_rule_list_parameters_are_400(api: Api, params: dict[str, Any]) -> None:
    assert api.client.get(RULES, params=params, headers=api.headers).status_code == 400


def test_update_replaces_the_fields_given_and_bumps_the_version(api: Api) -> None:
    created = create(api, TC16_RULE)
    response = api.client.put(
        f"{RULES}/{created['id']}",
        json={"name": "Renamed", "message": "New text"},
        headers=api.headers,
    )
    assert response.status_code == 200
    updated = response.json()
    assert (updated["name"], updated["message"], updated["version"]) == ("Renamed", "New text", 2)
    assert updated["queries"] == created["queries"]
    assert updated["createdAt"] == created["createdAt"]
    assert api.client.get(f"{RULES}/{created['id']}", headers=api.headers).json() == updated


def test_an_invalid_update_is_400_and_keeps_the_rule(api: Api) -> None:
    created = create(api, TC16_RULE)
    response = api.client.put(
        f"{RULES}/{created['id']}",
        json={"cases": [{"status": "high", "condition": "z > 1"}]},
        headers=api.headers,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0] == "Invalid rule configuration"
    assert api.client.get(f"{RULES}/{created['id']}", headers=api.headers).json() == created


def test_delete_removes_the_rule(api: Api) -> None:
    created = create(api, TC16_RULE)
    response = api.client.delete(f"{RULES}/{created['id']}", headers=api.headers)
    assert (response.status_code, response.content) == (204, b"")
    assert api.client.get(f"{RULES}/{created['id']}", headers=api.headers).status_code == 404
    job = api.client.post(
        f"{HISTORICAL}/jobs", json=from_rule_body(created["id"]), headers=api.headers
    )
    assert job.status_code == 404


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)],
    ids=["get", "put", "delete"],
)
def test_an_unknown_rule_is_404(api: Api, method: str, body: dict[str, Any] | None) -> None:
    response = api.client.request(method, f"{RULES}/abc-def-ghi", json=body, headers=api.headers)
    assert (response.status_code, response.json()) == (404, {"errors": ["Not found"]})


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)],
    ids=["get", "put", "delete"],
)
def test_a_malformed_rule_id_is_400(api: Api, method: str, body: dict[str, Any] | None) -> None:
    response = api.client.request(method, f"{RULES}/bad%20id", json=body, headers=api.headers)
    assert response.status_code == 400
    assert "rule_id" in response.json()["errors"][0]["detail"]


def test_library_rules_are_readable(api: Api) -> None:
    response = api.client.get(f"{RULES}/{LIBRARY_RULE_ID}", headers=api.headers)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["name"]) == (LIBRARY_RULE_ID, "R1")


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", {"name": "x"}), ("DELETE", None)], ids=["put", "delete"]
)
def test_library_rules_are_read_only(api: Api, method: str, body: dict[str, Any] | None) -> None:
    response = api.client.request(
        method, f"{RULES}/{LIBRARY_RULE_ID}", json=body, headers=api.headers
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [f"rule {LIBRARY_RULE_ID} belongs to the rule library: read-only"]
    }
    assert api.client.get(f"{RULES}/{LIBRARY_RULE_ID}", headers=api.headers).json()["name"] == "R1"


# --- fromRule jobs of API-created rules (SPEC TC-16) --------------------------------------------


def tc16_job(
    api: Api, rule_id: str, family: str = HISTORICAL, **options: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = from_rule_body(rule_id, **options)
    body["data"]["attributes"]["fromRule"]["index"] = "tc16"
    job = api.finish(api.run(body, family))
    return job, api.results(job["id"])


def test_tc16_from_rule_case_index_keeps_only_that_case(api: Api, family: str) -> None:
    stored = create(api, TC16_RULE)
    job, results = tc16_job(api, stored["id"], family, caseIndex=1)
    assert job["attributes"]["createdFromRuleId"] == stored["id"]
    assert job["attributes"]["jobDefinition"]["cases"] == [
        {"name": "some", "status": "medium", "condition": "a > 3", "notifications": []}
    ]
    assert results
    assert {item["attributes"]["status"] for item in results} == {"medium"}
    assert all(
        item["attributes"]["attributes"]["workflow"]["rule"]["id"] == stored["id"]
        for item in results
    )


def test_tc16_without_case_index_the_rule_escalates_to_critical(api: Api) -> None:
    stored = create(api, TC16_RULE)
    _job, results = tc16_job(api, stored["id"])
    assert [item["attributes"]["status"] for item in results] == ["critical"]


def test_from_rule_notifications_are_told_when_the_job_ends(api: Api) -> None:
    stored = create(api, TC16_RULE)
    job, _results = tc16_job(api, stored["id"], notifications=["@slack-secops"])
    api.service.deliveries.join()
    deliveries = api.service.signals.deliveries(job_id=job["id"])
    assert [(item.target, item.outcome) for item in deliveries] == [
        ("@slack-secops", "undelivered")
    ]


def test_from_rule_takes_the_range_and_index_of_the_request(api: Api) -> None:
    stored = create(api, TC16_RULE)
    body = from_rule_body(stored["id"])
    body["data"]["attributes"]["fromRule"].update(
        {"from": T + 1000, "to": T + DAY_MS, "index": "tc16"}
    )
    job = api.finish(api.run(body))
    definition = job["attributes"]["jobDefinition"]
    assert (definition["from"], definition["to"], definition["index"]) == (
        T + 1000,
        T + DAY_MS,
        "tc16",
    )
    assert job["attributes"]["jobName"] == "Brute force"
