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
4. Results: each partition's results are finished (samples, messages) when it is detected and
   streamed to temporary files (`engine.results.spill`); the run's results are their merge by
   time, read back lazily, with per-rule statistics (`JobRun`).

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

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from engine.core.times import parse_time
from engine.detect.tables import ReferenceTables
from engine.results.manifest import result_counts, run_manifest
from engine.results.outcome import JobRun, RuleStats
from engine.results.result import JobResult
from engine.run.cluster import connect, on_cluster
from engine.run.job import Job, RuleInput, TimeInput, as_rules
from engine.run.local import run_here
from engine.run.progress import Progress, ProgressCallback
from engine.scan.backends.base import ClusterBackend, ScanBackend
from engine.scan.backends.local import LocalBackend
from engine.scan.source import LogSource

__all__ = ["ProgressCallback", "RuleInput", "TimeInput", "as_rules", "run"]


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
    tracker = Progress(progress)
    began = time.perf_counter()
    loaded = as_rules(rules)
    source = LogSource.of(logs, index, format=format, timestamp_field=timestamp_field)
    low = None if start is None else parse_time(start)
    high = None if end is None else parse_time(end)
    job = Job(loaded, source, low, high, index, job_id, strict, keep_matches, tables, results)
    job.options = {"format": format, "timestamp_field": timestamp_field}
    if cluster is not None and backend is not None:
        raise ValueError("run takes a backend or a cluster, not both")
    if cluster is not None:
        with connect(cluster) as connected:
            found = on_cluster(job, connected, tracker, stop)
    elif isinstance(backend, ClusterBackend):
        found = on_cluster(job, backend, tracker, stop)
    else:
        found = run_here(job, backend or LocalBackend(), tracker, stop)
    return _outcome(job, *found, max_results, began, tracker)


def _outcome(
    job: Job,
    found: Sequence[JobResult],
    stats: list[RuleStats],
    events_scanned: int,
    cancelled: bool,
    scan_low: int | None,
    max_results: int | None,
    began: float,
    tracker: Progress,
) -> JobRun:
    """The run's outcome: its results (sorted by time; the first `max_results`), and manifest."""
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
