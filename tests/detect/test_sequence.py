"""`sequence_detection` (SPEC §3.13): steps in order per group, each transition within its wait."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.results.result import JobResult
from engine.run import run
from tests.detect.builders import T, at, event, query, rule, times

WAIT = 600


def sequence_rule(wait: int = WAIT, steps: int = 2) -> dict[str, Any]:
    """Failed logins (3 in 5 minutes), then a success, then (third step) a password change."""
    found = rule(
        query(name="failures"),
        query("source:auth @evt.outcome:success", name="success"),
        query("source:auth @evt.name:password_change", name="change"),
        cases=[
            {"status": "high", "name": "taken over", "condition": f"step_{'abc'[steps - 1]} > 0"}
        ],
        window=0,
        keep_alive=0,
        max_duration=3600,
    )
    chain = [
        {"name": "step_a", "condition": "failures >= 3", "evaluationWindow": 300},
        {"name": "step_b", "condition": "success > 0", "evaluationWindow": 60},
        {"name": "step_c", "condition": "change > 0", "evaluationWindow": 60},
    ][:steps]
    transitions = [
        {"parent": chain[i]["name"], "child": chain[i + 1]["name"], "evaluationWindow": wait}
        for i in range(steps - 1)
    ]
    found["options"].update(
        detectionMethod="sequence_detection",
        sequenceDetectionOptions={"steps": chain, "stepTransitions": transitions},
    )
    return found


def success(seconds: float, user: str = "alice") -> dict[str, Any]:
    found = event(seconds, user)
    found["attributes"]["evt"]["outcome"] = "success"
    return found


def change(seconds: float, user: str = "alice") -> dict[str, Any]:
    return event(seconds, user, evt={"name": "password_change"})


def found(rule_json: dict[str, Any], logs: list[dict[str, Any]]) -> list[JobResult]:
    return run(rule_json, logs, start=T, end=at(86_400)).results


FAILURES = [event(s) for s in (0, 30, 60)]


def test_the_chain_reaches_its_last_step() -> None:
    (result,) = found(sequence_rule(), [*FAILURES, success(300)])
    assert times(result) == (0, 300)
    steps = result.extra["sequence"]["steps"]
    assert [step["name"] for step in steps] == ["step_a", "step_b"]
    assert result.title == "R1 - taken over"


@pytest.mark.parametrize(
    ("gap", "fires"),
    [(WAIT, True), (WAIT + 1, False)],
    ids=["exactly_the_maximum_wait", "one_second_more"],
)
def test_a_transition_at_exactly_its_maximum_wait_is_taken(gap: int, fires: bool) -> None:
    # step_a is satisfied at T+60 (the third failure); step_b must come within (60, 60 + WAIT]
    results = found(sequence_rule(), [*FAILURES, success(60 + gap)])
    assert bool(results) is fires


def test_steps_out_of_order_do_not_fire() -> None:
    assert found(sequence_rule(), [success(0), *[event(s) for s in (30, 60, 90)]]) == []


def test_a_step_must_hold_in_its_own_window() -> None:
    # three failures over more than 5 minutes never satisfy step_a
    spread = [event(s) for s in (0, 200, 400)]
    assert found(sequence_rule(), [*spread, success(450)]) == []


def test_group_by_links_the_steps_of_one_entity() -> None:
    assert found(sequence_rule(), [*FAILURES, success(120, user="bob")]) == []


def test_three_steps_each_within_its_wait() -> None:
    logs = [*FAILURES, success(200), change(500)]
    (result,) = found(sequence_rule(steps=3), logs)
    assert [step["name"] for step in result.extra["sequence"]["steps"]] == [
        "step_a",
        "step_b",
        "step_c",
    ]
    assert found(sequence_rule(steps=3), [*FAILURES, success(200), change(900)]) == []


# --- property: the engine against a deliberately naive replay ---------------------------------


def naive_sequence(events: list[tuple[int, str, bool]], wait: int = WAIT) -> list[tuple[str, int]]:
    """(user, instant) where the chain reaches step_b, checking every instant of each user by
    brute force: step_a = at least 3 failures in (t - 300, t]; step_b = a success in
    (t - 60, t], reached when step_a was reached at some t' with t' < t <= t' + wait."""
    reached = []
    for user in sorted({user for _, user, _ in events}):
        mine = [(time, ok) for time, who, ok in events if who == user]
        instants = sorted({time for time, _ in mine})
        step_a = [
            t for t in instants if sum(1 for s, ok in mine if not ok and t - 300 < s <= t) >= 3
        ]
        for t in instants:
            succeeded = any(ok and t - 60 < s <= t for s, ok in mine)
            if succeeded and any(a < t <= a + wait for a in step_a):
                reached.append((user, t))
    return reached


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.sampled_from(["alice", "bob"]), st.booleans()),
        max_size=30,
    )
)
def test_sequence_matches_a_naive_replay(stream: list[tuple[int, str, bool]]) -> None:
    # a 30 s grid: same-instant steps and transitions at exactly the wait are frequent
    events = [(step * 30, user, ok) for step, user, ok in stream]
    logs = [success(t, user) if ok else event(t, user) for t, user, ok in events]
    results = found(sequence_rule(), logs) if logs else []
    engine = sorted((r.group_by["@usr.id"], times(r)[1]) for r in results)
    assert engine == naive_sequence(events)
