"""`run`: rules over logs -> the job results the live rules would have produced.

This is the one place a job is orchestrated: plan -> scan -> detect -> results.

1. Plan: each rule's detection method (`engine.detect.base.method_for`) compiles it and registers
   its filters and columns in ONE `ScanPlan` shared by the batch; it also says how far before
   `start` it must read (`lookback_ms`).
2. Scan: a `ScanBackend` (in-process polars by default) reads the plan's rows once for all rules,
   from the earliest instant a rule needs to `end`, in time slices, so progress follows the scan.
3. Detect: each rule's rows (its own range only) go through `engine.detect.pipeline.detect_rule`:
   matches, the method's instants, the signal lifecycle, the results. Methods that read the other
   rules' results (`after_others`) run last.
4. Results: every rule's results, sorted by time, with per-rule statistics (`JobRun`).

On a cluster (`run(..., cluster=...)`, a `ClusterBackend`), the run is split in tasks, one per
hash partition of the signal key, each the steps above for its partition on a worker
(`_run_task`); the client adds up their results and statistics, then detects the rules that read
the others' results (docs/distributed.md).

A rule that cannot run (an unsupported type or method, a bad query against this data) is reported
in its statistics and does not stop the others (unless `strict`).

Progress covers the whole job: the scan takes the first `SCAN_SHARE` of it, detection and result
assembly the rest, rule by rule in proportion to the rows each rule reads; 1.0 is reported once,
when the run is over.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine.archive.reader import Archive
from engine.core.errors import HindsightError, UnsupportedRuleError
from engine.core.times import parse_time
from engine.detect.assemble import PendingResults
from engine.detect.base import DetectContext, DetectionMethod, method_for
from engine.detect.pipeline import RuleDetection, detect_rule
from engine.detect.prepare import RulePlan, signal_key_positions
from engine.results.outcome import JobRun, RuleStats
from engine.results.result import JobResult
from engine.rules.loader import load_rule, load_rules
from engine.rules.models import JobDefinition, Rule
from engine.scan.backends.base import ClusterBackend, ScanBackend, Scanned
from engine.scan.backends.local import LocalBackend
from engine.scan.plan import TIME, Partition, ScanPlan
from engine.scan.source import LogSource

#: The share of a run's progress given to the scan (detection and result assembly: the rest).
SCAN_SHARE = 0.5

RuleInput = Rule | JobDefinition | Mapping[str, Any] | str | Path
TimeInput = int | str | datetime | None
ProgressCallback = Callable[[float], None]


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


@dataclass
class _Planned:
    """One rule of the run, planned (`plan` None when it cannot run: `stat.error` says why)."""

    stat: RuleStats
    method: DetectionMethod | None = None
    plan: RulePlan | None = None
    low: int | None = None  # the first instant the rule reads
    buckets: list[str] | None = None  # per query, its partition column (None: read whole)

    @property
    def reads(self) -> tuple[object, ...]:
        """What the rule's rows and matches frame depend on (rules alike share them)."""
        assert self.plan is not None
        queries = [
            (q.index, q.flag, q.keys, q.distinct, q.metric, q.optional) for q in self.plan.queries
        ]
        return (tuple(queries), self.plan.arity, self.low, tuple(self.buckets or ()))

    @property
    def after_others(self) -> bool:
        """Whether the rule's method reads the other rules' results (it runs last)."""
        return self.method is not None and self.method.after_others

    def rows(
        self, scanned: pl.DataFrame, scan_low: int | None, partition: Partition | None
    ) -> pl.DataFrame | None:
        """The scanned rows some query of the rule matched, within the rule's own range and
        partition (None: the rule has no rows in this partition)."""
        assert self.plan is not None
        flags = [query.flag for query in self.plan.queries]
        if partition is not None and self.buckets is not None:
            own = [
                (pl.col(flag) & (pl.col(bucket) == partition.number)).alias(flag)
                for flag, bucket in zip(flags, self.buckets, strict=True)
            ]
            scanned = scanned.with_columns(own)
        elif partition is not None and partition.number > 0:
            return None
        mine = pl.any_horizontal(flags)
        if self.low is not None and scan_low is not None and scan_low < self.low:
            mine = mine & (pl.col(TIME) >= self.low)
        return scanned.filter(mine)

    def partition(self, plan: ScanPlan, count: int) -> None:
        """Read the rule by hash partitions of its signal key when that is exact (a per-group
        method, every query grouped by scalar values), else whole."""
        assert self.plan is not None and self.method is not None
        rule = self.plan
        positions = signal_key_positions(rule)
        exact = (
            self.method.per_group
            and not self.method.after_others
            and positions
            and all(len(query.keys) == rule.arity for query in rule.queries)
            and len({query.flag for query in rule.queries}) == len(rule.queries)
            and not any(isinstance(plan.dtype(k), pl.List) for q in rule.queries for k in q.keys)
        )
        if not exact:
            for query in rule.queries:
                plan.keep_whole(query.flag)
            return
        self.buckets = [
            plan.partition_by(query.flag, [query.keys[p] for p in positions], count)
            for query in rule.queries
        ]


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
    backend: ScanBackend | ClusterBackend | None = None,
    cluster: Any = None,
) -> JobRun:
    """Run rules over logs: an archive path, an opened `Archive`, or a list of log dicts.

    Log dicts are read as `ingest` reads records of `format` (the same choices; `auto` detects it
    from the first one, so raw CloudTrail records get Datadog's remap), with `timestamp_field` as
    there. `start`/`end` bound event time as `[start, end)` (aware datetimes, epoch ms, RFC 3339 or
    relative text); None means the whole archive. `progress` is told the fraction of the job done
    (monotonic; 1.0 once the run is over); `should_stop` is asked between time slices and between
    rules, and a True answer ends the run with the results found so far (`cancelled`). With
    `max_results`, only the first results by time are kept and the run says it was `truncated`.
    With `strict`, a rule that cannot run raises `UnsupportedRuleError` before the scan. `backend`
    runs the scan (default: in this process, `LocalBackend`). `cluster` runs the job on a Dask
    cluster (a `distributed.Client`, a scheduler address `tcp://host:8786`, or `local:N` for a
    LocalCluster of N worker processes; needs the `dask` extra), with the same results.
    """
    began = time.perf_counter()
    source = LogSource.of(logs, index, format=format, timestamp_field=timestamp_field)
    job = _Job(
        as_rules(rules),
        source,
        None if start is None else parse_time(start),
        None if end is None else parse_time(end),
        job_id,
        strict,
        keep_matches,
    )
    tracker = _Progress(progress)
    stop = should_stop or (lambda: False)
    if cluster is not None:
        if backend is not None:
            raise ValueError("run takes a backend or a cluster, not both")
        try:
            from engine.scan.backends.dask import connect  # noqa: PLC0415 (Dask: on demand)
        except ImportError as exc:
            raise HindsightError(
                f"a run on a cluster needs Dask: pip install 'hindsight[dask]' ({exc})"
            ) from exc
        with connect(cluster) as on_cluster:
            outcome = _on_cluster(job, on_cluster, tracker, stop)
    elif isinstance(backend, ClusterBackend):
        outcome = _on_cluster(job, backend, tracker, stop)
    else:
        outcome = _in_process(job, backend or LocalBackend(), tracker, stop)
    results, stats, scanned, cancelled = outcome
    results.sort(key=lambda result: (result.timestamp, result.rule_name, result.id))
    truncated = max_results is not None and len(results) > max_results
    if truncated:
        results = results[:max_results]
    seconds = time.perf_counter() - began
    if not cancelled:
        tracker.finish()
    return JobRun(results, stats, job.low, job.high, scanned, seconds, cancelled, truncated)


@dataclass(frozen=True)
class _Job:
    """What a run was asked: its rules over `[low, high)` of `source` (what a task is sent)."""

    rules: list[Rule]
    source: LogSource
    low: int | None
    high: int | None
    job_id: str | None
    strict: bool
    keep_matches: bool

    def plan(self) -> tuple[ScanPlan, list[_Planned], int | None]:
        """The rules planned in one scan plan, and the first instant the scan reads."""
        plan = ScanPlan(self.source.schema)
        planned: list[_Planned] = []
        for rule in self.rules:
            planned.append(_plan(rule, plan, self.low))
            if self.strict and planned[-1].stat.error is not None:
                error = planned[-1].stat.error
                raise UnsupportedRuleError(f"rule {rule.name!r} cannot run: {error}")
        lows = [item.low for item in planned if item.low is not None]
        return plan, planned, None if self.low is None else min([self.low, *lows])


#: What a run found: its results, per-rule statistics, events scanned, and whether it stopped.
_Outcome = tuple[list[JobResult], list[RuleStats], int, bool]


def _in_process(
    job: _Job, backend: ScanBackend, tracker: _Progress, stop: Callable[[], bool]
) -> _Outcome:
    """The run in this process: partition after partition, then the rules that read the
    others' results."""
    plan, planned, scan_low = job.plan()
    count = 1 if job.keep_matches else backend.partitions(job.source, scan_low, job.high)
    for item in planned:
        if count > 1 and item.plan is not None:
            item.partition(plan, count)
    found = _partitions(job, plan, planned, scan_low, backend, range(count), count, tracker, stop)
    results, later, scanned, cancelled = found
    if later and not cancelled:
        share = _Share(tracker, count - 1, count)
        cancelled = _detect_later(job, later, results, share, stop)
    return results, [item.stat for item in planned], scanned, cancelled


def _partitions(
    job: _Job,
    plan: ScanPlan,
    planned: list[_Planned],
    scan_low: int | None,
    backend: ScanBackend,
    numbers: Sequence[int],
    count: int,
    tracker: _Progress,
    stop: Callable[[], bool],
) -> tuple[list[JobResult], list[tuple[_Planned, pl.DataFrame]], int, bool]:
    """Partitions `numbers` of `count`, scanned and detected in turn: their results (with
    samples), the rows of the rules that run after the others, the events scanned, and whether
    the run was stopped."""
    source, high, keep_matches = job.source, job.high, job.keep_matches
    cancelled = False
    events = 0
    results: list[JobResult] = []
    pending: list[tuple[_Planned, PendingResults]] = []
    later: list[tuple[_Planned, pl.DataFrame]] = []  # methods reading the others' results: last
    for number in numbers:
        partition = Partition(number, count) if count > 1 else None
        share = _Share(tracker, number, count)
        scanned = backend.scan(
            source,
            plan,
            scan_low,
            high,
            progress=share.scanned,
            should_stop=stop,
            partition=partition,
        )
        cancelled = cancelled or scanned.stopped
        if number == numbers[0]:
            events = scanned.events_scanned
            for item in planned:
                item.stat.events_scanned = scanned.events_scanned
        runnable = [item for item in planned if item.plan is not None and not cancelled]

        def rows_of(
            item: _Planned, scanned: Scanned = scanned, partition: Partition | None = partition
        ) -> pl.DataFrame | None:
            return item.rows(scanned.rows, scan_low, partition)

        later += [
            (item, rows)
            for item in runnable
            if item.after_others
            for rows in [rows_of(item)]
            if rows is not None
        ]
        now = [item for item in runnable if not item.after_others]
        found, stopped = _detect_all(
            now, scanned.rows, rows_of, source, results, job.job_id, share, stop, keep_matches
        )
        cancelled = cancelled or stopped
        pending += found
    results.extend(_finish(pending, source))
    return results, later, events, cancelled


def _detect_later(
    job: _Job,
    later: list[tuple[_Planned, pl.DataFrame]],
    results: list[JobResult],
    share: _Share,
    stop: Callable[[], bool],
) -> bool:
    """The rules that read the others' `results`, over their rows (their results are added to
    `results`); whether the run was stopped."""
    kept = {id(item): rows for item, rows in later}
    found, cancelled = _detect_all(
        [item for item, _ in later],
        pl.DataFrame(),
        lambda item: kept.get(id(item)),
        job.source,
        results,
        job.job_id,
        share,
        stop,
        job.keep_matches,
    )
    results.extend(_finish(found, job.source))
    return cancelled


@dataclass(frozen=True)
class _Task:
    """What every task of a run on a cluster is sent: the job, and its number of partitions."""

    job: _Job
    count: int


@dataclass(frozen=True)
class _TaskOutcome:
    """What a task hands back: its results (documents with their samples), its rules'
    statistics, and the events it scanned."""

    results: list[JobResult]
    stats: list[RuleStats]
    events_scanned: int


def _run_task(task: _Task, number: int) -> _TaskOutcome:
    """Partition `number` of a run on a cluster, on a worker: the rules (but those reading the
    others' results) over the partition's rows, with the local engine."""
    plan, planned, scan_low = task.job.plan()
    for item in planned:
        if task.count > 1 and item.plan is not None:
            item.partition(plan, task.count)
    results, _, events, _ = _partitions(
        task.job,
        plan,
        planned,
        scan_low,
        LocalBackend(),
        [number],
        task.count,
        _Progress(None),
        lambda: False,
    )
    return _TaskOutcome(results, [item.stat for item in planned], events)


def _on_cluster(
    job: _Job, backend: ClusterBackend, tracker: _Progress, stop: Callable[[], bool]
) -> _Outcome:
    """The run on a cluster: one task per partition; then, here, the rules that read the
    others' results (over rows scanned here). Progress: the share of tasks done."""
    plan, planned, scan_low = job.plan()
    count = 1 if job.keep_matches else backend.partitions(job.source, scan_low, job.high)
    later = [item for item in planned if item.after_others]
    source = job.source
    if source.archive is not None:  # workers may start elsewhere: the root from /
        source = LogSource(
            source.schema, None, Archive(source.archive.root.absolute()), source.index
        )
    on_workers = [item for item in planned if not item.after_others]
    rules = [rule for rule, item in zip(job.rules, planned, strict=True) if not item.after_others]
    task = _Task(replace(job, rules=rules, source=source), count)
    results: list[JobResult] = []
    events = 0
    done = 0
    for _, outcome in backend.map(_run_task, task, count, should_stop=stop):
        results += outcome.results
        events = outcome.events_scanned
        for item, stat in zip(on_workers, outcome.stats, strict=True):
            _add(item.stat, stat)
        done += 1
        tracker.report(done / count)
    cancelled = done < count
    if later and not cancelled:
        scanned = LocalBackend().scan(
            job.source, plan, scan_low, job.high, progress=lambda _: None, should_stop=stop
        )
        rows = []
        for item in later:
            item.stat.events_scanned = scanned.events_scanned
            found = item.rows(scanned.rows, scan_low, None)
            rows += [] if found is None else [(item, found)]
        share = _Share(tracker, count - 1, count)
        cancelled = scanned.stopped or _detect_later(job, rows, results, share, stop)
    return results, [item.stat for item in planned], events, cancelled


def _add(total: RuleStats, part: RuleStats) -> None:
    """Add a task's statistics of a rule to the run's."""
    total.events_scanned = part.events_scanned
    for name, matched in part.events_matched.items():
        total.events_matched[name] = total.events_matched.get(name, 0) + matched
    total.results += part.results
    for severity, found in part.results_by_severity.items():
        total.results_by_severity[severity] = total.results_by_severity.get(severity, 0) + found
    total.seconds += part.seconds
    total.error = total.error or part.error
    total.matches = part.matches if part.matches is not None else total.matches


@dataclass
class _Share:
    """Partition `number` of `count`'s share of a run's progress."""

    tracker: _Progress
    number: int
    count: int

    def report(self, fraction: float) -> None:
        """`fraction` of the partition's work is done."""
        self.tracker.report((self.number + fraction) / self.count)

    def scanned(self, fraction: float) -> None:
        """`fraction` of the partition's scan is done."""
        self.report(SCAN_SHARE * fraction)


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


def _detect_all(
    items: list[_Planned],
    scanned: pl.DataFrame,
    rows_of: Callable[[_Planned], pl.DataFrame | None],
    source: LogSource,
    results: list[JobResult],
    job_id: str | None,
    share: _Share,
    stop: Callable[[], bool],
    keep_matches: bool,
) -> tuple[list[tuple[_Planned, PendingResults]], bool]:
    """Rules' detection over their rows (`rows_of`, taken one rule at a time), rule by rule,
    progress in proportion to the scanned rows each reads; their results pending their samples,
    and whether the run was stopped."""
    weights = _weights(items, scanned)
    total = sum(weights) or 1
    done = 0
    found: list[tuple[_Planned, PendingResults]] = []
    # rules reading the same rows the same way, one after the other, share rows and matches frame
    order = sorted(range(len(items)), key=lambda number: repr(items[number].reads))
    last: tuple[object, pl.DataFrame | None, pl.DataFrame | None] = (None, None, None)
    for number in order:
        item, weight = items[number], weights[number]
        if stop():
            return found, True

        def step(fraction: float, before: int = done, weight: int = weight) -> None:
            share.report(SCAN_SHARE + (1 - SCAN_SHARE) * (before + weight * fraction) / total)

        if last[0] != item.reads:
            last = (item.reads, rows_of(item), None)
        rows, frame = last[1], last[2]
        detection = (
            None
            if rows is None
            else _detect(item, rows, frame, source, results, job_id, step, keep_matches)
        )
        done += weight
        if detection is not None and detection.pending is not None:
            last = (last[0], rows, detection.matches)
            found.append((item, detection.pending))
    return found, False


def _weights(items: list[_Planned], scanned: pl.DataFrame) -> list[int]:
    """Each rule's share of the detection work: the scanned rows its queries matched (>= 1)."""
    if not items or scanned.width == 0:
        return [1] * len(items)
    counts = scanned.select(
        pl.any_horizontal([q.flag for q in item.plan.queries]).sum().alias(str(number))
        for number, item in enumerate(items)
        if item.plan is not None
    ).row(0)
    return [max(1, int(count)) for count in counts]


def _detect(
    item: _Planned,
    rows: pl.DataFrame,
    frame: pl.DataFrame | None,
    source: LogSource,
    results: list[JobResult],
    job_id: str | None,
    step: Callable[[float], None],
    keep_matches: bool,
) -> RuleDetection | None:
    """One rule's detection over its scanned rows (and matches `frame`, when known), its results
    pending their samples (None, and the error in its statistics, when it failed)."""
    assert item.plan is not None and item.method is not None
    began = time.perf_counter()
    stat = item.stat
    try:
        for query in item.plan.queries:
            matched = int(rows[query.flag].sum())
            stat.events_matched[query.name] = stat.events_matched.get(query.name, 0) + matched
        if keep_matches:
            flags = [pl.col(query.flag).alias(query.name) for query in item.plan.queries]
            stat.matches = rows.select("id", TIME, *flags)
        return detect_rule(
            item.method,
            item.plan,
            rows,
            source,
            context=DetectContext(results),
            job_id=job_id,
            step=step,
            samples=False,
            frame=frame,
        )
    except HindsightError as exc:
        stat.error = str(exc)
        return None
    finally:
        stat.seconds += time.perf_counter() - began


def _finish(pending: list[tuple[_Planned, PendingResults]], source: LogSource) -> list[JobResult]:
    """The rules' results, with the sample logs of all of them read in one pass."""
    wanted = [item for _, item in pending if item.signals]
    logs = (
        source.logs_by_id(
            [log_id for item in wanted for log_id in item.sample_ids],
            min(item.low for item in wanted),
            max(item.high for item in wanted),
        )
        if wanted
        else {}
    )
    results: list[JobResult] = []
    for planned, item in pending:
        began = time.perf_counter()
        found = item.finish(logs)
        stat = planned.stat
        stat.results += len(found)
        for result in found:
            stat.results_by_severity[result.severity] = (
                stat.results_by_severity.get(result.severity, 0) + 1
            )
        stat.seconds += time.perf_counter() - began
        results.extend(found)
    return results


def _plan(rule: Rule, plan: ScanPlan, low: int | None) -> _Planned:
    """The rule planned by its detection method, or its error (an unsupported type or method,
    a query that does not compile)."""
    began = time.perf_counter()
    planned = _Planned(RuleStats(rule.name, rule.detection_method))
    try:
        method = method_for(rule)
        planned.plan = method.plan(rule, plan)
        planned.method = method
        planned.low = None if low is None else low - method.lookback_ms(rule)
    except HindsightError as exc:
        planned.stat.error = str(exc)
    finally:
        planned.stat.seconds += time.perf_counter() - began
    return planned
