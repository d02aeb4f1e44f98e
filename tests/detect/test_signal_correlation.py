"""`signal_correlation` rules (SPEC §3.13b): the results of the run's other rules, correlated."""

from __future__ import annotations

from typing import Any

import pytest

from engine.core.errors import UnsupportedRuleError
from engine.run import run
from tests.detect.builders import T, at, event, query, rule

FAILURES = rule(
    query(),
    name="failures",
    id="rule-a",
    keep_alive=60,
    window=60,
    cases=[{"status": "medium", "condition": "a > 0"}],
)
SUCCESS = rule(
    query("source:auth @evt.outcome:success"),
    name="success",
    id="rule-b",
    keep_alive=60,
    window=60,
    cases=[{"status": "low", "condition": "a > 0"}],
)


def correlation(window: int = 300, condition: str = "first > 0 && second > 0") -> dict[str, Any]:
    """A failure result then a success result for one user within `window`."""
    return {
        "name": "brute force then success",
        "type": "signal_correlation",
        "queries": [
            {"ruleId": "rule-a", "name": "first", "correlatedByFields": ["@usr.id"]},
            {
                "ruleId": "rule-b",
                "name": "second",
                "correlatedByFields": ["@usr.id"],
                "correlatedQueryIndex": 0,
            },
        ],
        "cases": [{"status": "high", "condition": condition}],
        "options": {"evaluationWindow": window, "keepAlive": window, "maxSignalDuration": 3600},
        "message": "correlated",
    }


def success(seconds: float, user: str = "alice") -> dict[str, Any]:
    found = event(seconds, user)
    found["attributes"]["evt"]["outcome"] = "success"
    return found


def test_two_rules_signalling_for_one_user_within_the_window_correlate() -> None:
    outcome = run([correlation(), FAILURES, SUCCESS], [event(0), success(120)], start=T)
    by_rule = {r.rule_name: r for r in outcome.results}
    assert set(by_rule) == {"failures", "success", "brute force then success"}
    found = by_rule["brute force then success"]
    assert found.rule_type == "signal_correlation"
    assert found.group_by == {"@usr.id": "alice"}
    assert found.events_matched == 2
    assert found.extra["correlated_results"] == [by_rule["failures"].id, by_rule["success"].id]
    rules = {sample.log["attributes"]["rule"]["name"] for sample in found.samples}
    assert rules == {"failures", "success"}


@pytest.mark.parametrize(
    ("gap", "fires"), [(299, True), (300, False)], ids=["inside_window", "at_window_edge"]
)
def test_the_correlation_window_is_the_threshold_window(gap: int, fires: bool) -> None:
    outcome = run([FAILURES, SUCCESS, correlation()], [event(0), success(gap)], start=T)
    correlated = [r for r in outcome.results if r.rule_type == "signal_correlation"]
    assert bool(correlated) is fires


def test_results_of_different_users_do_not_correlate() -> None:
    outcome = run([FAILURES, SUCCESS, correlation()], [event(0), success(60, "bob")], start=T)
    assert [r for r in outcome.results if r.rule_type == "signal_correlation"] == []


def test_earlier_results_given_to_the_run_are_correlated() -> None:
    earlier = run(FAILURES, [event(0)], start=T).results
    outcome = run([SUCCESS, correlation()], [success(60)], start=T, results=earlier)
    (found,) = [r for r in outcome.results if r.rule_type == "signal_correlation"]
    assert earlier[0].id in found.extra["correlated_results"]


def test_a_referenced_rule_absent_from_the_run_is_an_error_naming_it() -> None:
    with pytest.raises(UnsupportedRuleError, match="rule 'rule-b'"):
        run([FAILURES, correlation()], [event(0)], start=T, end=at(3600), strict=True)


def test_rules_that_correlate_each_other_are_a_cycle() -> None:
    one = correlation() | {"name": "one", "id": "c-1"}
    one["queries"] = [{"ruleId": "c-2", "correlatedByFields": ["@usr.id"]}]
    two = correlation() | {"name": "two", "id": "c-2"}
    two["queries"] = [{"ruleId": "c-1", "correlatedByFields": ["@usr.id"]}]
    for item in (one, two):
        item["cases"] = [{"status": "high", "condition": "a > 0"}]
    outcome = run([one, two, FAILURES], [event(0)], start=T)
    errors = {stat.rule: stat.error for stat in outcome.stats}
    assert (
        errors["one"]
        == errors["two"]
        == ("it reads the results of rules that read its own (a cycle)")
    )
    assert errors["failures"] is None
