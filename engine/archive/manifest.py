"""The index manifest: the unified schema and per-file statistics of one archive index.

`_manifest.json` is a cache of what the Parquet footers say, kept so a scan can choose files by
time and convert older files without opening every footer, plus each file's SHA-256, computed
when the file is written (or first seen), which run manifests record (`engine.results.manifest`).
It is reconciled with the files on disk whenever an index is opened: files added by hand are
read, files removed are forgotten, so a lost or stale manifest is never a problem. A file whose
footer cannot be read (a truncated file) is *damaged*: it is skipped with a warning, and only
reads of its partition's hour fail. In an archive written before checksums were kept, a run
computes the SHA-256 of each file it reads (and keeps it for the life of the opened archive).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow.parquet as pq

from engine.archive.layout import MANIFEST_NAME, data_files
from engine.archive.schema import (
    Schema,
    dtype_to_text,
    normalize_dtype,
    ordered,
    schema_from_json,
    schema_to_json,
    unify,
)
from engine.archive.storage import Storage
from engine.core.errors import ArchiveError

MANIFEST_VERSION = 1

log = logging.getLogger("hindsight.archive")


@dataclass
class FileEntry:
    """What the manifest knows of one Parquet file."""

    path: str
    rows: int
    bytes: int
    min_ts: int | None
    max_ts: int | None
    #: columns whose type in this file differs from the index's unified type (converted on read)
    deviations: dict[str, str] = field(default_factory=dict)
    #: SHA-256 of the file's bytes (hex); None in manifests written before checksums were kept
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as stored in `_manifest.json`."""
        data: dict[str, Any] = {
            "rows": self.rows,
            "bytes": self.bytes,
            "min_ts": self.min_ts,
            "max_ts": self.max_ts,
            "deviations": self.deviations,
        }
        if self.sha256 is not None:
            data["sha256"] = self.sha256
        return data


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_footer(folder: Storage, name: str) -> tuple[Schema, int, int | None, int | None]:
    """Schema, row count and timestamp range of one Parquet file of `folder` (raises
    `ArchiveError`)."""
    try:
        with folder.open(name) as handle:
            metadata = pq.read_metadata(handle)
        # polars' types (as `pl.read_parquet_schema`), reading only the footer of an object
        found = pl.scan_parquet(folder.url(name), storage_options=folder.options).collect_schema()
        schema = {column: normalize_dtype(dtype) for column, dtype in found.items()}
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise ArchiveError(f"corrupt archive file {folder.url(name)}: {exc}") from None
    low: int | None = None
    high: int | None = None
    names = metadata.schema.names
    if "timestamp" in names:
        position = names.index("timestamp")
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(position).statistics
            if stats is None or not stats.has_min_max:
                low = high = None
                break
            group_low, group_high = _epoch_ms(stats.min), _epoch_ms(stats.max)
            low = group_low if low is None else min(low, group_low)
            high = group_high if high is None else max(high, group_high)
    return schema, metadata.num_rows, low, high


def _epoch_ms(value: Any) -> int:
    if isinstance(value, datetime):
        return round(value.timestamp() * 1000)
    return int(value)


@dataclass
class IndexManifest:
    """Unified schema and file list of one index folder."""

    folder: Storage
    schema: Schema = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)
    dirty: bool = False
    missing: list[str] = field(default_factory=list)  # listed files no longer on disk
    damaged: dict[str, str] = field(default_factory=dict)  # unreadable files -> the reason

    @classmethod
    def load(cls, folder: Storage) -> IndexManifest:
        """Read `_manifest.json` (if any) and reconcile it with the files on disk."""
        manifest = cls(folder)
        listing = folder.files()  # one listing: no request per file
        if MANIFEST_NAME in listing:
            try:
                data = orjson.loads(folder.read_bytes(MANIFEST_NAME))
                if data.get("version") == MANIFEST_VERSION:
                    manifest.schema = schema_from_json(data["schema"])
                    manifest.files = {
                        name: FileEntry(name, **entry) for name, entry in data["files"].items()
                    }
            except (orjson.JSONDecodeError, KeyError, TypeError, ArchiveError):
                manifest.schema, manifest.files = {}, {}
        manifest.reconcile(listing)
        return manifest

    def reconcile(self, listing: dict[str, int]) -> None:
        """Read the footers of files the manifest does not know; note the ones that are gone.

        `listing`: the folder's files (`Storage.files`).

        A file the manifest lists but the disk lacks is *missing*: reading its time range fails
        naming it (data silently vanishing would make a backtest lie). To remove data on purpose,
        delete its files and `_manifest.json`, which is then rebuilt from what is on disk.
        """
        on_disk = data_files(listing)
        self.missing = sorted(name for name in self.files if name not in on_disk)
        self.damaged = {}
        for name, size in sorted(on_disk.items()):
            entry = self.files.get(name)
            if entry is None or entry.bytes != size:
                try:
                    schema, rows, low, high = read_footer(self.folder, name)
                except ArchiveError as exc:
                    self._damaged(name, str(exc))
                    continue
                self.add_file(name, schema, rows=rows, size=size, min_ts=low, max_ts=high)
        if not self.files and self.schema:
            self.schema, self.dirty = {}, True

    def _damaged(self, name: str, reason: str) -> None:
        """Skip a file whose footer cannot be read (its time range and columns are unknown)."""
        if self.files.pop(name, None) is not None:
            self.dirty = True  # what the manifest knew of it no longer holds
        self.damaged[name] = reason
        log.warning("skipping a damaged archive file (reads of its hour fail): %s", reason)

    def add_file(
        self,
        name: str,
        schema: Schema,
        *,
        rows: int,
        size: int,
        min_ts: int | None,
        max_ts: int | None,
        sha256: str | None = None,
    ) -> None:
        """Record a file, widening the unified schema (and marking older files) if needed.

        `sha256` is computed from the file when not given."""
        self.schema, widened = widen(self.schema, schema)
        if widened:
            self._mark_deviations(widened)
        deviations = {
            column: dtype_to_text(dtype)
            for column, dtype in schema.items()
            if dtype != self.schema[column]
        }
        digest = sha256 or self.folder.sha256(name)
        self.files[name] = FileEntry(name, rows, size, min_ts, max_ts, deviations, digest)
        self.dirty = True

    def _mark_deviations(self, widened: dict[str, pl.DataType]) -> None:
        for entry in self.files.values():
            file_schema, _, _, _ = read_footer(self.folder, entry.path)
            for column in widened:
                if column in file_schema and file_schema[column] != self.schema[column]:
                    entry.deviations[column] = dtype_to_text(file_schema[column])

    def forget_missing(self, partition: str) -> None:
        """Drop the missing files of a partition that was just written again (re-ingested)."""
        for name in [n for n in self.missing if n.startswith(partition + "/")]:
            self.missing.remove(name)
            del self.files[name]
            self.dirty = True

    def file_schema(self, entry: FileEntry) -> Schema:
        """The types of one file's columns where they differ from the unified schema."""
        return schema_from_json(entry.deviations)

    def save(self) -> None:
        """Write `_manifest.json` atomically if anything changed."""
        if not self.dirty:
            return
        data = {
            "version": MANIFEST_VERSION,
            "schema": schema_to_json(self.schema),
            "files": {name: entry.to_json() for name, entry in sorted(self.files.items())},
        }
        self.folder.write_bytes(MANIFEST_NAME, orjson.dumps(data, option=orjson.OPT_INDENT_2))
        self.dirty = False

    @property
    def rows(self) -> int:
        """Events stored in the index."""
        return sum(entry.rows for entry in self.files.values())

    @property
    def bytes(self) -> int:
        """Bytes on disk of the index's data files."""
        return sum(entry.bytes for entry in self.files.values())


def widen(unified: Schema, schema: Schema) -> tuple[Schema, dict[str, pl.DataType]]:
    """The unified schema once a file of `schema` is added, and the columns it widened."""
    merged = dict(unified)
    widened: dict[str, pl.DataType] = {}
    for column, dtype in schema.items():
        current = merged.get(column)
        if current is None:
            merged[column] = dtype
        elif current != dtype:
            wider = unify(current, dtype)
            if wider != current:
                widened[column] = merged[column] = wider
    return ordered(merged), widened
