"""Requests the API refuses whatever the endpoint: oversized and malformed bodies, unknown paths
and methods, internal errors; and the OpenAPI document that lists every route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import (
    FAMILIES,
    HISTORICAL,
    R1,
    RULES,
    SIGNALS,
    UNKNOWN_JOB,
    Api,
    TestClient,
    definition,
    run_body,
    serve,
)

LIMIT = 2048


@pytest.fixture
def small(tmp_path: Path, archive: Path) -> Iterator[Api]:
    """A server accepting request bodies of at most 2048 bytes."""
    with serve(tmp_path, archive, max_body_bytes=LIMIT) as server:
        yield server


def padded(size: int) -> bytes:
    """A valid run request of exactly `size` bytes (JSON padded with spaces)."""
    text = json.dumps(run_body(definition(R1)))
    assert len(text) < size
    return (text + " " * (size - len(text))).encode()


TOO_LARGE = {
    "errors": [
        {
            "status": "413",
            "title": "Payload Too Large",
            "detail": f"the request body exceeds the limit of {LIMIT} bytes",
        }
    ]
}


def test_a_body_at_the_limit_is_accepted(small: Api) -> None:
    response = small.client.post(
        f"{HISTORICAL}/jobs",
        content=padded(LIMIT),
        headers={**small.headers, "content-type": "application/json"},
    )
    assert response.status_code == 201


def test_a_declared_length_over_the_limit_is_413(small: Api) -> None:
    response = small.client.post(
        f"{HISTORICAL}/jobs",
        content=padded(LIMIT + 1),
        headers={**small.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert small.service.jobs.all() == []


def test_a_streamed_body_over_the_limit_is_413(small: Api) -> None:
    body = padded(LIMIT + 700)
    chunks = iter([body[:1000], body[1000:2000], body[2000:]])
    response = small.client.post(
        f"{HISTORICAL}/jobs",
        content=chunks,
        headers={**small.headers, "content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_a_streamed_body_within_the_limit_is_read_whole(small: Api) -> None:
    body = padded(LIMIT)
    chunks = iter([body[:700], body[700:1400], body[1400:]])
    response = small.client.post(
        f"{HISTORICAL}/jobs",
        content=chunks,
        headers={**small.headers, "content-type": "application/json"},
    )
    assert response.status_code == 201


def test_the_limit_applies_to_every_endpoint(small: Api) -> None:
    response = small.client.post(RULES, content=b"[" + b" " * LIMIT + b"]", headers=small.headers)
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    (
        "not-json",
        {"content": b"{data", "headers": {"content-type": "application/json"}},
        "the request body is not valid JSON: "
        "Expecting property name enclosed in double quotes (at character 2)",
    ),
    (
        "empty",
        {"content": b"", "headers": {"content-type": "application/json"}},
        "the request body is required",
    ),
    ("array", {"json": []}, "the request body must be a JSON object (got an array)"),
    ("string", {"json": "run"}, "the request body must be a JSON object (got a string)"),
    ("missing-data", {"json": {}}, "data: is required"),
    ("null-data", {"json": {"data": None}}, "data: must be a JSON object (got null)"),
    (
        "wrong-type",
        {"json": {"data": {"type": "signal", "attributes": {}}}},
        "data.type: must be 'historicalDetectionsJobCreate' (got 'signal')",
    ),
    (
        "missing-attributes",
        {"json": {"data": {"type": "historicalDetectionsJobCreate"}}},
        "data.attributes: is required",
    ),
    (
        "unknown-top-level-field",
        {"json": {**run_body(definition(R1)), "meta": {}}},
        "meta: is not a known field",
    ),
    (
        "definition-not-an-object",
        {"json": run_body([])},
        "data.attributes.jobDefinition: must be a JSON object (got an array)",
    ),
    (
        "form-encoded",
        {"content": b"data=1", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        "the request body must be a JSON object sent with Content-Type: application/json",
    ),
]


@pytest.mark.parametrize(
    ("request_options", "detail"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_a_malformed_run_body_is_400_with_a_readable_message(
    api: Api, family: str, request_options: dict[str, Any], detail: str
) -> None:
    options = {**request_options, "headers": {**api.headers, **request_options.get("headers", {})}}
    response = api.client.post(f"{family}/jobs", **options)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.json() == {
        "errors": [
            {"status": "400", "title": "Bad Request", "detail": f"invalid request: {detail}"}
        ]
    }


def test_every_problem_of_a_body_is_reported(api: Api) -> None:
    body = {"data": {"type": "x", "attributes": {"jobDefinition": 1, "signalOutput": "no"}}}
    response = api.client.post(f"{HISTORICAL}/jobs", json=body, headers=api.headers)
    detail = response.json()["errors"][0]["detail"]
    assert detail.count(";") == 2
    for field in ("data.type", "data.attributes.jobDefinition", "data.attributes.signalOutput"):
        assert field in detail


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/vnd.api+json", "application/json; charset=utf-8"],
)
def test_json_bodies_are_read_with_or_without_a_json_content_type(
    api: Api, content_type: str | None
) -> None:
    headers = dict(api.headers)
    if content_type is not None:
        headers["content-type"] = content_type
    content = json.dumps(run_body(definition(R1))).encode()
    response = api.client.post(f"{HISTORICAL}/jobs", content=content, headers=headers)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v2/nope", 404),
        ("GET", "/", 404),
        ("GET", f"{HISTORICAL}/jobs/{UNKNOWN_JOB}/results", 404),
        ("GET", "/api/v2/siem-historical-detections/histsignals/a/b", 404),
        ("PUT", f"{HISTORICAL}/jobs", 405),
        ("POST", f"{HISTORICAL}/jobs/{UNKNOWN_JOB}", 405),
        ("GET", f"{HISTORICAL}/jobs/{UNKNOWN_JOB}/cancel", 405),
        ("DELETE", SIGNALS, 405),
        ("PATCH", RULES, 405),
    ],
    ids=[
        "unknown-prefix",
        "root",
        "unknown-job-subpath",
        "too-deep",
        "put-jobs",
        "post-job",
        "get-cancel",
        "delete-signals",
        "patch-rules",
    ],
)
def test_unknown_paths_and_methods_have_datadog_bodies(
    api: Api, method: str, path: str, status: int
) -> None:
    response = api.client.request(method, path, headers=api.headers)
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["status"] == str(status)
    assert path in error["detail"]
    if status == 405:
        assert response.headers["allow"]


def test_an_internal_error_is_a_500_datadog_body(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(api.service.jobs, "all", broken)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    response = client.get(f"{HISTORICAL}/jobs", headers=api.headers)
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "status": "500",
                "title": "Internal Server Error",
                "detail": "internal error; the server log has the details",
            }
        ]
    }


# --- the OpenAPI document ---------------------------------------------------------------------

JOB_OPERATIONS = {
    "/jobs": {"get", "post"},
    "/jobs/{job_id}": {"get", "delete"},
    "/jobs/{job_id}/cancel": {"patch"},
    "/jobs/signal_convert": {"post"},
    "/jobs/{job_id}/histsignals": {"get"},
    "/jobs/{job_id}/histsignals/export": {"get"},
    "/histsignals": {"get"},
    "/histsignals/search": {"post"},
    "/histsignals/{histsignal_id}": {"get"},
}
OPERATIONS = {
    **{
        f"{family}{path}": methods
        for family in FAMILIES
        for path, methods in JOB_OPERATIONS.items()
    },
    SIGNALS: {"get"},
    f"{SIGNALS}/search": {"post"},
    f"{SIGNALS}/{{signal_id}}": {"get"},
    RULES: {"get", "post"},
    f"{RULES}/{{rule_id}}": {"get", "put", "delete"},
}


def test_the_openapi_document_lists_every_route_with_its_scope(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert {path: set(methods) for path, methods in document["paths"].items()} == OPERATIONS
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert operation["x-required-scope"].startswith("security_monitoring_"), (path, method)
            assert operation["security"] == [{"apiKeyAuth": [], "appKeyAuth": []}]
    assert set(document["components"]["securitySchemes"]) == {"apiKeyAuth", "appKeyAuth"}


def test_the_openapi_document_names_the_query_parameters(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    listing = document["paths"][f"{HISTORICAL}/jobs"]["get"]
    assert {parameter["name"] for parameter in listing["parameters"]} == {
        "page[size]",
        "page[number]",
        "sort",
        "filter[query]",
    }
    histsignals = document["paths"][f"{HISTORICAL}/histsignals"]["get"]
    assert {parameter["name"] for parameter in histsignals["parameters"]} == {
        "filter[query]",
        "filter[from]",
        "filter[to]",
        "sort",
        "page[cursor]",
        "page[limit]",
    }
