"""Reading an archive: choose files by time, unify their types, scan lazily.

`open_archive(root).scan(index, start=..., end=...)` returns a polars LazyFrame over the events of
`[start, end)` with the index's unified schema. Files are chosen from the manifest's per-file time
ranges, row groups are pruned by Parquet statistics, and only the columns a query needs are read
(polars pushes projections and the time filter into the scan). A damaged file (one whose footer
cannot be read) fails only the scans of its partition's hour, naming it; `info` lists it. The root
is a local folder or an `s3://bucket/prefix` (`storage.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow.parquet as pq

from engine.archive.frame import BASE_SCHEMA, TIMESTAMP_DTYPE
from engine.archive.layout import (
    HOUR_MS,
    MANIFEST_NAME,
    index_folder,
    list_indexes,
    partition_start,
)
from engine.archive.manifest import FileEntry, IndexManifest
from engine.archive.schema import Schema, conform
from engine.archive.storage import Storage
from engine.core.errors import ArchiveError

if TYPE_CHECKING:
    from polars._typing import ParallelStrategy


@dataclass(frozen=True)
class IndexInfo:
    """Size figures of one index."""

    name: str
    events: int
    files: int
    bytes: int
    min_ts: int | None
    max_ts: int | None
    columns: int
    damaged: tuple[str, ...] = ()  # why each damaged file cannot be read (skipped)


class Archive:
    """A Parquet log archive rooted at a folder or object-store prefix (see `layout.py`)."""

    def __init__(self, root: str | Path | Storage) -> None:
        self.storage = Storage.of(root)
        self.storage.check()
        self._manifests: dict[str, IndexManifest] = {}

    @property
    def root(self) -> str:
        """The archive's root as named: a local path or `s3://bucket/prefix`."""
        return self.storage.root

    def __repr__(self) -> str:
        return f"Archive({self.root!r})"

    def absolute(self) -> Archive:
        """The archive named so that any process finds it (a local path from `/`)."""
        return Archive(self.storage.absolute())

    def folder(self, index: str) -> Storage:
        """The folder of one index."""
        return index_folder(self.storage, index)

    def indexes(self) -> list[str]:
        """Names of the indexes in the archive."""
        return list_indexes(self.storage)

    def manifest(self, index: str = "main") -> IndexManifest:
        """The reconciled manifest of an index (raises `ArchiveError` for an unknown index)."""
        cached = self._manifests.get(index)
        if cached is None:
            folder = self.folder(index)
            if not folder.is_dir():
                known = ", ".join(self.indexes()) or "none"
                raise ArchiveError(
                    f"index {index!r} does not exist in archive {self.root} (indexes: {known})"
                )
            cached = self._manifests[index] = IndexManifest.load(folder)
        return cached

    def schema(self, index: str = "main") -> Schema:
        """The unified column types of an index."""
        return {**BASE_SCHEMA, **self.manifest(index).schema}

    def info(self, index: str = "main") -> IndexInfo:
        """Events, files, bytes, time range and column count of an index."""
        manifest = self.manifest(index)
        entries = manifest.files.values()
        lows = [entry.min_ts for entry in entries if entry.min_ts is not None]
        highs = [entry.max_ts for entry in entries if entry.max_ts is not None]
        return IndexInfo(
            name=index,
            events=manifest.rows,
            files=len(manifest.files),
            bytes=manifest.bytes,
            min_ts=min(lows) if lows else None,
            max_ts=max(highs) if highs else None,
            columns=len(self.schema(index)),
            damaged=tuple(manifest.damaged.values()),
        )

    def files(
        self, index: str = "main", *, start: int | None = None, end: int | None = None
    ) -> list[FileEntry]:
        """The files that may hold events of `[start, end)` (epoch ms), in time order."""
        chosen = [
            entry
            for entry in self.manifest(index).files.values()
            if (start is None or entry.max_ts is None or entry.max_ts >= start)
            and (end is None or entry.min_ts is None or entry.min_ts < end)
        ]
        return sorted(chosen, key=lambda entry: (entry.min_ts or 0, entry.path))

    def check_files(
        self, index: str = "main", *, start: int | None = None, end: int | None = None
    ) -> None:
        """Read every file of `[start, end)` in full; raise `ArchiveError` naming a bad one.

        Used after a failed scan, to say which file is corrupt.
        """
        folder = self.folder(index)
        for entry in self.files(index, start=start, end=end):
            try:
                with folder.open(entry.path) as handle:
                    pq.read_table(handle)
            except (OSError, ValueError) as exc:
                raise ArchiveError(
                    f"corrupt archive file {folder.url(entry.path)}: {exc}"
                ) from None

    def scan(
        self,
        index: str = "main",
        *,
        start: int | None = None,
        end: int | None = None,
        files: Sequence[FileEntry] | None = None,
        selective: bool = False,
    ) -> pl.LazyFrame:
        """A LazyFrame of the events with `start <= timestamp < end` (epoch ms; None = open).

        `selective`: the query keeps few rows, so its filter is evaluated first and only the kept
        rows of the other columns are decoded (polars' `prefiltered` Parquet reading).
        """
        parallel: ParallelStrategy = "prefiltered" if selective else "auto"
        schema = self.schema(index)
        folder = self.folder(index)
        chosen = self.files(index, start=start, end=end) if files is None else list(files)
        gone = set(self.manifest(index).missing)
        for entry in chosen:
            if entry.path in gone:
                raise ArchiveError(
                    f"archive file {folder.url(entry.path)} is missing: restore it, or delete "
                    f"{folder.url(MANIFEST_NAME)} to accept that its events are gone"
                )
        for name, reason in self.manifest(index).damaged.items():
            if _hour_meets(name, start, end):
                raise ArchiveError(reason)
        plain = [folder.url(entry.path) for entry in chosen if not entry.deviations]
        frames: list[pl.LazyFrame] = []
        if plain:
            frames.append(
                pl.scan_parquet(
                    plain,
                    schema=schema,
                    missing_columns="insert",
                    extra_columns="ignore",
                    hive_partitioning=False,
                    parallel=parallel,
                    storage_options=folder.options,
                )
            )
        manifest = self.manifest(index)
        for entry in chosen:
            if entry.deviations:
                own = {**schema, **manifest.file_schema(entry)}
                frames.append(
                    pl.scan_parquet(
                        folder.url(entry.path),
                        schema=own,
                        missing_columns="insert",
                        extra_columns="ignore",
                        hive_partitioning=False,
                        parallel=parallel,
                        storage_options=folder.options,
                    ).select(conform(own, schema))
                )
        if not frames:
            return pl.LazyFrame(schema=schema)
        frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")
        return frame.filter(time_filter(start, end))


def _hour_meets(name: str, start: int | None, end: int | None) -> bool:
    """Whether the partition hour of a data file meets `[start, end)` (False when unknown)."""
    try:
        low = partition_start(name.rsplit("/", 1)[0])
    except ValueError:
        return False
    return (start is None or low + HOUR_MS > start) and (end is None or low < end)


def time_filter(start: int | None, end: int | None) -> pl.Expr:
    """`start <= timestamp < end` on the archive's timestamp column (None bounds are open)."""
    condition = pl.lit(True)
    if start is not None:
        condition &= pl.col("timestamp") >= pl.lit(start).cast(TIMESTAMP_DTYPE)
    if end is not None:
        condition &= pl.col("timestamp") < pl.lit(end).cast(TIMESTAMP_DTYPE)
    return condition


def open_archive(root: str | Path | Archive) -> Archive:
    """An `Archive` for a folder or an `s3://bucket/prefix` (an `Archive` is returned as is)."""
    return root if isinstance(root, Archive) else Archive(root)


_READ_ERRORS = (OSError, pl.exceptions.ComputeError, pl.exceptions.SchemaError)


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Run a lazy archive query; a file that cannot be read becomes an `ArchiveError`."""
    try:
        return frame.collect()
    except _READ_ERRORS as exc:
        raise ArchiveError(f"cannot read the archive: {exc}") from None


def collect_all(frames: Sequence[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Run several lazy archive queries together (shared work); errors as in `collect`."""
    try:
        return pl.collect_all(frames)
    except _READ_ERRORS as exc:
        raise ArchiveError(f"cannot read the archive: {exc}") from None
