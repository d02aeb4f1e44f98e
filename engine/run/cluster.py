"""A run on a cluster: the hash partitions of the signal key dealt among a few tasks (about one
or two per worker thread), each the local run of its partitions on a worker, which reads the
range once for all of them (`engine.run.local`). The client finds the run-wide facts the tasks
share first (each rule's first time: `engine.run.first_time`), adds the tasks' results up, then
runs the rules that read the others' results over them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.core.errors import HindsightError
from engine.detect.base import method_for
from engine.results.outcome import RuleStats
from engine.results.result import JobResult
from engine.results.spill import by_time
from engine.rules.models import Rule
from engine.run.job import Job
from engine.run.local import Found, run_here
from engine.run.planned import plan_job
from engine.run.progress import Progress
from engine.scan.backends.base import ClusterBackend
from engine.scan.backends.local import LocalBackend
from engine.scan.source import LogSource


def connect(cluster: Any) -> ClusterBackend:
    """The Dask backend on `cluster` (Dask is imported here only: `engine.scan.backends.dask`)."""
    try:
        from engine.scan.backends.dask import connect  # noqa: PLC0415 (Dask: on demand)
    except ImportError as exc:
        raise HindsightError(
            f"a run on a cluster needs Dask: pip install 'hindsight[dask]' ({exc})"
        ) from exc
    return connect(cluster)


class _SomePartitions(LocalBackend):
    """The local backend reading only partitions `numbers` of `count` (a task's run)."""

    def __init__(self, numbers: Sequence[int], count: int) -> None:
        super().__init__(partitions=count)
        self._numbers = numbers

    def numbers(self, count: int) -> Sequence[int]:
        return self._numbers


@dataclass(frozen=True)
class _Task:
    """What every task of a run on a cluster is sent: the job, its number of partitions, and
    the number of tasks they are dealt among (task `n` runs partitions `n`, `n + tasks`, ...)."""

    job: Job
    count: int
    tasks: int


@dataclass(frozen=True)
class _TaskOutcome:
    """What a task hands back: its results (documents with their samples), its rules'
    statistics, the events it scanned, and the first instant it read."""

    results: list[JobResult]
    stats: list[RuleStats]
    events_scanned: int
    scanned_from: int | None


def _run_task(task: _Task, number: int) -> _TaskOutcome:
    """Task `number` of a run on a cluster, on a worker: the run of its partitions, which reads
    the range once (no manifest: the client makes the run's)."""
    numbers = range(number, task.count, task.tasks)
    found, stats, events_scanned, _, scanned_from = run_here(
        task.job, _SomePartitions(numbers, task.count), Progress(None), lambda: False
    )
    return _TaskOutcome(list(found), stats, events_scanned, scanned_from)


def _after_others(rule: Rule) -> bool:
    """Whether the rule's method reads the other rules' results (unknown methods: no)."""
    try:
        return method_for(rule).after_others
    except HindsightError:
        return False


def on_cluster(
    job: Job, backend: ClusterBackend, tracker: Progress, stop: Callable[[], bool]
) -> Found:
    """The run on a cluster: its partitions dealt among the backend's tasks; then, here, the
    rules that read the others' results, over them. Progress: the share of tasks done."""
    later = [number for number, rule in enumerate(job.rules) if _after_others(rule)]
    on_workers = [rule for number, rule in enumerate(job.rules) if number not in later]
    source = job.source
    if source.archive is not None:  # workers may start elsewhere: the root from / (or a URL)
        source = LogSource(source.schema, None, source.archive.absolute(), source.index)
    count = 1 if job.keep_matches else backend.partitions(source, job.low, job.high)
    tasks = backend.task_count(count)
    sent = replace(job, rules=on_workers, source=source)
    if count > 1:  # the run-wide facts every task must share, found once here
        planned = plan_job(sent, lambda _scan_low: count).rules
        sent = replace(sent, first_times=[item.first_time for item in planned])
    task = _Task(sent, count, tasks)
    found: list[JobResult] = []
    stats = [RuleStats(rule.name, rule.detection_method) for rule in on_workers]
    events, scanned_from, done = 0, job.low, 0
    for _, outcome in backend.map(_run_task, task, tasks, should_stop=stop):
        found += outcome.results
        events, scanned_from = outcome.events_scanned, outcome.scanned_from
        for total, part in zip(stats, outcome.stats, strict=True):
            _add(total, part)
        done += 1
        tracker.report(done / tasks)
    cancelled = done < tasks
    after: list[RuleStats] = []
    if later:
        rest = replace(
            job, rules=[job.rules[number] for number in later], results=[*job.results, *found]
        )
        more, after, _, stopped, _ = run_here(
            rest, LocalBackend(), Progress(None), lambda: cancelled or stop()
        )
        found += more
        cancelled = cancelled or stopped
    merged = iter(stats)
    ordered = iter(after)
    in_order = [next(ordered) if n in later else next(merged) for n in range(len(job.rules))]
    by_time(found)
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
