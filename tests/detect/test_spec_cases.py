"""SPEC §8 acceptance cases TC-1..TC-17: threshold detection and the signal lifecycle."""

from __future__ import annotations

import pytest

from engine.core.errors import RuleValidationError
from engine.rules.loader import load_rule
from engine.run import run
from tests.detect.builders import T, at, event, query, rule, times


def test_tc1_basic_threshold() -> None:
    found = run(rule(), [event(s) for s in (0, 60, 120, 180)]).results
    assert len(found) == 1
    (result,) = found
    assert result.group_by == {"@usr.id": "alice"}
    assert result.severity == "high"
    assert times(result) == (0, 180)
    assert result.events_matched == 4


def test_tc2_sliding_not_tumbling_window() -> None:
    assert run(rule(), [event(s) for s in (0, 100, 200, 350)]).results == []


def test_tc3_window_lower_bound_is_exclusive() -> None:
    assert run(rule(), [event(s) for s in (0, 100, 200, 300)]).results == []


KEEP_ALIVE_RULE = rule(
    cases=[{"status": "high", "condition": "a > 0"}], window=60, keep_alive=300, max_duration=3600
)


def test_tc4_keep_alive_extends_the_signal() -> None:
    (result,) = run(KEEP_ALIVE_RULE, [event(s) for s in (0, 200, 450, 700)]).results
    assert times(result) == (0, 700)
    assert result.events_matched == 4


def test_tc5_keep_alive_expiry_opens_a_new_signal() -> None:
    found = run(KEEP_ALIVE_RULE, [event(s) for s in (0, 200, 550)]).results
    assert [times(result) for result in found] == [(0, 200), (550, 550)]


def test_tc6_gap_equal_to_keep_alive_keeps_the_signal_open() -> None:
    (result,) = run(KEEP_ALIVE_RULE, [event(s) for s in (0, 300)]).results
    assert times(result) == (0, 300)


def test_tc7_max_signal_duration_caps_a_signal() -> None:
    capped = rule(
        cases=[{"status": "high", "condition": "a > 0"}],
        window=60,
        keep_alive=600,
        max_duration=900,
    )
    found = run(capped, [event(s) for s in (0, 300, 600, 900, 1200, 1500)]).results
    assert [times(result) for result in found] == [(0, 900), (1200, 1500)]
    assert [result.events_matched for result in found] == [4, 2]


def test_tc8_reopen_with_old_events_still_in_window() -> None:
    reopening = rule(
        cases=[{"status": "high", "condition": "a > 2"}],
        window=300,
        keep_alive=600,
        max_duration=300,
    )
    first, second = run(reopening, [event(s) for s in (0, 10, 20, 100, 200, 310)]).results
    assert first.timestamp.timestamp() * 1000 == at(20)
    assert times(first) == (0, 200)
    assert first.events_matched == 5
    assert second.timestamp.timestamp() * 1000 == at(310)
    assert times(second) == (20, 310)
    assert second.events_matched == 4


def test_tc9_groups_are_independent() -> None:
    logs = [event(s) for s in (0, 40, 80, 120)] + [event(s, "bob") for s in (10, 50, 90)]
    (result,) = run(rule(), logs).results
    assert result.group_by == {"@usr.id": "alice"}
    assert result.group_by_paths == ["@usr.id"]


def test_tc10_events_missing_the_group_by_are_dropped() -> None:
    assert run(rule(), [event(s, user=None) for s in (0, 60, 120, 180)]).results == []


def test_tc11_optional_group_by_uses_na() -> None:
    optional = rule(query(hasOptionalGroupByFields=True))
    (result,) = run(optional, [event(s, user=None) for s in (0, 60, 120, 180)]).results
    assert result.group_by == {"@usr.id": "N/A"}


def _join_logs() -> list[dict[str, object]]:
    bob = [event(s, None, usr={"name": "bob"}) for s in range(0, 60, 10)]
    success = {"evt": {"outcome": "success"}}
    return [
        *bob,
        event(60, None, usr={"name": "bob"}, **success),
        event(60, None, usr={"name": "carol"}, **success),
    ]


def _join_rule(names: tuple[str, str], condition: str) -> dict[str, object]:
    return rule(
        query("@evt.outcome:failure", ["@usr.name"], name=names[0]),
        query("@evt.outcome:success", ["@usr.name"], name=names[1]),
        cases=[{"status": "high", "condition": condition}],
        window=600,
    )


def test_tc12_two_query_join() -> None:
    (result,) = run(_join_rule(("", ""), "a > 5 && b > 0"), _join_logs()).results
    assert result.group_by == {"@usr.name": "bob"}
    assert result.timestamp.timestamp() * 1000 == at(60)
    assert result.events_matched == 7
    assert result.events_per_query == {"a": 6, "b": 1}


def test_tc13_named_queries_and_positional_letters() -> None:
    named = run(_join_rule(("failed", "ok"), "failed > 5 && ok > 0"), _join_logs()).results
    lettered = run(_join_rule(("", ""), "a > 5 && b > 0"), _join_logs()).results
    assert [(r.group_by, r.events_matched) for r in named] == [
        (r.group_by, r.events_matched) for r in lettered
    ]
    assert named[0].events_per_query == {"failed": 6, "ok": 1}
    with pytest.raises(RuleValidationError, match=r"unknown query name 'c'.*a, b"):
        load_rule(_join_rule(("", ""), "c > 0"))


def test_tc14_first_matching_case_wins() -> None:
    cases = [{"status": "low", "condition": "a > 3"}, {"status": "critical", "condition": "a > 10"}]
    (result,) = run(rule(cases=cases), [event(s) for s in range(0, 110, 10)]).results
    assert result.severity == "low"
    assert result.case_index == 0


def test_tc15_severity_escalates_while_open() -> None:
    cases = [
        {"status": "critical", "condition": "a > 10"},
        {"status": "medium", "condition": "a > 3"},
    ]
    (result,) = run(rule(cases=cases), [event(s) for s in range(0, 110, 10)]).results
    assert result.timestamp.timestamp() * 1000 == at(30)  # opened (medium) at the 4th event
    assert result.severity == "critical"  # raised at the 11th
    assert result.case_index == 0
    assert result.case_condition == "a > 10"


def test_tc16_from_rule_case_index_keeps_only_that_case() -> None:
    stored = load_rule(
        rule(
            cases=[
                {"status": "critical", "condition": "a>10"},
                {"status": "medium", "condition": "a>3"},
            ],
            id="abc-def-ghi",
        )
    )
    job = stored.to_job_definition(T, at(3600), "main", case_index=1)
    found = run(job, [event(s) for s in range(0, 110, 10)]).results
    assert found
    assert {result.severity for result in found} == {"medium"}


def test_tc17_cardinality() -> None:
    cardinality = rule(
        query(
            "source:auth",
            aggregation="cardinality",
            distinctFields=["@network.client.ip"],
        ),
        cases=[{"status": "high", "condition": "a > 2"}],
        window=600,
    )
    two_ips = [event(10 * i, network={"client": {"ip": f"10.0.0.{1 + i % 2}"}}) for i in range(5)]
    assert run(cardinality, two_ips).results == []
    third = event(60, network={"client": {"ip": "10.0.0.9"}})
    (result,) = run(cardinality, [*two_ips, third]).results
    assert result.timestamp.timestamp() * 1000 == at(60)
    assert result.queries[0].value == 3
    assert result.queries[0].distinct_values == ["10.0.0.1", "10.0.0.2", "10.0.0.9"]


def test_tc18_query_typing_and_ranges_in_a_job() -> None:
    typed = rule(
        query("@http.status_code:[400 TO 499] -@http.url:/health*", group_by=[]),
        cases=[{"status": "info", "condition": "a > 0"}],
        window=0,
        keep_alive=0,
        max_duration=0,
    )
    logs = [
        event(1, None, http={"status_code": 404, "url": "/a"}),
        event(2, None, http={"status_code": "404", "url": "/b"}),
        event(3, None, http={"status_code": 500, "url": "/c"}),
        event(4, None, http={"status_code": 404, "url": "/healthz"}),
    ]
    found = run(typed, logs).results
    assert [result.samples[0].log["attributes"]["http"]["url"] for result in found] == ["/a", "/b"]
    ranged = rule(
        query("@b:[1 TO 100]", group_by=[]),
        cases=[{"status": "info", "condition": "a > 0"}],
        window=0,
        keep_alive=0,
        max_duration=0,
    )
    values = ["2", "10", "abc", 500]
    found = run(ranged, [event(i + 1, None, b=value) for i, value in enumerate(values)]).results
    assert [result.samples[0].log["attributes"]["b"] for result in found] == ["2", "10"]
