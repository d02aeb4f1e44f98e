"""`ingest`: exported logs of any supported format -> an archive index.

Inputs are read as a stream of canonical events (`formats.read_events`), written in chunks by an
`ArchiveWriter` (bounded memory, de-duplicated by event id), and summarised in an `IngestReport`
that names every rejected line by file and line number.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.archive.event import LogEvent, distinguish_repeats
from engine.archive.formats import FORMATS, Rejected, lay_out_blocks, read_batches
from engine.archive.parallel import BlockPool, default_jobs
from engine.archive.sources import expand_sources
from engine.archive.storage import Storage
from engine.archive.writer import DEFAULT_BUFFER_BYTES, ArchiveWriter
from engine.core.errors import IngestError

CHUNK_EVENTS = 20_000
MAX_REPORTED_REJECTIONS = 1000
#: Input size (on disk) from which NDJSON blocks are laid out by worker processes.
PARALLEL_BYTES = 8 << 20


@dataclass
class IngestProgress:
    """Where an ingest stands; passed to the progress callback after each chunk and file."""

    files_total: int
    bytes_total: int
    files_done: int = 0
    bytes_done: int = 0
    events_read: int = 0
    rejected: int = 0
    current: str = ""


@dataclass
class IngestReport:
    """The outcome of one ingest."""

    archive: str  # the archive root: a local path or `s3://bucket/prefix`
    index: str
    files: int = 0
    bytes_read: int = 0
    events_read: int = 0
    events_written: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[Rejected] = field(default_factory=list)
    partitions: int = 0
    files_written: int = 0
    bytes_written: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Events read per second of wall time."""
        return self.events_read / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_million_events(self) -> float:
        """Parquet bytes written per million events written."""
        return self.bytes_written * 1e6 / self.events_written if self.events_written else 0.0


ProgressCallback = Callable[[IngestProgress], None]


def ingest(
    sources: str | Path | Sequence[str | Path],
    archive_root: str | Path,
    *,
    index: str = "main",
    format: str = "auto",
    timestamp_field: str | None = None,
    progress: ProgressCallback | None = None,
    buffer_bytes: int = DEFAULT_BUFFER_BYTES,
    jobs: int | None = None,
) -> IngestReport:
    """Ingest files or folders of exported logs into `archive_root`'s index `index` (a local
    folder or an `s3://bucket/prefix`, `engine.archive.storage`).

    Re-ingesting the same input adds nothing (events are de-duplicated by id). Malformed lines are
    skipped and listed in the report; they never stop the rest of a file. Blocks of NDJSON are
    laid out by `jobs` worker processes (default: one per core) when the input is large; the
    archive is the same whatever `jobs`.
    """
    if format not in FORMATS:
        raise IngestError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise IngestError(f"jobs must be at least 1, not {jobs}")
    started = time.perf_counter()
    paths = [sources] if isinstance(sources, str | Path) else list(sources)
    if not paths:
        raise IngestError("nothing to ingest: give at least one file or folder")
    inputs = expand_sources(paths)
    report = IngestReport(Storage.of(archive_root).root, index)
    state = IngestProgress(files_total=len(inputs), bytes_total=sum(f.size for f in inputs))
    notify = progress or (lambda _state: None)
    chunk: list[LogEvent] = []
    parallel = jobs > 1 and state.bytes_total >= PARALLEL_BYTES
    with (
        no_cyclic_gc(),
        BlockPool(jobs) if parallel else nullcontext(lay_out_blocks) as layout,
        ArchiveWriter(archive_root, index, buffer_bytes=buffer_bytes) as writer,
    ):
        for source in inputs:
            state.current = source.name
            notify(state)
            items = read_batches(
                source, format=format, timestamp_field=timestamp_field, layout=layout
            )
            for item in _with_rejections(items, report):
                if isinstance(item, pl.DataFrame):
                    report.events_read += len(chunk) + item.height
                    writer.write(chunk)
                    writer.write_frame(item)
                    chunk = []
                    state.events_read, state.rejected = report.events_read, report.rejected
                    notify(state)
                    continue
                chunk.append(item)
                if len(chunk) >= CHUNK_EVENTS:
                    report.events_read += len(chunk)
                    writer.write(chunk)
                    chunk = []
                    state.events_read, state.rejected = report.events_read, report.rejected
                    notify(state)
            state.files_done += 1
            state.bytes_done += source.size
            state.events_read = report.events_read + len(chunk)
            state.rejected = report.rejected
            notify(state)
        report.events_read += len(chunk)
        writer.write(chunk)
    summary = writer.summary
    report.files = len(inputs)
    report.bytes_read = state.bytes_total
    report.events_written = summary.events
    report.duplicates = summary.duplicates
    report.partitions = len(summary.partitions)
    report.files_written = summary.files
    report.bytes_written = summary.bytes
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many objects without cycles are alive (its
    passes over every batch of parsed records cost about a third of ingest); reference counting
    still frees everything, so memory stays bounded by the batch size."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _with_rejections(
    items: Iterable[pl.DataFrame | LogEvent | Rejected], report: IngestReport
) -> Iterator[pl.DataFrame | LogEvent]:
    """The events (and frames of events) of one input, repeats told apart; rejected lines go
    into the report. Frames hold no content ids (`columnar`), so they need no telling apart."""
    events: list[LogEvent] = []
    repeats = distinguish_repeats(_drain(events))
    for item in items:
        if isinstance(item, Rejected):
            report.rejected += 1
            if len(report.rejections) < MAX_REPORTED_REJECTIONS:
                report.rejections.append(item)
        elif isinstance(item, pl.DataFrame):
            yield item
        else:
            events.append(item)
            yield next(repeats)


def _drain(events: list[LogEvent]) -> Iterator[LogEvent]:
    """Hand out the events appended to `events`, one per `next` (feeds `distinguish_repeats`)."""
    while True:
        yield events.pop()
