"""Converting job results to signals (`signal_convert`) and the signals API that lists them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import (
    EACH,
    HISTORICAL,
    R1,
    SIGNALS,
    Api,
    convert_body,
    definition,
    run_body,
    serve,
)


@pytest.fixture
def converted(api: Api) -> Iterator[tuple[Api, list[dict[str, Any]]]]:
    """The `api` server with EACH's 29 results, the first twelve converted (critical)."""
    results = api.results(api.finish(api.run(run_body(definition(EACH))))["id"])
    response = api.client.post(
        f"{HISTORICAL}/jobs/signal_convert",
        json=convert_body([item["id"] for item in results[:12]]),
        headers=api.headers,
    )
    assert response.status_code == 204
    yield api, results


def test_convert_answers_204_and_stores_signals(api: Api, family: str) -> None:
    (result,) = api.results(api.finish(api.run(run_body(definition(R1))))["id"])
    body = convert_body([result["id"]], severity="medium")
    body["data"]["attributes"]["signalMessage"] = "Alice is being brute-forced"
    response = api.client.post(f"{family}/jobs/signal_convert", json=body, headers=api.headers)
    assert (response.status_code, response.content) == (204, b"")
    listed = api.client.get(SIGNALS, headers=api.headers).json()["data"]
    assert len(listed) == 1
    assert listed[0]["attributes"]["status"] == "medium"
    assert "Alice is being brute-forced" in listed[0]["attributes"]["message"]
    assert listed[0]["attributes"]["attributes"]["histsignal_id"] == result["id"]
    assert listed[0]["attributes"]["attributes"]["workflow"]["triage"]["state"] == "open"


def test_converting_twice_keeps_one_signal(converted: tuple[Api, list[dict[str, Any]]]) -> None:
    api, results = converted
    again = api.client.post(
        f"{HISTORICAL}/jobs/signal_convert",
        json=convert_body([results[0]["id"]], severity="low"),
        headers=api.headers,
    )
    assert again.status_code == 204
    listed = api.client.get(SIGNALS, params={"page[limit]": 100}, headers=api.headers).json()
    assert len(listed["data"]) == 12
    assert {item["attributes"]["status"] for item in listed["data"]} == {"critical"}


CONVERT_ERRORS = [
    (
        "empty-id",
        convert_body([""]),
        400,
        {
            "errors": [
                {"status": "400", "title": "Generic Error", "detail": "empty jobResultId provided"}
            ]
        },
    ),
    (
        "no-ids",
        convert_body([]),
        400,
        {
            "errors": [
                {"status": "400", "title": "Generic Error", "detail": "empty jobResultId provided"}
            ]
        },
    ),
    (
        "unknown-id",
        convert_body(["0123456789abcdef0123456789abcdef"]),
        404,
        {
            "errors": [
                {
                    "status": "404",
                    "title": "Not Found",
                    "detail": "job result 0123456789abcdef0123456789abcdef was not found",
                }
            ]
        },
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [case[1:] for case in CONVERT_ERRORS],
    ids=[case[0] for case in CONVERT_ERRORS],
)
def test_convert_errors_have_datadog_bodies(
    api: Api, family: str, body: dict[str, Any], status: int, expected: dict[str, Any]
) -> None:
    response = api.client.post(f"{family}/jobs/signal_convert", json=body, headers=api.headers)
    assert response.status_code == status
    assert response.json() == expected


def _without(attribute: str) -> dict[str, Any]:
    body = convert_body(["x"])
    del body["data"]["attributes"][attribute]
    return body


@pytest.mark.parametrize(
    ("body", "mention"),
    [
        (
            convert_body(["x"], severity="urgent"),
            "data.attributes.signalSeverity: must be 'info', 'low', 'medium', 'high' or "
            "'critical' (got 'urgent')",
        ),
        (_without("jobResultIds"), "data.attributes.jobResultIds: is required"),
        (_without("notifications"), "data.attributes.notifications: is required"),
        (_without("signalMessage"), "data.attributes.signalMessage: is required"),
        (_without("signalSeverity"), "data.attributes.signalSeverity: is required"),
        (
            {
                "data": {
                    "type": "historicalDetectionsJobCreate",
                    "attributes": convert_body(["x"])["data"]["attributes"],
                }
            },
            "data.type: must be 'historicalDetectionsJobResultSignalConversion'",
        ),
        (
            {
                "data": {
                    **convert_body(["x"])["data"],
                    "attributes": {
                        **convert_body(["x"])["data"]["attributes"],
                        "jobResultIds": "x",
                    },
                }
            },
            "data.attributes.jobResultIds: must be an array (got a string)",
        ),
    ],
    ids=[
        "unknown-severity",
        "no-jobResultIds",
        "no-notifications",
        "no-signalMessage",
        "no-signalSeverity",
        "wrong-type",
        "ids-not-an-array",
    ],
)
def test_a_malformed_convert_request_is_400(api: Api, body: dict[str, Any], mention: str) -> None:
    response = api.client.post(f"{HISTORICAL}/jobs/signal_convert", json=body, headers=api.headers)
    assert response.status_code == 400
    assert mention in response.json()["errors"][0]["detail"]


# --- the signals API ----------------------------------------------------------------------------


def test_signals_page_with_cursors_to_the_end(converted: tuple[Api, list[dict[str, Any]]]) -> None:
    api, _results = converted
    seen: list[str] = []
    stamps: list[str] = []
    params: dict[str, Any] = {"page[limit]": 5, "sort": "timestamp"}
    pages = 0
    while True:
        response = api.client.get(SIGNALS, params=params, headers=api.headers)
        assert response.status_code == 200
        body = response.json()
        seen += [item["id"] for item in body["data"]]
        stamps += [item["attributes"]["timestamp"] for item in body["data"]]
        pages += 1
        if "after" not in body["meta"]["page"]:
            assert "links" not in body
            break
        assert body["links"]["next"].startswith(f"http://testserver{SIGNALS}?")
        params["page[cursor]"] = body["meta"]["page"]["after"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 12
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("status:critical", 12),
        ("status:low", 0),
        ("source:vpn", 4),
        ("@workflow.triage.state:open", 12),
    ],
    ids=["severity", "old-severity", "source", "triage-state"],
)
def test_signals_filter_query(
    converted: tuple[Api, list[dict[str, Any]]], query: str, count: int
) -> None:
    api, _results = converted
    response = api.client.get(
        SIGNALS, params={"filter[query]": query, "page[limit]": 100}, headers=api.headers
    )
    assert response.status_code == 200
    assert len(response.json()["data"]) == count


def test_signals_search_takes_a_body(converted: tuple[Api, list[dict[str, Any]]]) -> None:
    api, _results = converted
    body = {"filter": {"query": "source:vpn"}, "page": {"limit": 3}, "sort": "-timestamp"}
    response = api.client.post(f"{SIGNALS}/search", json=body, headers=api.headers)
    assert response.status_code == 200
    assert len(response.json()["data"]) == 3
    assert response.json()["links"]["next"].startswith(f"http://testserver{SIGNALS}?")
    assert api.client.post(f"{SIGNALS}/search", headers=api.headers).status_code == 200


def test_get_one_signal_moves_the_inner_map_to_custom(
    converted: tuple[Api, list[dict[str, Any]]],
) -> None:
    api, _results = converted
    listed = api.client.get(SIGNALS, headers=api.headers).json()["data"][0]
    response = api.client.get(f"{SIGNALS}/{listed['id']}", headers=api.headers)
    assert response.status_code == 200
    single = response.json()["data"]
    assert single["attributes"]["custom"] == listed["attributes"]["attributes"]
    assert "attributes" not in single["attributes"]


@pytest.mark.parametrize(
    ("path", "status"),
    [(f"{SIGNALS}/sig-000000000000000000000000", 404), (f"{SIGNALS}/bad%20id", 400)],
    ids=["unknown", "malformed"],
)
def test_get_one_signal_errors(api: Api, path: str, status: int) -> None:
    response = api.client.get(path, headers=api.headers)
    assert response.status_code == status
    assert response.json()["errors"][0]["status"] == str(status)


def test_signals_list_errors_like_histsignals(api: Api) -> None:
    response = api.client.get(SIGNALS, params={"page[limit]": 1001}, headers=api.headers)
    assert response.status_code == 400
    assert "page[limit]" in response.json()["errors"][0]["detail"]


def test_an_empty_signal_list_has_no_cursor(tmp_path: Path, archive: Path) -> None:
    with serve(tmp_path, archive) as api:
        body = api.client.get(SIGNALS, headers=api.headers).json()
        assert body["data"] == []
        assert body["meta"]["page"] == {}
        assert "links" not in body
