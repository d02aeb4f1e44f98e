"""`run`: rules over logs -> the job results the live rules would have produced.

This is the one place a job is orchestrated: plan -> scan -> detect -> results.

1. Plan: each rule's detection method (`engine.detect.base.method_for`) compiles it and registers
   its filters and columns in ONE `ScanPlan` shared by the batch (with the run's reference
   tables); it also says how far before `start` it must read (`lookback_ms`).
2. Scan: a `ScanBackend` (in-process polars by default) reads the plan's rows once for all rules,
   from the earliest instant a rule needs to `end`, in time slices, so progress follows the scan.
3. Detect: each rule's rows (its own range only) go through `engine.detect.pipeline.detect_rule`:
   matches, the method's instants, the signal lifecycle, the results. Methods that read the other
   rules' results (`after_others`: signal correlation) run last, each after the rules it reads
   (a cycle is an error of the rules in it), with the earlier results the run was given.
4. Results: every rule's results, sorted by time, with per-rule statistics (`JobRun`).

On a cluster (`run(..., cluster=...)`, a `ClusterBackend`), the run is split in tasks, one per
hash partition of the signal key, each this same run restricted to its partition on a worker
(`_run_task`); the client adds up their results and statistics, then runs the rules that read the
others' results over them (docs/distributed.md).

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
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine.core.errors import HindsightError, UnsupportedRuleError
from engine.core.times import parse_time
from engine.detect.assemble import PendingResults
from engine.detect.base import DetectContext, DetectionMethod, PlanContext, method_for
from engine.detect.order import rule_ids, run_order
from engine.detect.pipeline import RuleDetection, detect_rule
from engine.detect.prepare import RulePlan, signal_key_positions
from engine.detect.tables import ReferenceTables
from engine.results.manifest import result_counts, run_manifest
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
        """What the rule's rows and matches frame depend on: rules alike share them (only threshold
        rules, the default matches frame of a generic plan, no calculated fields, are alike)."""
        assert self.plan is not None and self.method is not None
        generic = type(self.method).matches is DetectionMethod.matches and self.method.per_group
        if not generic or self.plan.calculated:
            return (id(self),)
        queries = [
            (q.index, q.flag, q.keys, q.distinct, q.metric, q.optional) for q in self.plan.queries
        ]
        kind = type(self.method).__name__
        return (kind, tuple(queries), self.plan.arity, self.low, tuple(self.buckets or ()))

    @property
    def after_others(self) -> bool:
        """Whether the rule's method reads the other rules' results (it runs last)."""
        return self.method is not None and self.method.after_others

    def rows(
        self, scanned: pl.DataFrame, scan_low: int | None, partition: Partition | None = None
    ) -> pl.DataFrame | None:
        """The scanned rows some query of the rule matched, within the rule's own range and
        partition (none for a rule that reads no logs; None: the rule has no rows in this
        partition)."""
        assert self.plan is not None
        flags = [query.flag for query in self.plan.queries if query.flag]
        if partition is not None and self.buckets is not None:
            own = [
                (pl.col(flag) & (pl.col(bucket) == partition.number)).alias(flag)
                for flag, bucket in zip(flags, self.buckets, strict=True)
            ]
            scanned = scanned.with_columns(own)
        elif partition is not None and partition.number > 0:
            return None
        mine = pl.any_horizontal(flags) if flags else pl.lit(False)
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
            and all(query.flag and len(query.keys) == rule.arity for query in rule.queries)
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
    tables: str | Path | Mapping[str, pl.DataFrame] | ReferenceTables | None = None,
    results: Sequence[JobResult] = (),
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
    runs the scan (default: in this process, `LocalBackend`). `tables` are the reference tables
    (a folder of CSV/Parquet files, or frames by name); `results` are earlier results (of other
    jobs) that the run's signal_correlation rules may correlate besides the run's own. `cluster`
    runs the job on a Dask cluster (a `distributed.Client`, a scheduler address `tcp://host:8786`,
    or `local:N` for a LocalCluster of N worker processes; needs the `dask` extra), with the same
    results.
    """
    stop = should_stop or (lambda: False)
    tracker = _Progress(progress)
    began = time.perf_counter()
    loaded = as_rules(rules)
    source = LogSource.of(logs, index, format=format, timestamp_field=timestamp_field)
    low = None if start is None else parse_time(start)
    high = None if end is None else parse_time(end)
    job = _Job(loaded, source, low, high, index, job_id, strict, keep_matches, tables, results)
    job.options = {"format": format, "timestamp_field": timestamp_field}
    if cluster is not None and backend is not None:
        raise ValueError("run takes a backend or a cluster, not both")
    if cluster is not None:
        with _connect(cluster) as connected:
            found = _on_cluster(job, connected, tracker, stop)
    elif isinstance(backend, ClusterBackend):
        found = _on_cluster(job, backend, tracker, stop)
    else:
        found = _here(job, backend or LocalBackend(), tracker, stop)
    return _outcome(job, *found, max_results, began, tracker)


#: What a run found before its outcome is made: its results (unsorted), its rules' statistics,
#: the events it scanned, whether it was cancelled, and the first instant it read.
_Found = tuple[list[JobResult], list[RuleStats], int, bool, int | None]


def _here(job: _Job, backend: ScanBackend, tracker: _Progress, stop: Callable[[], bool]) -> _Found:
    """The job in this process: plan, scan partition by partition, detect, read the samples;
    the rules that read the others' results last."""
    loaded, source, low, high = job.rules, job.source, job.low, job.high
    results, keep_matches, job_id = job.results, job.keep_matches, job.job_id
    plan = ScanPlan(source.schema)
    context = PlanContext(
        ReferenceTables.of(job.tables),
        rule_ids(loaded) | {result.rule_id for result in results if result.rule_id},
    )
    planned: list[_Planned] = []
    for rule in loaded:
        planned.append(_plan(rule, plan, low, context))
        if job.strict and planned[-1].stat.error is not None:
            raise UnsupportedRuleError(f"rule {rule.name!r} cannot run: {planned[-1].stat.error}")
    lows = [item.low for item in planned if item.low is not None]
    scan_low = None if low is None else min([low, *lows])
    count = 1 if keep_matches else backend.partitions(source, scan_low, high)
    for item in planned:
        if count > 1 and item.plan is not None:
            item.partition(plan, count)
    order, cyclic = run_order(loaded, [item.method for item in planned])
    for number in cyclic:
        planned[number].stat.error = "it reads the results of rules that read its own (a cycle)"
        planned[number].plan = None
    cancelled = False
    found_so_far: list[JobResult] = []
    pending: list[tuple[_Planned, PendingResults]] = []
    later: list[tuple[_Planned, pl.DataFrame]] = []  # methods reading the others' results: last
    events_scanned = 0
    numbers = backend.numbers(count)
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
            events_scanned = scanned.events_scanned
            for item in planned:
                item.stat.events_scanned = scanned.events_scanned
        runnable = [planned[n] for n in order if planned[n].plan is not None and not cancelled]

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
        known = DetectContext(list(results), low, high)
        found, stopped = _detect_all(
            now, scanned.rows, rows_of, source, known, job_id, share, stop, keep_matches
        )
        cancelled = cancelled or stopped
        pending += found
    found_so_far.extend(_finish(pending, source))
    for item, rows in later:  # in run order: each reads the results of those before it
        if cancelled or stop():
            cancelled = True
            break
        share = _Share(tracker, count - 1, count)
        known = DetectContext([*results, *found_so_far], low, high)
        found, _ = _detect_all(
            [item], rows, _Fixed(rows), source, known, job_id, share, stop, keep_matches
        )
        found_so_far.extend(_finish(found, source))
    return found_so_far, [item.stat for item in planned], events_scanned, cancelled, scan_low


@dataclass
class _Job:
    """What a run was asked (what a task of a run on a cluster is sent)."""

    rules: list[Rule]
    source: LogSource
    low: int | None
    high: int | None
    index: str
    job_id: str | None
    strict: bool
    keep_matches: bool
    tables: Any
    results: Sequence[JobResult]
    options: dict[str, Any] = field(default_factory=dict)  # format, timestamp_field (manifest)


def _by_time(results: list[JobResult]) -> None:
    """Sort results by time (then rule and id), in place: the order of a run's results."""
    results.sort(key=lambda result: (result.timestamp, result.rule_name, result.id))


def _outcome(
    job: _Job,
    found: list[JobResult],
    stats: list[RuleStats],
    events_scanned: int,
    cancelled: bool,
    scan_low: int | None,
    max_results: int | None,
    began: float,
    tracker: _Progress,
) -> JobRun:
    """The run's outcome: its results sorted by time (the first `max_results`), and manifest."""
    _by_time(found)
    truncated = max_results is not None and len(found) > max_results
    kept = found[:max_results] if truncated else found
    seconds = time.perf_counter() - began
    if not cancelled:
        tracker.finish()
    outcome = JobRun(kept, stats, job.low, job.high, events_scanned, seconds, cancelled, truncated)
    outcome.logs = job.source
    outcome.manifest = run_manifest(
        job.rules,
        job.source,
        start=job.low,
        end=job.high,
        scanned_from=scan_low,
        options={
            "index": job.index,
            **job.options,
            "max_results": max_results,
            "job_id": job.job_id,
        },
        tables=ReferenceTables.of(job.tables).record(
            table.tableName for rule in job.rules for table in rule.referenceTables or []
        ),
        results=result_counts(
            kept, cancelled=cancelled, truncated=truncated, events_scanned=outcome.events_scanned
        ),
    )
    return outcome


def _connect(cluster: Any) -> ClusterBackend:
    """The Dask backend on `cluster` (Dask is imported here only: `engine.scan.backends.dask`)."""
    try:
        from engine.scan.backends.dask import connect  # noqa: PLC0415 (Dask: on demand)
    except ImportError as exc:
        raise HindsightError(
            f"a run on a cluster needs Dask: pip install 'hindsight[dask]' ({exc})"
        ) from exc
    return connect(cluster)


class _OnePartition(LocalBackend):
    """The local backend reading only partition `number` of `count` (a task's run)."""

    def __init__(self, number: int, count: int) -> None:
        super().__init__(partitions=count)
        self._number = number

    def numbers(self, count: int) -> Sequence[int]:
        return [self._number]


@dataclass(frozen=True)
class _Task:
    """What every task of a run on a cluster is sent: the job, and its number of partitions."""

    job: _Job
    count: int


@dataclass(frozen=True)
class _TaskOutcome:
    """What a task hands back: its results (documents with their samples), its rules'
    statistics, the events it scanned, and the first instant it read."""

    results: list[JobResult]
    stats: list[RuleStats]
    events_scanned: int
    scanned_from: int | None


def _run_task(task: _Task, number: int) -> _TaskOutcome:
    """Partition `number` of a run on a cluster, on a worker: the run, for that partition only
    (no manifest: the client makes the run's)."""
    found, stats, events_scanned, _, scanned_from = _here(
        task.job, _OnePartition(number, task.count), _Progress(None), lambda: False
    )
    _by_time(found)
    return _TaskOutcome(found, stats, events_scanned, scanned_from)


def _after_others(rule: Rule) -> bool:
    """Whether the rule's method reads the other rules' results (unknown methods: no)."""
    try:
        return method_for(rule).after_others
    except HindsightError:
        return False


def _on_cluster(
    job: _Job, backend: ClusterBackend, tracker: _Progress, stop: Callable[[], bool]
) -> _Found:
    """The run on a cluster: one task per partition; then, here, the rules that read the
    others' results, over them. Progress: the share of tasks done."""
    later = [number for number, rule in enumerate(job.rules) if _after_others(rule)]
    on_workers = [rule for number, rule in enumerate(job.rules) if number not in later]
    source = job.source
    if source.archive is not None:  # workers may start elsewhere: the root from /
        source = LogSource(source.schema, None, source.archive.absolute(), source.index)
    count = 1 if job.keep_matches else backend.partitions(source, job.low, job.high)
    task = _Task(replace(job, rules=on_workers, source=source), count)
    found: list[JobResult] = []
    stats = [RuleStats(rule.name, rule.detection_method) for rule in on_workers]
    events, scanned_from, done = 0, job.low, 0
    for _, outcome in backend.map(_run_task, task, count, should_stop=stop):
        found += outcome.results
        events, scanned_from = outcome.events_scanned, outcome.scanned_from
        for total, part in zip(stats, outcome.stats, strict=True):
            _add(total, part)
        done += 1
        tracker.report(done / count)
    cancelled = done < count
    after: list[RuleStats] = []
    if later:
        rest = replace(
            job, rules=[job.rules[number] for number in later], results=[*job.results, *found]
        )
        more, after, _, stopped, _ = _here(
            rest, LocalBackend(), _Progress(None), lambda: cancelled or stop()
        )
        found += more
        cancelled = cancelled or stopped
    merged = iter(stats)
    ordered = iter(after)
    in_order = [next(ordered) if n in later else next(merged) for n in range(len(job.rules))]
    return found, in_order, events, cancelled, scanned_from


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
class _Fixed:
    """The same rows for any rule."""

    rows: pl.DataFrame

    def __call__(self, item: _Planned) -> pl.DataFrame:
        return self.rows


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
    context: DetectContext,
    job_id: str | None,
    share: _Share,
    stop: Callable[[], bool],
    keep_matches: bool,
) -> tuple[list[tuple[_Planned, PendingResults]], bool]:
    """Rules' detection over their rows (`rows_of`, taken one rule at a time), rule by rule,
    progress in proportion to the scanned rows each reads; their results pending their samples,
    and whether the run was stopped."""
    weights = _weights(items, scanned) if scanned.width else [1] * len(items)
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
            else _detect(item, rows, frame, source, context, job_id, step, keep_matches)
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
        pl.any_horizontal([q.flag for q in item.plan.queries if q.flag] or [pl.lit(False)])
        .sum()
        .alias(str(number))
        for number, item in enumerate(items)
        if item.plan is not None
    ).row(0)
    return [max(1, int(count)) for count in counts]


def _detect(
    item: _Planned,
    rows: pl.DataFrame,
    frame: pl.DataFrame | None,
    source: LogSource,
    context: DetectContext,
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
            matched = int(rows[query.flag].sum()) if query.flag else 0
            stat.events_matched[query.name] = stat.events_matched.get(query.name, 0) + matched
        if keep_matches:
            flags = [
                pl.col(query.flag).alias(query.name) for query in item.plan.queries if query.flag
            ]
            stat.matches = rows.select("id", TIME, *flags)
        return detect_rule(
            item.method,
            item.plan,
            rows,
            source,
            context=context,
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
    """The rules' results, with the sample logs of all of them read in one pass (results whose
    samples are not logs read theirs where their method says)."""
    wanted = [item for _, item in pending if item.signals and item.source is source]
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
        found = item.finish(
            logs
            if item.source is source
            else item.source.logs_by_id(item.sample_ids, item.low, item.high)
        )
        stat = planned.stat
        stat.results += len(found)
        for result in found:
            stat.results_by_severity[result.severity] = (
                stat.results_by_severity.get(result.severity, 0) + 1
            )
        stat.seconds += time.perf_counter() - began
        results.extend(found)
    return results


def _plan(rule: Rule, plan: ScanPlan, low: int | None, context: PlanContext) -> _Planned:
    """The rule planned by its detection method, or its error (an unsupported type or method,
    a query that does not compile, a missing reference table)."""
    began = time.perf_counter()
    planned = _Planned(RuleStats(rule.name, rule.detection_method))
    try:
        method = method_for(rule)
        planned.plan = method.plan(rule, plan, context)
        planned.method = method
        planned.low = None if low is None else low - method.lookback_ms(rule)
    except HindsightError as exc:
        planned.stat.error = str(exc)
    finally:
        planned.stat.seconds += time.perf_counter() - began
    return planned
