"""Job creation lints the job's rule against the archive and returns its warnings in `meta`."""

from __future__ import annotations

from tests.api.conftest import HISTORICAL, R1, Api, definition, run_body
from tests.detect.builders import query, rule


def test_job_creation_returns_lint_warnings_in_meta(api: Api) -> None:
    typo = rule(query("source:auth @evt.outcme:failure"))
    response = api.client.post(
        f"{HISTORICAL}/jobs", json=run_body(definition(typo)), headers=api.headers
    )
    assert response.status_code == 201
    warnings = response.json()["meta"]["warnings"]
    checks = {w["check"] for w in warnings}
    assert checks == {"unknown-field", "never-matches", "no-match-in-sample"}
    (warning,) = [w for w in warnings if w["check"] == "unknown-field"]
    assert (warning["severity"], warning["where"]) == ("warning", "queries[0].query")
    assert "did you mean @evt.outcome?" in warning["message"]
    assert api.service.jobs.get(response.json()["data"]["id"]) is not None  # still created


def test_a_clean_rule_keeps_the_recorded_body(api: Api) -> None:
    response = api.client.post(
        f"{HISTORICAL}/jobs", json=run_body(definition(R1)), headers=api.headers
    )
    assert set(response.json()) == {"data"}  # SPEC TC-30: no meta without warnings
