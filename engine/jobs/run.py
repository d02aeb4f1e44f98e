"""`run`: rules over logs -> the job results the live rules would have produced.

All rules of a call share ONE scan of the logs (`ScanPlan`), read in time slices so progress can
be reported as the scan advances through time. Each rule then runs its detection method on its own
small matches frame. A rule that cannot run (an unsupported type or method, a bad query against this
data) is reported in its statistics and does not stop the others (unless `strict`).

Progress covers the whole job: the scan takes the first `SCAN_SHARE` of it, detection and result
assembly the rest, rule by rule in proportion to the rows each rule reads; 1.0 is reported once,
when the run is over.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from engine.core.errors import HindsightError, UnsupportedRuleError
from engine.core.times import parse_time
from engine.detect.assemble import build_results
from engine.detect.lifecycle import form_signals
from engine.detect.prepare import RulePlan, matches, plan_rule
from engine.detect.threshold import instants, matched_cases, matched_instants
from engine.jobs.plan import TIME, ScanPlan
from engine.jobs.result import JobResult
from engine.jobs.source import LogSource
from engine.rules.loader import load_rule, load_rules
from engine.rules.models import JobDefinition, Rule

SUPPORTED_TYPES = ("log_detection",)
SUPPORTED_METHODS = ("threshold",)

#: The share of a run's progress given to the scan (detection and result assembly: the rest).
SCAN_SHARE = 0.5
#: Progress within one rule's detection after each step: matches frame, window aggregates and
#: cases, signal lifecycle, results.
DETECTION_STEPS = (0.2, 0.6, 0.7, 1.0)

RuleInput = Rule | JobDefinition | Mapping[str, Any] | str | Path
TimeInput = int | str | datetime | None
ProgressCallback = Callable[[float], None]


@dataclass
class RuleStats:
    """What one rule did in a run."""

    rule: str
    detection_method: str
    events_scanned: int = 0
    events_matched: dict[str, int] = field(default_factory=dict)
    results: int = 0
    results_by_severity: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    #: with `run(..., keep_matches=True)`: the matched events (`id`, `_t` epoch ms, one boolean
    #: column per query name)
    matches: pl.DataFrame | None = field(default=None, repr=False)


@dataclass
class JobRun:
    """The outcome of `run`: every result, and per-rule statistics."""

    results: list[JobResult]
    stats: list[RuleStats]
    start: int | None
    end: int | None
    events_scanned: int
    seconds: float
    cancelled: bool = False  # stopped early: the results are those found so far
    truncated: bool = False  # more results than `max_results`: the first ones (by time) are kept

    def to_dicts(self) -> list[dict[str, Any]]:
        """One flat dict per result (see `JobResult.to_dict`)."""
        return [result.to_dict() for result in self.results]

    def to_polars(self) -> pl.DataFrame:
        """The results as a DataFrame, one row per result."""
        rows = self.to_dicts()
        if not rows:
            return pl.DataFrame(schema=_RESULT_SCHEMA)
        flat = [
            {
                **row,
                "group_by": _group_text(row["group_by"]),
                "events_per_query": orjson.dumps(row["events_per_query"]).decode(),
            }
            for row in rows
        ]
        frame = pl.DataFrame(
            flat,
            schema=_RESULT_SCHEMA
            | {"timestamp": pl.String, "first_seen": pl.String, "last_seen": pl.String},
        )
        return frame.with_columns(
            pl.col("timestamp", "first_seen", "last_seen").str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.3fZ", time_unit="ms", time_zone="UTC"
            )
        )


_RESULT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "rule": pl.String(),
    "case": pl.String(),
    "severity": pl.String(),
    "group_by": pl.String(),
    "timestamp": pl.Datetime("ms", "UTC"),
    "first_seen": pl.Datetime("ms", "UTC"),
    "last_seen": pl.Datetime("ms", "UTC"),
    "events_matched": pl.Int64(),
    "events_per_query": pl.String(),
    "title": pl.String(),
    "message": pl.String(),
    "tags": pl.List(pl.String()),
    "log_ids": pl.List(pl.String()),
}


def _group_text(group_by: Mapping[str, str]) -> str:
    return ", ".join(f"{field}:{value}" for field, value in group_by.items())


def as_rules(rules: RuleInput | Sequence[RuleInput]) -> list[Rule]:
    """Rule objects from rules, job definitions, dicts, rule files or folders of rule files."""
    items: Sequence[RuleInput] = (
        [rules] if isinstance(rules, Rule | JobDefinition | Mapping | str | Path) else rules
    )
    loaded: list[Rule] = []
    for item in items:
        if isinstance(item, Rule):
            loaded.append(item)
        elif isinstance(item, JobDefinition):
            loaded.append(item.to_rule())
        elif isinstance(item, Mapping):
            loaded.append(load_rule(item))
        else:
            loaded.extend(load_rules(item))
    return loaded


def run(
    rules: RuleInput | Sequence[RuleInput],
    logs: Any,
    *,
    start: TimeInput = None,
    end: TimeInput = None,
    index: str = "main",
    job_id: str | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    max_results: int | None = None,
    format: str = "auto",
    timestamp_field: str | None = None,
    strict: bool = False,
    keep_matches: bool = False,
) -> JobRun:
    """Run rules over logs: an archive path, an opened `Archive`, or a list of log dicts.

    Log dicts are read as `ingest` reads records of `format` (the same choices; `auto` detects it
    from the first one, so raw CloudTrail records get Datadog's remap), with `timestamp_field` as
    there. `start`/`end` bound event time as `[start, end)` (aware datetimes, epoch ms, RFC 3339 or
    relative text); None means the whole archive. `progress` is told the fraction of the job done
    (monotonic; 1.0 once the run is over); `should_stop` is asked between time slices and between
    rules, and a True answer ends the run with the results found so far (`cancelled`). With
    `max_results`, only the first results by time are kept and the run says it was `truncated`.
    With `strict`, a rule that cannot run raises `UnsupportedRuleError` before the scan.
    """
    stop = should_stop or (lambda: False)
    tracker = _Progress(progress)
    began = time.perf_counter()
    loaded = as_rules(rules)
    source = LogSource.of(logs, index, format=format, timestamp_field=timestamp_field)
    low = None if start is None else parse_time(start)
    high = None if end is None else parse_time(end)
    plan = ScanPlan(source.schema)
    stats = [RuleStats(rule.name, rule.detection_method) for rule in loaded]
    planned: list[RulePlan | None] = []
    for rule, stat in zip(loaded, stats, strict=True):
        planned.append(_plan(rule, plan, stat))
        if strict and stat.error is not None:
            raise UnsupportedRuleError(f"rule {rule.name!r} cannot run: {stat.error}")
    scanned, events_scanned, cancelled = _scan(source, plan, low, high, tracker, stop)
    weights = [_weight(rule_plan, scanned) for rule_plan in planned]
    total = sum(weights) or 1
    done = 0
    results: list[JobResult] = []
    for rule_plan, stat, weight in zip(planned, stats, weights, strict=True):
        stat.events_scanned = events_scanned
        cancelled = cancelled or stop()
        if rule_plan is None or cancelled:
            continue
        began_rule = time.perf_counter()

        def step(fraction: float, before: int = done, weight: int = weight) -> None:
            tracker.report(SCAN_SHARE + (1 - SCAN_SHARE) * (before + weight * fraction) / total)

        try:
            found = _detect(rule_plan, scanned, source, job_id, stat, step, keep_matches)
        except HindsightError as exc:
            stat.error = str(exc)
            found = []
        done += weight
        stat.results = len(found)
        for result in found:
            stat.results_by_severity[result.severity] = (
                stat.results_by_severity.get(result.severity, 0) + 1
            )
        stat.seconds += time.perf_counter() - began_rule
        results.extend(found)
    results.sort(key=lambda result: (result.timestamp, result.rule_name, result.id))
    truncated = max_results is not None and len(results) > max_results
    if truncated:
        results = results[:max_results]
    seconds = time.perf_counter() - began
    if not cancelled:
        tracker.finish()
    return JobRun(results, stats, low, high, events_scanned, seconds, cancelled, truncated)


class _Progress:
    """A run's progress report: never moves back, and reaches 1.0 only by `finish`."""

    def __init__(self, report: ProgressCallback | None) -> None:
        self._report = report
        self._done = 0.0

    def report(self, fraction: float) -> None:
        value = min(fraction, math.nextafter(1.0, 0.0))
        if self._report is not None and value > self._done:
            self._done = value
            self._report(value)

    def finish(self) -> None:
        if self._report is not None:
            self._done = 1.0
            self._report(1.0)


def _weight(rule: RulePlan | None, scanned: pl.DataFrame) -> int:
    """A rule's share of the detection work: the scanned rows its queries matched (at least 1)."""
    if rule is None:
        return 0
    flags = pl.any_horizontal([query.flag for query in rule.queries])
    return max(1, int(scanned.select(flags.sum()).item()))


def _plan(rule: Rule, plan: ScanPlan, stat: RuleStats) -> RulePlan | None:
    began = time.perf_counter()
    try:
        if rule.type not in SUPPORTED_TYPES:
            stat.error = f"unsupported rule type {rule.type}"
        elif rule.detection_method not in SUPPORTED_METHODS:
            stat.error = f"detection method {rule.detection_method} is not supported yet"
        else:
            return plan_rule(rule, plan)
    except HindsightError as exc:
        stat.error = str(exc)
    finally:
        stat.seconds += time.perf_counter() - began
    return None


def _scan(
    source: LogSource,
    plan: ScanPlan,
    low: int | None,
    high: int | None,
    progress: _Progress,
    stop: Callable[[], bool],
) -> tuple[pl.DataFrame, int, bool]:
    """The plan's rows of `[low, high)`, the events scanned, and whether it was stopped."""
    slices = source.slices(low, high)
    parts: list[pl.DataFrame] = []
    scanned = 0
    for number, (slice_low, slice_high) in enumerate(slices, start=1):
        if stop():
            break
        frame = source.scan(slice_low, slice_high)
        part, count = source.collect_all(
            [plan.apply(frame), frame.select(pl.len())], slice_low, slice_high
        )
        parts.append(part)
        scanned += int(count.item())
        progress.report(SCAN_SHARE * number / len(slices))
    if len(parts) < len(slices):
        return plan.apply(source.scan(low, high)).clear().collect(), scanned, True
    return pl.concat(parts), scanned, False


def _detect(
    rule: RulePlan,
    scanned: pl.DataFrame,
    source: LogSource,
    job_id: str | None,
    stat: RuleStats,
    step: ProgressCallback,
    keep_matches: bool = False,
) -> list[JobResult]:
    """The rule's results; `step` is told the fraction of this rule's work done."""
    rows = scanned.filter(pl.any_horizontal([query.flag for query in rule.queries]))
    for query in rule.queries:
        stat.events_matched[query.name] = int(rows[query.flag].sum())
    if keep_matches:
        flags = [pl.col(query.flag).alias(query.name) for query in rule.queries]
        stat.matches = rows.select("id", TIME, *flags)
    frame = matches(rule, rows)
    step(DETECTION_STEPS[0])
    if frame.height == 0:
        return []
    evaluated = matched_cases(rule, instants(rule, frame))
    step(DETECTION_STEPS[1])
    options = rule.rule.options
    signals = form_signals(
        matched_instants(rule, evaluated, frame),
        keep_alive_ms=options.keepAlive * 1000,
        max_duration_ms=options.maxSignalDuration * 1000,
    )
    step(DETECTION_STEPS[2])
    results = build_results(rule, frame, evaluated, signals, source, job_id=job_id)
    step(DETECTION_STEPS[3])
    return results
