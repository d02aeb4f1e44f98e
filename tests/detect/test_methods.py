"""A detection method is one module: a dummy method, registered, runs through `engine.run`.

`EveryEvent` below is all a method needs: a `detectionMethod` name and `detect` (the rule's
matches frame -> its evaluated instants), three lines. Registered under `hardcoded`, a name the
wire model accepts and the engine never runs, it runs through the same lifecycle, results and
histsignal documents as threshold; unregistered, the rule is refused again. The other tests
use the rest of the interface: a look-back before `start`, a phase after the other rules, and the
attributes a result carries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import polars as pl
import pytest

from engine import run
from engine.detect.base import DetectContext, Detection, DetectionMethod, register, unregister
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.lifecycle import SignalSpan
from engine.detect.prepare import RulePlan
from engine.scan.plan import TIME
from tests.detect.builders import T, at, event, rule


class EveryEvent(DetectionMethod):
    """Every matched event is an instant of its group, where case 0 matches."""

    name = "hardcoded"

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        case, start = pl.lit(0, pl.Int32).alias(CASE), pl.col(TIME).alias(WINDOW_START)
        return Detection(matches.select(*rule.key_columns, TIME, case, start).unique())


DUMMY = rule(
    cases=[{"status": "medium", "condition": ""}], window=0, keep_alive=0, max_duration=0
) | {"name": "dummy", "options": {"detectionMethod": "hardcoded"}}
REFUSED = "rule 'dummy': unsupported detection method 'hardcoded'"
THRESHOLD = rule(cases=[{"status": "low", "condition": "a > 0"}], window=0, keep_alive=0)
LOGS = [event(0, "alice"), event(60, "bob"), event(120, "alice")]


M = TypeVar("M", bound=DetectionMethod)


def registered(method: M) -> Iterator[M]:
    """`method`, registered for the time of a test."""
    register(method)
    try:
        yield method
    finally:
        unregister(method.name)


@pytest.fixture
def every_event() -> Iterator[EveryEvent]:
    yield from registered(EveryEvent())


def test_a_method_is_refused_until_it_is_registered() -> None:
    outcome = run(DUMMY, LOGS)
    assert outcome.results == []
    assert outcome.stats[0].error == REFUSED


def test_a_registered_method_runs_through_the_lifecycle_and_results(
    every_event: EveryEvent,
) -> None:
    outcome = run(DUMMY, LOGS)
    assert outcome.stats[0].error is None
    found = [(r.group_by["@usr.id"], r.timestamp.timestamp() * 1000) for r in outcome.results]
    assert found == [("alice", at(0)), ("bob", at(60)), ("alice", at(120))]
    document = outcome.results[0].to_histsignal()["attributes"]
    assert document["status"] == "medium"
    assert document["attributes"]["workflow"]["rule"]["detectionMethod"] == "hardcoded"
    assert document["attributes"]["workflow"]["events_matched"] == 1


def test_the_method_is_gone_once_unregistered() -> None:
    method = EveryEvent()
    register(method)
    assert run(DUMMY, LOGS).stats[0].error is None
    unregister(method.name)
    assert run(DUMMY, LOGS).stats[0].error == REFUSED


class Remembering(EveryEvent):
    """Reads an hour before `start`, runs after the other rules, and says what it saw."""

    lookback = 3_600_000
    after_others = True

    def lookback_ms(self, rule: Any) -> int:
        return self.lookback

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        self.earlier = len(context.results)
        return super().detect(rule, matches, context)

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan, events: Sequence[str]
    ) -> dict[str, Any]:
        return {"earlier_results": self.earlier}


@pytest.fixture
def remembering() -> Iterator[Remembering]:
    yield from registered(Remembering())


def test_a_look_back_extends_the_scan_for_its_rule_only(remembering: Remembering) -> None:
    logs = [event(-1800, "alice"), event(-7200, "bob"), event(600, "carol")]
    outcome = run([DUMMY, THRESHOLD], logs, start=T)
    dummy, threshold = outcome.stats
    assert (dummy.events_matched, threshold.events_matched) == ({"a": 2}, {"a": 1})
    groups = sorted((r.rule_name, r.group_by["@usr.id"]) for r in outcome.results)
    assert groups == [("R1", "carol"), ("dummy", "alice"), ("dummy", "carol")]


def test_a_method_that_runs_after_the_others_reads_their_results(
    remembering: Remembering,
) -> None:
    outcome = run([DUMMY, THRESHOLD], LOGS)  # the dummy is given first, and runs last
    assert [stat.rule for stat in outcome.stats] == ["dummy", "R1"]
    earlier = {r.extra["earlier_results"] for r in outcome.results if r.rule_name == "dummy"}
    assert earlier == {len(LOGS)}  # the threshold rule's results: one per event
    document = next(r for r in outcome.results if r.rule_name == "dummy").to_histsignal()
    assert document["attributes"]["attributes"]["earlier_results"] == len(LOGS)
