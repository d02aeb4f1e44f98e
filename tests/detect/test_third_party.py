"""`third_party` (SPEC §3.14): another product's alerts, cased by severity, rolled up per day."""

from __future__ import annotations

from typing import Any

import pytest

from engine.results.result import JobResult
from engine.run import run
from tests.detect.builders import T, at, event, times

DAY = 86_400


def third_party_rule(**options: Any) -> dict[str, Any]:
    """GuardDuty-like findings per account, high and medium severities mapped to cases."""
    return {
        "name": "Partner finding",
        "type": "log_detection",
        "queries": [],
        "cases": [],
        "thirdPartyCases": [
            {"name": "high", "status": "high", "query": "@severity:>=7"},
            {"name": "medium", "status": "medium", "query": "@severity:[4 TO 7]"},
        ],
        "options": {
            "detectionMethod": "third_party",
            "keepAlive": 0,
            "maxSignalDuration": DAY,
            "thirdPartyRuleOptions": {
                "rootQueries": [{"query": "source:guardduty", "groupByFields": ["@account"]}],
                **options,
            },
        },
        "message": "Finding {{@title}}",
    }


def finding(seconds: float, severity: float, account: str = "111", **extra: Any) -> dict[str, Any]:
    return event(
        seconds, None, source="guardduty", severity=severity, account=account, title="x", **extra
    )


def found(rule_json: dict[str, Any], logs: list[dict[str, Any]]) -> list[JobResult]:
    return run(rule_json, logs, start=T, end=at(10 * DAY)).results


def test_each_case_maps_findings_to_its_severity() -> None:
    results = found(third_party_rule(), [finding(0, 8), finding(60, 5), finding(120, 1)])
    assert sorted((r.severity, r.case_name, r.events_matched) for r in results) == [
        ("high", "high", 1),
        ("info", "", 1),
        ("medium", "medium", 1),
    ]
    assert all(r.group_by == {"@account": "111"} for r in results)
    titles = {"Partner finding - high", "Partner finding - medium", "Partner finding"}
    assert {r.title for r in results} == titles


def test_the_default_status_applies_to_findings_no_case_matches() -> None:
    (result,) = found(third_party_rule(defaultStatus="low"), [finding(0, 1)])
    assert result.severity == "low"


@pytest.mark.parametrize(
    ("second", "expected"),
    [(DAY, [2]), (DAY + 1, [1, 1])],
    ids=["at_24_hours_joins", "after_24_hours_a_new_result"],
)
def test_a_key_rolls_up_for_24_hours(second: int, expected: list[int]) -> None:
    results = found(third_party_rule(), [finding(0, 8), finding(second, 9)])
    assert [r.events_matched for r in results] == expected


def test_keys_differ_by_group_and_by_case() -> None:
    logs = [finding(0, 8), finding(10, 8, account="222"), finding(20, 5)]
    assert len(found(third_party_rule(), logs)) == 3


def test_the_title_template_renders() -> None:
    rule_json = third_party_rule(signalTitleTemplate="Finding in {{@account}}")
    (result,) = found(rule_json, [finding(0, 8)])
    assert result.title == "Finding in 111"
    assert times(result) == (0, 0)


def test_events_outside_the_root_queries_are_ignored() -> None:
    assert found(third_party_rule(), [event(0, None, severity=9, account="111")]) == []
