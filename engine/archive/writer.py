"""Writing events into an archive index: hour partitions, de-duplication, sorted Parquet files.

Events arrive in chunks, are laid out as columns (`frame.events_to_frame`) and buffered per hour
partition as Arrow data. When the buffer passes its memory budget, the largest partitions are
flushed: duplicates (same event id already in the partition or earlier in the batch) are dropped,
rows are sorted by time, and a zstd Parquet file with statistics is written atomically. Memory is
bounded by the budget whatever the input size. One writer per index at a time (a file lock; in an
object store, which has no locks, keeping to one writer is up to the user).
"""

from __future__ import annotations

import fcntl
import hashlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import polars as pl

from engine.archive.event import LogEvent
from engine.archive.frame import BASE_SCHEMA, events_to_frame
from engine.archive.layout import HOUR_MS, LOCK_NAME, check_index_name, index_folder, partition_of
from engine.archive.manifest import IndexManifest, widen
from engine.archive.schema import Schema, conform, normalize_dtype, ordered, unify, unify_schemas
from engine.archive.storage import Storage
from engine.core.columns import RAW_COLUMN
from engine.core.errors import ArchiveError

DEFAULT_BUFFER_BYTES = 256 * 1024 * 1024
#: Threads writing partition files when the writer closes.
WRITE_THREADS = 2
ROW_GROUP_SIZE = 50_000
#: zstd's default level, as polars writes: level 9 saves 8% of the bytes for 3x the CPU time
ZSTD_LEVEL = 3
#: long free text gains nothing from min/max statistics; every other column keeps them
_NO_STATISTICS = frozenset({RAW_COLUMN, "message"})


@dataclass
class WriteSummary:
    """What a writer did: events written, duplicates skipped, files and partitions touched."""

    events: int = 0
    duplicates: int = 0
    files: int = 0
    bytes: int = 0
    partitions: set[str] = field(default_factory=set)


class ArchiveWriter:
    """Append events to one index of an archive (use as a context manager)."""

    def __init__(
        self, root: str | Path, index: str = "main", *, buffer_bytes: int = DEFAULT_BUFFER_BYTES
    ) -> None:
        self.storage = Storage.of(root)
        self.root = self.storage.root
        self.index = check_index_name(index)
        self.folder = index_folder(self.storage, index)
        self.buffer_bytes = buffer_bytes
        self.summary = WriteSummary()
        self._buffers: dict[str, list[pl.DataFrame]] = {}
        self._buffered = 0
        self._lock: IO[bytes] | None = None
        self._manifest: IndexManifest | None = None

    def __enter__(self) -> ArchiveWriter:
        self.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(flush=kind is None)

    def open(self) -> None:
        """Create the index folder, take its lock (local) and load its manifest."""
        if self.storage.remote:
            self.storage.check(folder=False)  # its bucket, reachable with the credentials
            self._manifest = IndexManifest.load(self.folder)
            return
        try:
            self.folder.make_folder()
            self._lock = open(self.folder.url(LOCK_NAME), "ab")  # noqa: SIM115 - held until close
        except OSError as exc:
            raise ArchiveError(f"cannot write to archive {self.root}: {exc.strerror}") from None
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise ArchiveError(
                f"index {self.index!r} of {self.root} is being written by another process"
            ) from None
        self._manifest = IndexManifest.load(self.folder)

    @property
    def manifest(self) -> IndexManifest:
        """The index manifest (the writer must be open)."""
        if self._manifest is None:
            raise RuntimeError("ArchiveWriter used before open()")
        return self._manifest

    def write(self, events: Sequence[LogEvent]) -> None:
        """Buffer a chunk of events; flush partitions when the memory budget is exceeded."""
        if events:
            self.write_frame(events_to_frame(events))

    def write_frame(self, frame: pl.DataFrame) -> None:
        """Buffer events already laid out as archive columns (`frame.events_to_frame`)."""
        if frame.height == 0:
            return
        hours = frame["timestamp"].dt.epoch("ms") // HOUR_MS
        frame = frame.with_columns(hours.alias("_hour"))
        for (hour,), part in frame.partition_by("_hour", as_dict=True).items():
            piece = _drop_empty_attributes(part.drop("_hour"))
            self._buffers.setdefault(partition_of(int(hour) * HOUR_MS), []).append(piece)
            self._buffered += int(piece.estimated_size())
        while self._buffered > self.buffer_bytes and self._buffers:
            largest = max(self._buffers, key=lambda key: _size(self._buffers[key]))
            self._flush(largest)

    def close(self, *, flush: bool = True) -> WriteSummary:
        """Flush every buffered partition, save the manifest and release the lock."""
        try:
            if flush:
                self._flush_all()
            if self._manifest is not None:
                self._manifest.save()
        finally:
            self._buffers.clear()
            self._buffered = 0
            if self._lock is not None:
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
                self._lock.close()
                self._lock = None
        return self.summary

    def _flush(self, partition: str) -> None:
        frame = self._prepared(partition, self.manifest.schema)
        if frame is not None:
            self._record(partition, frame, self._write_file(partition, frame))

    def _flush_all(self) -> None:
        """Flush every partition in order, writing files on `WRITE_THREADS` threads (the
        Parquet writer releases the GIL). Each partition is typed against the unified schema the
        files before it make, and the manifest records the files in order, so the archive is
        the same as flushing them one by one."""
        unified = self.manifest.schema
        pending: deque[tuple[str, pl.DataFrame, Future[_Written]]] = deque()
        with ThreadPoolExecutor(WRITE_THREADS) as pool:
            for partition in sorted(self._buffers):
                frame = self._prepared(partition, unified)
                if frame is None:
                    continue
                unified, _ = widen(unified, _file_schema(frame))
                pending.append((partition, frame, pool.submit(self._write_file, partition, frame)))
                while len(pending) > WRITE_THREADS or (pending and pending[0][2].done()):
                    done, written, future = pending.popleft()
                    self._record(done, written, future.result())
            for done, written, future in pending:
                self._record(done, written, future.result())

    def _prepared(self, partition: str, unified: Schema) -> pl.DataFrame | None:
        """A partition's buffered events typed against `unified`, without duplicates (of each
        other or of the partition's files), sorted; `None` when nothing is new."""
        pieces = self._buffers.pop(partition)
        self._buffered -= _size(pieces)
        frame = self._combine(pieces, unified)
        before = frame.height
        frame = frame.unique(subset="id", keep="first", maintain_order=True)
        existing = self._existing_ids(partition)
        if existing is not None:
            frame = frame.join(existing, on="id", how="anti")
        self.summary.duplicates += before - frame.height
        if frame.height == 0:
            return None
        return frame.sort("timestamp", "id")

    def _write_file(self, partition: str, frame: pl.DataFrame) -> _Written:
        """Write one partition file; its name, size and SHA-256."""
        self.folder.make_folder(partition)
        first = frame["timestamp"].dt.epoch("ms")[0]
        digest = hashlib.blake2b("\n".join(frame["id"]).encode(), digest_size=6).hexdigest()
        name = f"part-{first}-{digest}.parquet"  # the same events always give the same name
        size, sha256 = self.folder.write_parquet(
            f"{partition}/{name}",
            frame.to_arrow(),
            compression="zstd",
            compression_level=ZSTD_LEVEL,
            row_group_size=ROW_GROUP_SIZE,
            write_statistics=[name for name in frame.columns if name not in _NO_STATISTICS],
            store_schema=False,  # the Parquet types say it all; an Arrow schema copy per file costs
        )
        return _Written(name, size, sha256)

    def _record(self, partition: str, frame: pl.DataFrame, written: _Written) -> None:
        stamps = frame["timestamp"].dt.epoch("ms")
        self.manifest.add_file(
            f"{partition}/{written.name}",
            _file_schema(frame),
            rows=frame.height,
            size=written.size,
            min_ts=int(stamps.min()),  # type: ignore[arg-type]
            max_ts=int(stamps.max()),  # type: ignore[arg-type]
            sha256=written.sha256,
        )
        self.manifest.forget_missing(partition)
        self.summary.events += frame.height
        self.summary.files += 1
        self.summary.bytes += written.size
        self.summary.partitions.add(partition)

    def _combine(self, pieces: list[pl.DataFrame], unified: Schema) -> pl.DataFrame:
        """One frame from the buffered pieces, typed to fit the index's unified schema."""
        target: dict[str, pl.DataType] = {}
        for piece in pieces:
            target = unify_schemas(target, piece.schema)
        for column, dtype in target.items():
            if column in unified:
                target[column] = unify(unified[column], dtype)
        target = ordered(target)
        return pl.concat([piece.select(conform(piece.schema, target)) for piece in pieces])

    def _existing_ids(self, partition: str) -> pl.DataFrame | None:
        gone = set(self.manifest.missing)  # a missing file's events may come back: re-add them
        paths = [
            self.folder.url(name)
            for name in self.manifest.files
            if name.startswith(partition + "/") and name not in gone
        ]
        if not paths:
            return None
        try:
            found = pl.scan_parquet(
                paths, hive_partitioning=False, storage_options=self.folder.options
            )
            return found.select("id").collect()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ArchiveError(f"cannot read existing files of {partition}: {exc}") from None


@dataclass(frozen=True)
class _Written:
    name: str
    size: int
    sha256: str


def _file_schema(frame: pl.DataFrame) -> Schema:
    return {column: normalize_dtype(dtype) for column, dtype in frame.schema.items()}


def _size(pieces: list[pl.DataFrame]) -> int:
    return sum(int(piece.estimated_size()) for piece in pieces)


def _drop_empty_attributes(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop attribute columns with no value in this piece (they belong to other partitions)."""
    counts = frame.null_count().row(0, named=True)
    empty = [
        name for name, nulls in counts.items() if name not in BASE_SCHEMA and nulls == frame.height
    ]
    return frame.drop(empty) if empty else frame
