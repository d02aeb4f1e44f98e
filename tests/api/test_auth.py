"""Keys and scopes: every endpoint needs both keys and its scope; docs stay public."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.store.keys import SCOPES
from tests.api.conftest import (
    FAMILIES,
    FAMILY_IDS,
    HISTORICAL,
    R1,
    RULES,
    SIGNALS,
    UNKNOWN_JOB,
    Api,
    convert_body,
    definition,
    run_body,
    serve,
)

RULES_READ = "security_monitoring_rules_read"
RULES_WRITE = "security_monitoring_rules_write"
SIGNALS_READ = "security_monitoring_signals_read"
SIGNALS_WRITE = "security_monitoring_signals_write"

#: (id, method, path relative to a job path family, scope, body)
JOB_ENDPOINTS: list[tuple[str, str, str, str, Any]] = [
    ("run", "POST", "/jobs", RULES_WRITE, run_body(definition(R1))),
    ("list", "GET", "/jobs", RULES_READ, None),
    ("get", "GET", f"/jobs/{UNKNOWN_JOB}", RULES_READ, None),
    ("delete", "DELETE", f"/jobs/{UNKNOWN_JOB}", RULES_WRITE, None),
    ("cancel", "PATCH", f"/jobs/{UNKNOWN_JOB}/cancel", RULES_WRITE, None),
    ("convert", "POST", "/jobs/signal_convert", SIGNALS_WRITE, convert_body(["x"])),
    ("job-histsignals", "GET", f"/jobs/{UNKNOWN_JOB}/histsignals", SIGNALS_READ, None),
    ("histsignals", "GET", "/histsignals", SIGNALS_READ, None),
    ("histsignals-search", "POST", "/histsignals/search", SIGNALS_READ, {}),
    ("histsignal", "GET", "/histsignals/abc", SIGNALS_READ, None),
]
OTHER_ENDPOINTS: list[tuple[str, str, str, str, Any]] = [
    ("signals", "GET", SIGNALS, SIGNALS_READ, None),
    ("signals-search", "POST", f"{SIGNALS}/search", SIGNALS_READ, {}),
    ("signal", "GET", f"{SIGNALS}/abc", SIGNALS_READ, None),
    ("rule-create", "POST", RULES, RULES_WRITE, R1),
    ("rules", "GET", RULES, RULES_READ, None),
    ("rule", "GET", f"{RULES}/abc", RULES_READ, None),
    ("rule-update", "PUT", f"{RULES}/abc", RULES_WRITE, {"name": "x"}),
    ("rule-delete", "DELETE", f"{RULES}/abc", RULES_WRITE, None),
]
ENDPOINTS = [
    (f"{family_id}-{name}", method, f"{family}{path}", scope, body)
    for family, family_id in zip(FAMILIES, FAMILY_IDS, strict=True)
    for name, method, path, scope, body in JOB_ENDPOINTS
] + OTHER_ENDPOINTS
ENDPOINT_IDS = [case[0] for case in ENDPOINTS]
ENDPOINT_CASES = [case[1:] for case in ENDPOINTS]
FORBIDDEN = {"errors": ["Forbidden"]}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, archive: Path, library: Path) -> Iterator[Api]:
    """One server for the module: these tests only add keys and jobs nobody lists."""
    with serve(tmp_path_factory.mktemp("auth"), archive, library) as server:
        yield server


def call(api: Api, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return api.client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINT_CASES, ids=ENDPOINT_IDS)
def test_no_keys_is_403_forbidden(api: Api, method: str, path: str, scope: str, body: Any) -> None:
    response = call(api, method, path, body, {})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    assert response.json() == FORBIDDEN


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINT_CASES, ids=ENDPOINT_IDS)
def test_a_key_without_the_scope_is_403_naming_it(
    api: Api, method: str, path: str, scope: str, body: Any
) -> None:
    others = [name for name in SCOPES if name != scope]
    response = call(api, method, path, body, api.key(*others))
    assert response.status_code == 403
    assert response.json() == {
        "errors": [f"Forbidden: this application key lacks the scope {scope}"]
    }


@pytest.mark.parametrize(("method", "path", "scope", "body"), ENDPOINT_CASES, ids=ENDPOINT_IDS)
def test_a_key_with_only_the_scope_is_let_through(
    api: Api, method: str, path: str, scope: str, body: Any
) -> None:
    response = call(api, method, path, body, api.key(scope))
    assert response.status_code != 403
    assert response.status_code < 500


def _variants(api: Api) -> dict[str, dict[str, str]]:
    good = api.headers
    return {
        "api-key-only": {"DD-API-KEY": good["DD-API-KEY"]},
        "application-key-only": {"DD-APPLICATION-KEY": good["DD-APPLICATION-KEY"]},
        "unknown-api-key": {**good, "DD-API-KEY": "0" * 32},
        "unknown-application-key": {**good, "DD-APPLICATION-KEY": "0" * 40},
        "keys-swapped": {
            "DD-API-KEY": good["DD-APPLICATION-KEY"],
            "DD-APPLICATION-KEY": good["DD-API-KEY"],
        },
        "empty-keys": {"DD-API-KEY": "", "DD-APPLICATION-KEY": ""},
    }


@pytest.mark.parametrize(
    "variant",
    [
        "api-key-only",
        "application-key-only",
        "unknown-api-key",
        "unknown-application-key",
        "keys-swapped",
        "empty-keys",
    ],
)
def test_missing_or_unknown_keys_are_403_forbidden(api: Api, variant: str) -> None:
    response = api.client.get(f"{HISTORICAL}/jobs", headers=_variants(api)[variant])
    assert (response.status_code, response.json()) == (403, FORBIDDEN)


@pytest.mark.parametrize("spelling", ["lower", "upper", "mixed"])
def test_key_header_names_are_case_insensitive(api: Api, spelling: str) -> None:
    change = {"lower": str.lower, "upper": str.upper, "mixed": str.title}[spelling]
    headers = {change(name): value for name, value in api.headers.items()}
    assert api.client.get(f"{HISTORICAL}/jobs", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", f"{HISTORICAL}/jobs", b"{not json"),
        ("GET", f"{HISTORICAL}/jobs/inva-lid", None),
        ("GET", f"{HISTORICAL}/jobs?page[size]=1000", None),
    ],
    ids=["malformed-body", "malformed-id", "bad-parameter"],
)
def test_keys_are_checked_before_the_request_is_validated(
    api: Api, method: str, path: str, content: bytes | None
) -> None:
    response = api.client.request(
        method, path, content=content, headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (403, FORBIDDEN)


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc"])
def test_the_api_documentation_needs_no_keys(api: Api, path: str) -> None:
    assert api.client.get(path).status_code == 200
