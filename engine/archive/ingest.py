"""`ingest`: exported logs of any supported format -> an archive index.

Inputs are read as a stream of canonical events (`formats.read_events`), written in chunks by an
`ArchiveWriter` (bounded memory, de-duplicated by event id), and summarised in an `IngestReport`
that names every rejected line by file and line number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.archive.event import LogEvent, distinguish_repeats
from engine.archive.formats import FORMATS, Rejected, read_events
from engine.archive.sources import expand_sources
from engine.archive.storage import Storage
from engine.archive.writer import DEFAULT_BUFFER_BYTES, ArchiveWriter
from engine.core.errors import IngestError

CHUNK_EVENTS = 20_000
MAX_REPORTED_REJECTIONS = 1000


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
) -> IngestReport:
    """Ingest files or folders of exported logs into `archive_root`'s index `index` (a local
    folder or an `s3://bucket/prefix`, `engine.archive.storage`).

    Re-ingesting the same input adds nothing (events are de-duplicated by id). Malformed lines are
    skipped and listed in the report; they never stop the rest of a file.
    """
    if format not in FORMATS:
        raise IngestError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    started = time.perf_counter()
    paths = [sources] if isinstance(sources, str | Path) else list(sources)
    if not paths:
        raise IngestError("nothing to ingest: give at least one file or folder")
    inputs = expand_sources(paths)
    report = IngestReport(Storage.of(archive_root).root, index)
    state = IngestProgress(files_total=len(inputs), bytes_total=sum(f.size for f in inputs))
    notify = progress or (lambda _state: None)
    chunk: list[LogEvent] = []
    with ArchiveWriter(archive_root, index, buffer_bytes=buffer_bytes) as writer:
        for source in inputs:
            state.current = source.name
            notify(state)
            items = read_events(source, format=format, timestamp_field=timestamp_field)
            for item in _with_rejections(items, report):
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


def _with_rejections(
    items: Iterable[LogEvent | Rejected], report: IngestReport
) -> Iterator[LogEvent]:
    """The events of one input, repeats told apart; rejected lines go into the report."""

    def events() -> Iterator[LogEvent]:
        for item in items:
            if isinstance(item, Rejected):
                report.rejected += 1
                if len(report.rejections) < MAX_REPORTED_REJECTIONS:
                    report.rejections.append(item)
            else:
                yield item

    return distinguish_repeats(events())
