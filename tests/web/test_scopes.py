"""Scopes: the pages and actions a key may use are exactly the API endpoints it may call.

For every combination of the four scopes, each web action and its API twin are tried with the same
key; both must be allowed, or both refused with a 403. The pages also hide the buttons of refused
actions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.api.auth import RULES_READ, RULES_WRITE, SIGNALS_READ, SIGNALS_WRITE
from engine.store.keys import SCOPES
from tests.web.conftest import BRUTE_FORCE, EACH_FAILURE, HISTORICAL, Web, serve_web

SIGNALS_API = "/api/v2/security_monitoring/signals"
RULES_API = "/api/v2/security_monitoring/rules"


@dataclass(frozen=True)
class Pair:
    """A web action and the API request that does the same, both needing `scope`."""

    name: str
    scope: str
    web: Callable[[Web, dict[str, str]], int]
    api: Callable[[Web, dict[str, str]], int]


def _run_form(web: Web, ids: dict[str, str]) -> int:
    form = {"index": "main", "range": "span"}
    return int(web.post(f"/rules/{BRUTE_FORCE}/run", form).status_code)


def _run_api(web: Web, ids: dict[str, str]) -> int:
    body = {
        "data": {
            "type": "historicalDetectionsJobCreate",
            "attributes": {
                "fromRule": {
                    "id": BRUTE_FORCE,
                    "from": 1709510400000,
                    "to": 1710115200000,
                    "index": "main",
                }
            },
        }
    }
    return int(
        web.client.post(f"{HISTORICAL}/jobs", json=body, headers=web.api_headers()).status_code
    )


def _convert_web(web: Web, ids: dict[str, str]) -> int:
    form = {"result": ids["result"], "severity": "high", "message": "m"}
    return int(web.post("/convert", form).status_code)


def _convert_api(web: Web, ids: dict[str, str]) -> int:
    attributes = {
        "jobResultIds": [ids["result"]],
        "signalSeverity": "high",
        "signalMessage": "m",
        "notifications": [],
    }
    body = {
        "data": {"type": "historicalDetectionsJobResultSignalConversion", "attributes": attributes}
    }
    return int(
        web.client.post(
            f"{HISTORICAL}/jobs/signal_convert", json=body, headers=web.api_headers()
        ).status_code
    )


def _page(path: str) -> Callable[[Web, dict[str, str]], int]:
    return lambda web, ids: int(web.client.get(path.format(**ids)).status_code)


def _api(path: str) -> Callable[[Web, dict[str, str]], int]:
    return lambda web, ids: int(
        web.client.get(path.format(**ids), headers=web.api_headers()).status_code
    )


PAIRS = [
    Pair("rules list", RULES_READ, _page("/rules"), _api(RULES_API)),
    Pair(
        "rule page", RULES_READ, _page(f"/rules/{BRUTE_FORCE}"), _api(f"{RULES_API}/{BRUTE_FORCE}")
    ),
    Pair("jobs list", RULES_READ, _page("/jobs"), _api(f"{HISTORICAL}/jobs")),
    Pair("job panel", RULES_READ, _page("/jobs/{job}"), _api(HISTORICAL + "/jobs/{job}")),
    Pair(
        "result page",
        SIGNALS_READ,
        _page("/results/{result}"),
        _api(HISTORICAL + "/histsignals/{result}"),
    ),
    Pair("signals list", SIGNALS_READ, _page("/signals"), _api(SIGNALS_API)),
    Pair("signal page", SIGNALS_READ, _page("/signals/{signal}"), _api(SIGNALS_API + "/{signal}")),
    Pair("run", RULES_WRITE, _run_form, _run_api),
    Pair(
        "cancel",
        RULES_WRITE,
        lambda web, ids: int(web.post(f"/jobs/{ids['job']}/cancel").status_code),
        lambda web, ids: int(
            web.client.patch(
                f"{HISTORICAL}/jobs/{ids['job']}/cancel", headers=web.api_headers()
            ).status_code
        ),
    ),
    Pair(
        "delete rule",
        RULES_WRITE,
        lambda web, ids: int(web.post(f"/rules/{ids['rule']}/delete").status_code),
        lambda web, ids: int(
            web.client.delete(f"{RULES_API}/{ids['rule']}", headers=web.api_headers()).status_code
        ),
    ),
    Pair("convert", SIGNALS_WRITE, _convert_web, _convert_api),
]

KEY_SETS = [
    combination for size in range(1, 5) for combination in itertools.combinations(SCOPES, size)
]


def _allowed(status: int) -> bool:
    assert status != 500
    return status != 403


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A database holding a finished job, its result and a signal (copied for each test)."""
    root = tmp_path_factory.mktemp("scopes")
    with serve_web(root) as web:
        web.sign_in()
        job = web.run()
        result = web.service.jobs.results(job)[0].id
        signal = web.service.convert([result], severity="low", message="m", notifications=[])
    return root, {"job": job, "result": result, "signal": signal[0].id}


def _key_id(scopes: tuple[str, ...]) -> str:
    return "+".join(scope.removeprefix("security_monitoring_") for scope in scopes)


@pytest.mark.parametrize("scopes", KEY_SETS, ids=[_key_id(scopes) for scopes in KEY_SETS])
def test_the_web_app_allows_what_the_api_allows(
    tmp_path: Path, prepared: tuple[Path, dict[str, str]], scopes: tuple[str, ...]
) -> None:
    source, ids = prepared
    (tmp_path / "hindsight.db").write_bytes((source / "hindsight.db").read_bytes())
    with serve_web(tmp_path) as web:
        web.sign_in(*scopes)
        for pair in PAIRS:
            outcomes = [
                _allowed(attempt(web, {**ids, "rule": web.stored_rule(EACH_FAILURE)}))
                for attempt in (pair.web, pair.api)
            ]
            expected = pair.scope in scopes
            assert outcomes == [expected, expected], f"{pair.name} with {scopes}"


def test_a_read_only_key_sees_no_action_and_its_forced_posts_are_refused(web: Web) -> None:
    admin = web.browser()
    admin.sign_in()
    job = admin.run()
    result = web.service.jobs.results(job)[0].id
    rule = admin.stored_rule()
    web.sign_in(RULES_READ, SIGNALS_READ, name="auditor")
    pages = {
        "/rules": ["Run as historical job", "New rule"],
        f"/rules/{rule}": ["Run as historical job", "/edit", "/delete", "Duplicate"],
        "/jobs": ["/cancel", "/delete", "Run a rule"],
        f"/jobs/{job}": ["/delete", "Run again", "Convert selected", "convert-dialog"],
        f"/results/{result}": ["Convert to signal", "convert-dialog"],
    }
    for path, hidden in pages.items():
        text = web.get(path).text
        for marker in hidden:
            assert marker not in text, f"{path} shows {marker!r}"
    refused = [
        web.post(f"/rules/{BRUTE_FORCE}/run", {"index": "main", "range": "span"}),
        web.post(f"/jobs/{job}/delete"),
        web.post(f"/rules/{rule}/delete"),
        web.post("/rules/new", {"rule": "{}"}),
        web.post("/convert", {"result": result, "severity": "high", "message": "m"}),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert "lacks the scope" in refused[0].text
    assert len(web.service.jobs.all()) == 1
    assert web.service.rules.get(rule) is not None
    assert web.service.signals.all() == []


def test_a_key_without_the_results_scope_sees_the_job_but_not_its_results(web: Web) -> None:
    admin = web.browser()
    admin.sign_in()
    job = admin.run()
    web.sign_in(RULES_READ, name="rules-only")
    text = web.get(f"/jobs/{job}").text
    assert "lacks the scope <code>security_monitoring_signals_read</code>" in text
    assert "data-result-id" not in text and "1 medium" not in text
    assert "1 medium" not in web.get("/jobs").text  # no result counts either
    assert "1 medium" in admin.get("/jobs").text
    assert web.get("/signals").status_code == 403
