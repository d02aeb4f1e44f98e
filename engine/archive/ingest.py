"""`ingest`: exported logs of any supported format -> an archive index.

Each input is read as a stream of archive frames (`file_pieces`: native frames of its blocks,
and chunks of canonical events laid out as columns), written by an `ArchiveWriter` (bounded
memory, de-duplicated by event id), and summarised in an `IngestReport` that names every rejected
line by file and line number. With several cores, worker processes lay out the blocks of large
inputs and read small inputs whole, a few ahead (`parallel.BlockPool`); this process writes
everything in input order, so the archive is the same whatever the number of workers.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.archive.event import LogEvent, distinguish_repeats
from engine.archive.formats import FORMATS, Layout, Rejected, lay_out_blocks, read_batches
from engine.archive.frame import events_to_frame
from engine.archive.parallel import BlockPool, default_jobs, from_ipc, to_ipc
from engine.archive.sources import InputFile, expand_sources
from engine.archive.storage import Storage
from engine.archive.writer import DEFAULT_BUFFER_BYTES, ArchiveWriter
from engine.core.errors import IngestError

CHUNK_EVENTS = 20_000
MAX_REPORTED_REJECTIONS = 1000
#: Input size (on disk) from which worker processes are used.
PARALLEL_BYTES = 8 << 20
#: Inputs smaller than this (on disk) are read whole by a worker ...
POOL_FILE_BYTES = 2 << 20
#: ... and such inputs are enough to start the workers when they take this much.
POOL_BYTES = 1 << 20


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
    skipped and listed in the report; they never stop the rest of a file. When the input is
    large, `jobs` worker processes (default: one per core) lay out blocks of NDJSON and read
    small files whole; the archive is the same whatever `jobs`.
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
    read = Reading(format, timestamp_field)
    parallel = jobs > 1 and (
        state.bytes_total >= PARALLEL_BYTES
        or sum(f.size for f in inputs if f.size < POOL_FILE_BYTES) >= POOL_BYTES
    )
    with (
        no_cyclic_gc(),
        BlockPool(jobs) if parallel else nullcontext(None) as pool,
        ArchiveWriter(archive_root, index, buffer_bytes=buffer_bytes) as writer,
    ):
        for source, pieces in read.inputs(inputs, pool):
            state.current = source.name
            notify(state)
            for piece in pieces:
                if isinstance(piece, Rejected):
                    report.rejected += 1
                    if len(report.rejections) < MAX_REPORTED_REJECTIONS:
                        report.rejections.append(piece)
                    continue
                report.events_read += piece.height
                writer.write_frame(piece)
                state.events_read, state.rejected = report.events_read, report.rejected
                notify(state)
            state.files_done += 1
            state.bytes_done += source.size
            state.events_read, state.rejected = report.events_read, report.rejected
            notify(state)
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


Piece = pl.DataFrame | Rejected


def file_pieces(
    source: InputFile,
    *,
    format: str,
    timestamp_field: str | None,
    layout: Layout = lay_out_blocks,
) -> Iterator[Piece]:
    """One input as archive frames, in order (native frames, and runs of up to `CHUNK_EVENTS`
    other events laid out by `frame.events_to_frame`), with its rejected lines. Repeats of an
    id-less event are told apart within the input."""
    chunk: list[LogEvent] = []
    items = read_batches(source, format=format, timestamp_field=timestamp_field, layout=layout)
    for item in _told_apart(items):
        if isinstance(item, Rejected):
            yield item
        elif isinstance(item, pl.DataFrame):
            if chunk:
                yield events_to_frame(chunk)
                chunk = []
            yield item
        else:
            chunk.append(item)
            if len(chunk) >= CHUNK_EVENTS:
                yield events_to_frame(chunk)
                chunk = []
    if chunk:
        yield events_to_frame(chunk)


@dataclass(frozen=True)
class Reading:
    """How inputs are read: their format and timestamp field."""

    format: str
    timestamp_field: str | None

    def pieces(self, source: InputFile, layout: Layout = lay_out_blocks) -> Iterator[Piece]:
        """`file_pieces` of `source`."""
        return file_pieces(
            source, format=self.format, timestamp_field=self.timestamp_field, layout=layout
        )

    def whole(self, source: InputFile) -> list[bytes | Rejected]:
        """The pieces of a whole (small) input, frames as Arrow IPC bytes (run by a worker)."""
        with no_cyclic_gc():
            return [p if isinstance(p, Rejected) else to_ipc(p) for p in self.pieces(source)]

    def inputs(
        self, inputs: Sequence[InputFile], pool: BlockPool | None
    ) -> Iterator[tuple[InputFile, Iterable[Piece]]]:
        """Each input with its pieces, in input order. With a pool, inputs under
        `POOL_FILE_BYTES` are read whole by its workers, a few ahead; the others are read here,
        their blocks laid out by the pool."""
        if pool is None:
            for source in inputs:
                yield source, self.pieces(source)
            return
        ahead: deque[tuple[InputFile, Future[list[bytes | Rejected]] | None]] = deque()
        for source in inputs:
            small = source.size < POOL_FILE_BYTES
            ahead.append((source, pool.submit(self.whole, source) if small else None))
            while ahead and (len(ahead) > pool.ahead or ahead[0][1] is None):
                yield self._taken(*ahead.popleft(), pool)
        while ahead:
            yield self._taken(*ahead.popleft(), pool)

    def _taken(
        self, source: InputFile, future: Future[list[bytes | Rejected]] | None, pool: BlockPool
    ) -> tuple[InputFile, Iterable[Piece]]:
        if future is None:
            return source, self.pieces(source, layout=pool)
        return source, [p if isinstance(p, Rejected) else from_ipc(p) for p in future.result()]


def _told_apart(
    items: Iterable[pl.DataFrame | LogEvent | Rejected],
) -> Iterator[pl.DataFrame | LogEvent | Rejected]:
    """The items of one input, repeats of id-less events told apart. Frames hold no content
    ids (`columnar`), so they need no telling apart."""
    events: list[LogEvent] = []
    repeats = distinguish_repeats(_drain(events))
    for item in items:
        if isinstance(item, Rejected | pl.DataFrame):
            yield item
        else:
            events.append(item)
            yield next(repeats)


def _drain(events: list[LogEvent]) -> Iterator[LogEvent]:
    """Hand out the events appended to `events`, one per `next` (feeds `distinguish_repeats`)."""
    while True:
        yield events.pop()
