"""A run's pending results, partition after partition, finished at the end with the sample logs
of all of them read in ONE pass over the run's source.

Each partition's detections leave results pending their sample logs (`PendingResults`). A run
in several partitions pickles each partition's batch to a temporary file (the run's source by
reference, not by value) and keeps only its sample ids; once every partition is detected, the
logs of all sample ids are read in one pass (`LogSource.logs_frame`, kept in a temporary Arrow
file when the batches are), and the batches are finished one after the other into the run's
`ResultSpill`.
"""

from __future__ import annotations

import io
import os
import pickle
import time
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.archive.frame import frame_to_events
from engine.detect.assemble import PendingResults
from engine.results.result import JobResult
from engine.results.spill import ResultSpill
from engine.run.planned import PlannedRule
from engine.scan.scratch import Scratch
from engine.scan.source import LogSource

__all__ = ["PendingBatches", "finish"]

Found = list[tuple[PlannedRule, PendingResults]]
_SOURCE = "source"  # the persistent id of the run's source in a pickled batch


@dataclass
class _Batch:
    """One partition's pending results: its rules, and its pendings (or the file holding them)."""

    rules: list[PlannedRule]
    pending: list[PendingResults] | None
    path: str | None
    sample_ids: list[str]
    span: tuple[int, int] | None  # the earliest and just after the latest time of its samples


class PendingBatches(Scratch):
    """Pending results of a run's partitions over `source`, in memory or, `to_disk`, pickled to
    a temporary folder (removed by `finish` or `close`, or when collected; a context
    manager)."""

    def __init__(self, source: LogSource, *, to_disk: bool) -> None:
        super().__init__("hindsight-pending-", wanted=to_disk)
        self._source = source
        self._batches: list[_Batch] = []

    def add(self, found: Found) -> None:
        """One partition's pending results."""
        wanted = [item for _, item in found if item.signals and item.source is self._source]
        ids = [log_id for item in wanted for log_id in item.sample_ids]
        span = (min(i.low for i in wanted), max(i.high for i in wanted)) if wanted else None
        rules = [planned for planned, _ in found]
        pending: list[PendingResults] | None = [item for _, item in found]
        path = None
        if self.folder is not None:
            path = self.path(f"batch-{len(self._batches)}.pickle")
            with open(path, "wb") as handle:
                _Pickler(handle, self._source).dump(pending)
            pending = None
        self._batches.append(_Batch(rules, pending, path, ids, span))

    def finish(self, spill: ResultSpill) -> None:
        """Read the sample logs of every batch in one pass, and add each batch's finished
        results to `spill`."""
        spans = [batch.span for batch in self._batches if batch.span is not None]
        ids = [log_id for batch in self._batches for log_id in batch.sample_ids]
        logs: pl.LazyFrame | None = None
        if ids:
            read = self._source.logs_frame(
                ids, min(lo for lo, _ in spans), max(h for _, h in spans)
            )
            logs = read.lazy()
            if self.folder is not None:  # kept on disk, read batch by batch
                path = self.path("samples.arrow")
                read.write_ipc(path)
                logs = pl.scan_ipc(path)
            del read
        with self:
            while self._batches:
                batch = self._batches.pop(0)
                pending = batch.pending if batch.pending is not None else self._load(batch)
                by_id = {} if logs is None else _logs_of(logs, batch.sample_ids)
                found = list(zip(batch.rules, pending, strict=True))
                spill.add(finish(found, self._source, by_id))
                del batch, pending, found, by_id  # before the next batch is read

    def close(self) -> None:
        """Drop the batches and remove their temporary files (if any)."""
        self._batches.clear()
        super().close()

    def _load(self, batch: _Batch) -> list[PendingResults]:
        assert batch.path is not None
        with open(batch.path, "rb") as handle:
            pending: list[PendingResults] = _Unpickler(handle, self._source).load()
        os.remove(batch.path)
        return pending


def _logs_of(logs: pl.LazyFrame, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The full logs of `ids` among the rows `logs`, keyed by id."""
    wanted = pl.Series("ids", list(set(ids)), dtype=pl.String())
    mine = logs.filter(pl.col("id").is_in(wanted.implode())).collect()
    return {event["id"]: event for event in frame_to_events(mine)}


class _Pickler(pickle.Pickler):
    """Pickles the run's source by reference."""

    def __init__(self, handle: io.BufferedWriter, source: LogSource) -> None:
        super().__init__(handle, pickle.HIGHEST_PROTOCOL)
        self._source = source

    def persistent_id(self, obj: Any) -> str | None:
        return _SOURCE if obj is self._source else None


class _Unpickler(pickle.Unpickler):
    """Reads a batch back, with the run's source for its reference."""

    def __init__(self, handle: io.BufferedReader, source: LogSource) -> None:
        super().__init__(handle)
        self._source = source

    def persistent_load(self, pid: Any) -> LogSource:
        if pid != _SOURCE:
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return self._source


def finish(found: Found, source: LogSource, logs: dict[str, dict[str, Any]]) -> list[JobResult]:
    """The rules' results, with the sample logs of those read from `source` taken from `logs`
    (results whose samples are not logs read theirs where their method says)."""
    results: list[JobResult] = []
    for planned, item in found:
        began = time.perf_counter()
        done = item.finish(
            logs
            if item.source is source
            else item.source.logs_by_id(item.sample_ids, item.low, item.high)
        )
        stat = planned.stat
        stat.results += len(done)
        for result in done:
            stat.results_by_severity[result.severity] = (
                stat.results_by_severity.get(result.severity, 0) + 1
            )
        stat.seconds += time.perf_counter() - began
        results.extend(done)
    return results
