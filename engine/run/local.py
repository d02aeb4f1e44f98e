"""A run in this process: plan, read the range once into its hash partitions, detect partition by
partition and rule by rule, then finish every partition's results (the sample logs of all of them
read in one pass: `engine.run.samples`) into a `ResultSpill`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import polars as pl

from engine.core.errors import HindsightError
from engine.detect.assemble import PendingResults
from engine.detect.base import DetectContext
from engine.detect.order import run_order
from engine.detect.pipeline import RuleDetection, detect_rule
from engine.results.outcome import RuleStats
from engine.results.result import JobResult
from engine.results.spill import ResultSpill, by_time
from engine.run.job import Job
from engine.run.planned import PlannedRule, plan_job
from engine.run.progress import SCAN_SHARE, Progress, Share
from engine.run.samples import PendingBatches, finish
from engine.scan.backends.base import ScanBackend
from engine.scan.plan import TIME, Partition
from engine.scan.source import LogSource

#: What a run found before its outcome is made: its results (sorted by time), its rules'
#: statistics, the events it scanned, whether it was cancelled, and the first instant it read.
Found = tuple[Sequence[JobResult], list[RuleStats], int, bool, int | None]

__all__ = ["Found", "run_here"]


def run_here(job: Job, backend: ScanBackend, tracker: Progress, stop: Callable[[], bool]) -> Found:
    """The job in this process: plan, read the range once into its partitions, detect partition
    by partition, read the samples of all of them in one pass; the rules that read the others'
    results last."""
    loaded, source, low, high = job.rules, job.source, job.low, job.high
    results, keep_matches, job_id = job.results, job.keep_matches, job.job_id
    planned_job = plan_job(job, lambda scan_low: backend.partitions(source, scan_low, high))
    plan, planned = planned_job.plan, planned_job.rules
    scan_low, count = planned_job.scan_low, planned_job.count
    order, cyclic = run_order(loaded, [item.method for item in planned])
    for number in cyclic:
        planned[number].stat.error = "it reads the results of rules that read its own (a cycle)"
        planned[number].plan = None
    later: list[tuple[PlannedRule, pl.DataFrame]] = []  # methods reading the others' results: last
    numbers = backend.numbers(count)
    scanned = backend.scan(
        source,
        plan,
        scan_low,
        high,
        progress=lambda fraction: tracker.report(SCAN_SHARE * fraction),
        should_stop=stop,
        numbers=numbers,
        count=count,
    )
    cancelled, events_scanned = scanned.stopped, scanned.events_scanned
    for item in planned:
        item.stat.events_scanned = events_scanned
    pending = PendingBatches(source, to_disk=len(numbers) > 1)
    with scanned.parts as parts, pending:
        for index, number in enumerate(numbers):
            if cancelled:
                break
            partition = Partition(number, count) if count > 1 else None
            rows = parts.rows(number)
            runnable = [planned[n] for n in order if planned[n].plan is not None]

            def rows_of(
                item: PlannedRule,
                rows: pl.DataFrame = rows,
                partition: Partition | None = partition,
            ) -> pl.DataFrame | None:
                return item.rows(rows, scan_low, partition)

            later += [
                (item, mine)
                for item in runnable
                if item.after_others
                for mine in [rows_of(item)]
                if mine is not None
            ]
            now = [item for item in runnable if not item.after_others]
            known = DetectContext(list(results), low, high)
            share = Share(tracker, index, len(numbers))
            found, stopped = _detect_all(
                now, rows, rows_of, source, known, job_id, share, stop, keep_matches
            )
            cancelled = cancelled or stopped
            pending.add(found)  # its samples are read with the other partitions'
            del found, rows, rows_of  # before the next partition is read
        spill = ResultSpill(to_disk=len(numbers) > 1)
        pending.finish(spill)
    stats = [item.stat for item in planned]
    if not later:
        return spill.results(), stats, events_scanned, cancelled, scan_low
    found_so_far = list(spill.results())  # the rules reading the others' results read them all
    for item, rows in later:  # in run order: each reads the results of those before it
        if cancelled or stop():
            cancelled = True
            break
        share = Share(tracker, len(numbers) - 1, len(numbers))
        known = DetectContext([*results, *found_so_far], low, high)
        found, _ = _detect_all(
            [item], rows, _Fixed(rows), source, known, job_id, share, stop, keep_matches
        )
        found_so_far.extend(_finish(found, source))
    by_time(found_so_far)
    return found_so_far, stats, events_scanned, cancelled, scan_low


@dataclass
class _Fixed:
    """The same rows for any rule."""

    rows: pl.DataFrame

    def __call__(self, item: PlannedRule) -> pl.DataFrame:
        return self.rows


def _detect_all(
    items: list[PlannedRule],
    scanned: pl.DataFrame,
    rows_of: Callable[[PlannedRule], pl.DataFrame | None],
    source: LogSource,
    context: DetectContext,
    job_id: str | None,
    share: Share,
    stop: Callable[[], bool],
    keep_matches: bool,
) -> tuple[list[tuple[PlannedRule, PendingResults]], bool]:
    """Rules' detection over their rows (`rows_of`, taken one rule at a time), rule by rule,
    progress in proportion to the scanned rows each reads; their results pending their samples,
    and whether the run was stopped."""
    weights = _weights(items, scanned) if scanned.width else [1] * len(items)
    total = sum(weights) or 1
    done = 0
    found: list[tuple[PlannedRule, PendingResults]] = []
    # rules reading the same rows the same way, one after the other, share rows and matches frame
    order = sorted(range(len(items)), key=lambda number: repr(items[number].reads))
    last: tuple[object, pl.DataFrame | None, pl.DataFrame | None] = (None, None, None)
    for number in order:
        item, weight = items[number], weights[number]
        if stop():
            return found, True

        def step(fraction: float, before: int = done, weight: int = weight) -> None:
            share.report((before + weight * fraction) / total)

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


def _weights(items: list[PlannedRule], scanned: pl.DataFrame) -> list[int]:
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
    item: PlannedRule,
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
        if item.first_time is not None:
            context = replace(context, first_time=item.first_time)
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


def _finish(found: list[tuple[PlannedRule, PendingResults]], source: LogSource) -> list[JobResult]:
    """The rules' results, with the sample logs of all of them read in one pass."""
    wanted = [item for _, item in found if item.signals and item.source is source]
    logs = (
        source.logs_by_id(
            [log_id for item in wanted for log_id in item.sample_ids],
            min(item.low for item in wanted),
            max(item.high for item in wanted),
        )
        if wanted
        else {}
    )
    return finish(found, source, logs)
