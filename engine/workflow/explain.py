"""`explain`: why a rule fired for a group around a time, or why it did not.

For the group's evaluation instants in `[at - around, at + around]` it shows each query's
value at the instant (threshold: its aggregate over the window `(t - W, t]`; anomaly: its score;
new_value: its new values) and the events the instant reads (the window; for the other methods,
from the instant's first event: the previous location, the bucket, the chain's first step), every
case's condition with its numbers (`a = 3, needs > 3`; a sequence's step names are 1 when the
chain reaches the step), the case that held (the engine's choice), what the method found (`found`:
the new value, the two locations and the speed, the scores, the steps' times) and what the
instant did to the signal lifecycle (opened, extended, raised, or nothing). It then tells each
result's story (how it closed: keepAlive or maxSignalDuration) and, for the group's events in the
span that no query matched, which clause of each query failed and why (`unmatched.py`,
`clauses.py`). Every number comes from the engine's own detection code (`trace.py`); the
explanation only reads it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.core.severity import severity_name
from engine.core.times import parse_time
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.prepare import window_ms
from engine.rules.conditions import OPERATORS, AllOf, AnyOf, Comparison, Condition, Then
from engine.run import RuleInput, TimeInput, as_rules
from engine.scan.plan import TIME
from engine.workflow.examples import duration_ms
from engine.workflow.report import Report, time_text
from engine.workflow.trace import Trace, of_group, trace
from engine.workflow.unmatched import UnmatchedEvent, unmatched_events

#: Event ids listed per query and instant (all are counted).
MAX_EVENT_IDS = 20


@dataclass
class QueryWindow:
    """One query at one instant: its aggregate over the window and the events it counted."""

    query: str
    aggregation: str
    value: float | None
    events: int
    event_ids: list[str]
    distinct_values: list[str] | None = None


@dataclass
class CaseCheck:
    """One case at one instant: whether its condition held, with the numbers."""

    case: int
    name: str
    status: str
    condition: str
    holds: bool
    why: str


@dataclass
class InstantExplanation:
    """One evaluation instant of the group."""

    time: str
    window: str  # `(start, end]`
    first_event: str | None
    queries: list[QueryWindow]
    cases: list[CaseCheck]
    matched_case: int | None
    lifecycle: str
    result: int | None  # number (1-based) of the result the instant opened or extended
    found: str = ""  # what the detection method found at a matched instant


@dataclass
class ResultStory:
    """One result of the signal key: when it opened, what it holds, how it ended."""

    number: int
    id: str
    opened_at: str
    first_seen: str
    last_seen: str
    severity: str
    case: str
    events_matched: int
    instants: int
    ended: str


@dataclass
class Explanation(Report):
    """Why `rule` fired (or not) for one group around one time."""

    rule: str
    detection_method: str
    group_by: dict[str, str]
    span_start: str
    span_end: str
    evaluation_window: int
    keep_alive: int
    max_signal_duration: int
    instants: list[InstantExplanation]
    results: list[ResultStory]
    unmatched: list[UnmatchedEvent]
    unmatched_total: int
    seconds: float


def _number(value: float | None) -> str:
    if value is None:
        return "no value"
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


class _Cases:
    """Python reading of the case conditions over a group's instants (for the `why` texts)."""

    def __init__(self, rows: list[dict[str, Any]], columns: dict[str, str], window: int) -> None:
        self.rows = rows
        self.columns = columns
        self.window = window

    def check(self, condition: Condition, at: int) -> tuple[bool, str]:
        row = self.rows[at]
        match condition:
            case Comparison():
                value = row[self.columns[condition.name]]
                needs = f"needs {condition.op} {_number(condition.value)}"
                if value is None:
                    return False, f"{condition.name} has no value, {needs}"
                holds = bool(OPERATORS[condition.op](value, condition.value))
                return holds, f"{condition.name} = {_number(value)}, {needs}"
            case AllOf() | AnyOf():
                parts = [self.check(item, at) for item in condition.items]
                verdicts = [holds for holds, _ in parts]
                holds = all(verdicts) if isinstance(condition, AllOf) else any(verdicts)
                joiner = " and " if isinstance(condition, AllOf) else " or "
                return holds, joiner.join(text for _, text in parts)
            case Then():
                second, text = self.check(condition.second, at)
                moment = self.rows[at][TIME]
                earlier = at
                while earlier >= 0 and self.rows[earlier][TIME] > moment - self.window:
                    if self.check(condition.first, earlier)[0]:
                        held = time_text(self.rows[earlier][TIME])
                        return second, f"{text}; {condition.first} held at {held}, in the window"
                    earlier -= 1
                return False, f"{text}; but {condition.first} held at no instant of the window"


def explain(
    rule: RuleInput,
    logs: Any,
    *,
    group: Sequence[str] | str,
    at: TimeInput,
    around: str | int = "30m",
    start: TimeInput = None,
    end: TimeInput = None,
    index: str = "main",
) -> Explanation:
    """Explain `rule` for `group` (its group-by values, in order) around time `at`.

    The rule runs over `[start, end)` (default: all the logs) so its lifecycle is exactly a run's;
    the explanation covers the instants of `[at - around, at + around]` (`around`: `30m`, `2h`,
    seconds as an int).
    """
    began = time.perf_counter()
    (loaded,) = as_rules(rule)
    values = group.split(",") if isinstance(group, str) else list(group)
    middle = parse_time(at)  # type: ignore[arg-type]
    reach = around * 1000 if isinstance(around, int) else duration_ms(around)
    low, high = middle - reach, middle + reach
    steps = trace(
        loaded,
        logs,
        values,
        start=None if start is None else parse_time(start),
        end=None if end is None else parse_time(end),
        index=index,
    )
    options = loaded.options
    instants = _instants(steps, low, high)
    unmatched, total = unmatched_events(steps, low, high)
    keep_alive, max_duration = _lifecycle_ms(steps)
    return Explanation(
        rule=loaded.name,
        detection_method=loaded.detection_method,
        group_by=dict(zip(steps.plan.group_by_paths, steps.group, strict=True)),
        span_start=time_text(low) or "",
        span_end=time_text(high) or "",
        evaluation_window=options.evaluationWindow,
        keep_alive=keep_alive // 1000,
        max_signal_duration=max_duration // 1000,
        instants=instants,
        results=_stories(steps),
        unmatched=unmatched,
        unmatched_total=total,
        seconds=time.perf_counter() - began,
    )


def _lifecycle_ms(steps: Trace) -> tuple[int, int]:
    if steps.method is None:
        options = steps.plan.rule.options
        return options.keepAlive * 1000, options.maxSignalDuration * 1000
    return steps.method.lifecycle_ms(steps.plan)


def _instants(steps: Trace, low: int, high: int) -> list[InstantExplanation]:
    plan = steps.plan
    rule = plan.rule
    window = window_ms(rule.options.evaluationWindow)
    windowed = steps.method is None or steps.method.name == "threshold"
    rows = of_group(steps, steps.instants).sort(TIME).to_dicts() if steps.instants.height else []
    mine = of_group(steps, steps.matches)
    detection = steps.detection
    values = detection.values if detection is not None else {}
    columns = {query.name: values.get(query.index, "") for query in plan.queries}
    if detection is not None:
        columns |= dict(detection.names)
    cases = _Cases(rows, columns, window)
    conditions = rule.case_conditions()
    roles = _roles(steps)
    explained: list[InstantExplanation] = []
    for position, row in enumerate(rows):
        moment = row[TIME]
        if not low <= moment <= high:
            continue
        first = moment - window + 1 if windowed else (row.get(WINDOW_START) or moment)
        in_window = mine.filter(pl.col(TIME) <= moment, pl.col(TIME) >= first)
        queries = []
        for query in plan.queries:
            counted = in_window.filter(pl.col("_q") == query.index).sort(TIME, "id")
            distinct = None
            if query.aggregation == "cardinality":
                distinct = sorted(set(counted["_d"].explode().drop_nulls().to_list()))
            queries.append(
                QueryWindow(
                    query=query.name,
                    aggregation=query.aggregation,
                    value=row.get(columns[query.name]),
                    events=counted.height,
                    event_ids=counted["id"].head(MAX_EVENT_IDS).to_list(),
                    distinct_values=distinct,
                )
            )
        checks = []
        for number, (case, condition) in enumerate(zip(rule.cases, conditions, strict=True)):
            holds, why = (
                (True, "no condition") if condition is None else cases.check(condition, position)
            )
            checks.append(CaseCheck(number, case.name, case.status, case.condition, holds, why))
        chosen = row[CASE]
        role = roles.get(moment)
        note = detection.notes.get((steps.group, moment)) if detection is not None else None
        found = steps.method.describe(note) if note is not None and steps.method else ""
        explained.append(
            InstantExplanation(
                time=time_text(moment) or "",
                window=f"({time_text(moment - window)}, {time_text(moment)}]"
                if windowed
                else f"[{time_text(first)}, {time_text(moment)}]",
                first_event=time_text(row[WINDOW_START]),
                queries=queries,
                cases=checks,
                matched_case=chosen,
                lifecycle=role[1] if role else _idle(steps, moment),
                result=role[0] if role else None,
                found=found,
            )
        )
    return explained


def _roles(steps: Trace) -> dict[int, tuple[int, str]]:
    """What each matched instant of the group did: (result number, text)."""
    roles: dict[int, tuple[int, str]] = {}
    for number, signal in enumerate(steps.signals, start=1):
        severity = signal.opening.severity
        for instant in signal.instants:
            if instant.group != steps.group:
                continue
            if instant is signal.opening:
                text = f"opens result {number}"
                if number > 1:
                    text += f" ({_closing(steps, number - 1, instant.time)})"
            else:
                text = f"extends result {number}: last_seen {time_text(instant.time)}"
                if instant.severity > severity:
                    text += f", severity raised to {severity_name(instant.severity)}"
            severity = max(severity, instant.severity)
            roles[instant.time] = (number, text)
    return roles


def _closing(steps: Trace, number: int, moment: int) -> str:
    """Why result `number` (1-based) was closed by a match at `moment`."""
    signal = steps.signals[number - 1]
    keep_alive, max_duration = _lifecycle_ms(steps)
    reasons = []
    gap = (moment - signal.last_seen) / 1000
    if moment - signal.last_seen > keep_alive:
        reasons.append(f"{gap:g} s after its last_seen > keepAlive {keep_alive // 1000} s")
    age = (moment - signal.first_seen) / 1000
    if moment - signal.first_seen > max_duration:
        reasons.append(
            f"{age:g} s after its first_seen > maxSignalDuration {max_duration // 1000} s"
        )
    return f"result {number} closed: " + " and ".join(reasons)


def _idle(steps: Trace, moment: int) -> str:
    open_ones = [
        number
        for number, signal in enumerate(steps.signals, start=1)
        if signal.opened_at <= moment <= signal.last_seen
    ]
    suffix = f"; result {open_ones[-1]} stays open" if open_ones else ""
    return "no case holds: nothing changes" + suffix


def _stories(steps: Trace) -> list[ResultStory]:
    keep_alive, max_duration = _lifecycle_ms(steps)
    stories = []
    for number, (signal, result) in enumerate(zip(steps.signals, steps.results, strict=True), 1):
        if number < len(steps.signals):
            ended = _closing(steps, number, steps.signals[number].opened_at)
        else:
            expiry = min(signal.last_seen + keep_alive, signal.first_seen + max_duration)
            ended = (
                "no later match: final (a match after "
                f"{time_text(expiry)} would have opened a new result)"
            )
        stories.append(
            ResultStory(
                number=number,
                id=result.id,
                opened_at=time_text(signal.opened_at) or "",
                first_seen=time_text(signal.first_seen) or "",
                last_seen=time_text(signal.last_seen) or "",
                severity=result.severity,
                case=result.case_name or result.case_condition,
                events_matched=result.events_matched,
                instants=len(signal.instants),
                ended=ended,
            )
        )
    return stories
