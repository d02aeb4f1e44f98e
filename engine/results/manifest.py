"""The run manifest: what a run read and ran, so it can be reproduced (`engine.rerun`).

Every run records one (`JobRun.manifest`; `hindsight run --format json` / `--manifest PATH`; the
job store per job). It holds:

- `engine`: the versions of Hindsight, polars and pyarrow;
- `rules`: each rule's definition (Datadog JSON), its `casing` when it is not Datadog's (a rule
  converted from Sigma, `engine.query.casing`) and the SHA-256 of both (`rule_sha256`);
- `snapshot`: for an archive, its root (an absolute path or an `s3://` URL), index, the
  partitions read and each file read with its size, rows, time range and SHA-256 (from the
  archive's own manifest); for logs given in memory, their count and a digest of their rows;
- `range` (`from`, `to`, and `scanned_from`, earlier when a rule looks back), `options` (index,
  format, timestamp field, result cap, job id) and `tables` (the reference tables the rules name:
  each one's file with its SHA-256, or that it was given in memory);
- `results`: the counts (total, per rule, per severity), whether the run was cancelled or
  truncated, and each result's id with the SHA-256 of its histsignal document, so a rerun says
  whether it produced the same results without the results file.
"""

from __future__ import annotations

import hashlib
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

import orjson
import polars as pl

from engine.archive.layout import index_folder
from engine.archive.reader import Archive
from engine.archive.storage import Storage
from engine.core.times import format_timestamp
from engine.query.casing import Casing
from engine.results.result import JobResult
from engine.rules.models import Rule

MANIFEST_VERSION = 1
ARCHIVE = "archive"
IN_MEMORY = "in-memory logs"


class RunLogs(Protocol):
    """What a run read (`engine.scan.source.LogSource`): an archive index, or in-memory logs."""

    archive: Archive | None
    index: str

    def scan(self, start: int | None = None, end: int | None = None) -> pl.LazyFrame:
        """Events with `start <= timestamp < end`."""
        ...


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys, the text every digest of the manifest is taken over."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def sha256_of(value: Any) -> str:
    """The SHA-256 (hex) of a JSON value's canonical text."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def rule_sha256(rule: Rule) -> str:
    """A rule's content hash: its Datadog JSON and its casing."""
    return sha256_of({"rule": rule.to_json(), "casing": rule.casing.to_json()})


def engine_versions() -> dict[str, str]:
    """The versions a run's results depend on."""

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "unknown"

    return {
        "hindsight": of("hindsight"),
        "polars": pl.__version__,
        "pyarrow": of("pyarrow"),
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class SnapshotFile:
    """One archive file a run read (its path is relative to the index folder)."""

    path: str
    bytes: int
    rows: int
    sha256: str
    min_ts: int | None = None
    max_ts: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """The data a run read: archive files, or logs given in memory."""

    kind: str  # ARCHIVE or IN_MEMORY
    index: str
    archive: str | None = None
    partitions: list[str] = field(default_factory=list)
    files: list[SnapshotFile] = field(default_factory=list)
    events: int | None = None  # in-memory logs: how many
    digest: str | None = None  # in-memory logs: a digest of their rows (`logs_digest`)

    def to_json(self) -> dict[str, Any]:
        """The snapshot as the manifest stores it."""
        data = asdict(self)
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        """The snapshot `to_json` wrote."""
        files = [SnapshotFile(**item) for item in data.get("files", [])]
        return cls(
            kind=data["kind"],
            index=data["index"],
            archive=data.get("archive"),
            partitions=list(data.get("partitions", [])),
            files=files,
            events=data.get("events"),
            digest=data.get("digest"),
        )

    def folder(self) -> Storage:
        """The index folder of an archive snapshot."""
        assert self.archive is not None
        return index_folder(self.archive, self.index)


def logs_digest(frame: pl.DataFrame) -> str:
    """A digest of in-memory logs: their row hashes (polars, fixed seed), order-independent."""
    hashes = frame.hash_rows(seed=0).sort().to_arrow()  # one uint64 a row, no nulls
    head = canonical_json({name: str(dtype) for name, dtype in frame.schema.items()})
    digest = hashlib.sha256(head)
    if len(hashes):
        width = hashes.type.byte_width
        data = memoryview(hashes.buffers()[1])
        digest.update(data[hashes.offset * width : (hashes.offset + len(hashes)) * width])
    return digest.hexdigest()


def snapshot_of(logs: RunLogs, start: int | None, end: int | None) -> Snapshot:
    """The snapshot of `[start, end)` of what a run reads."""
    archive = logs.archive
    if archive is None:
        frame = logs.scan(None, None).collect()
        return Snapshot(IN_MEMORY, logs.index, events=frame.height, digest=logs_digest(frame))
    folder = archive.folder(logs.index)
    files = []
    for entry in archive.files(logs.index, start=start, end=end):
        if entry.sha256 is None:  # an archive written before checksums were kept
            entry.sha256 = folder.sha256(entry.path)
        digest = entry.sha256
        files.append(
            SnapshotFile(entry.path, entry.bytes, entry.rows, digest, entry.min_ts, entry.max_ts)
        )
    partitions = sorted({item.path.rsplit("/", 1)[0] for item in files})
    root = archive.storage.absolute().root
    return Snapshot(ARCHIVE, logs.index, root, partitions=partitions, files=files)


@dataclass(frozen=True)
class ManifestRule:
    """One rule of a run: its definition, its casing, and their hash."""

    name: str
    id: str | None
    sha256: str
    definition: dict[str, Any]
    casing: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, rule: Rule) -> ManifestRule:
        """The entry of a loaded rule."""
        casing = rule.casing.to_json()
        return cls(rule.name, rule.id, rule_sha256(rule), rule.to_json(), casing)

    def casing_of(self) -> Casing:
        """The rule's casing."""
        return Casing.from_json(self.casing)


@dataclass
class RunManifest:
    """What a run read and ran (see the module docstring)."""

    engine: dict[str, str]
    rules: list[ManifestRule]
    snapshot: Snapshot
    range: dict[str, int | None]
    options: dict[str, Any]
    tables: list[dict[str, Any]]
    results: dict[str, Any]
    created: str = ""
    version: int = MANIFEST_VERSION

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON (what `--manifest PATH` and the job store hold)."""
        return {
            "version": self.version,
            "created": self.created,
            "engine": self.engine,
            "rules": [asdict(rule) for rule in self.rules],
            "snapshot": self.snapshot.to_json(),
            "range": self.range,
            "options": self.options,
            "tables": self.tables,
            "results": self.results,
        }

    @classmethod
    def from_json(cls, data: Any) -> RunManifest:
        """A manifest `to_json` wrote (raises `ValueError` naming what is wrong)."""
        if not isinstance(data, Mapping):
            raise ValueError("a run manifest is a JSON object")
        if data.get("version") != MANIFEST_VERSION:
            raise ValueError(
                f"unknown run manifest version {data.get('version')!r} "
                f"(this Hindsight reads version {MANIFEST_VERSION})"
            )
        try:
            return cls(
                engine=dict(data["engine"]),
                rules=[ManifestRule(**item) for item in data["rules"]],
                snapshot=Snapshot.from_json(data["snapshot"]),
                range=dict(data["range"]),
                options=dict(data["options"]),
                tables=[dict(entry) for entry in data.get("tables", [])],
                results=dict(data["results"]),
                created=str(data.get("created", "")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a run manifest: {type(exc).__name__}: {exc}") from None

    @property
    def documents(self) -> dict[str, str]:
        """Each result id with the SHA-256 of its histsignal document."""
        return dict(self.results.get("documents", {}))


def result_counts(
    results: Sequence[JobResult], *, cancelled: bool, truncated: bool, events_scanned: int
) -> dict[str, Any]:
    """The `results` section: counts, flags, and each result's document digest."""
    return {
        "count": len(results),
        "events_scanned": events_scanned,
        "by_rule": dict(Counter(result.rule_name for result in results)),
        "by_severity": dict(Counter(result.severity for result in results)),
        "cancelled": cancelled,
        "truncated": truncated,
        "documents": {result.id: sha256_of(result.to_histsignal()) for result in results},
    }


def run_manifest(
    rules: Sequence[Rule],
    logs: RunLogs,
    *,
    start: int | None,
    end: int | None,
    scanned_from: int | None,
    options: Mapping[str, Any],
    tables: Sequence[Mapping[str, Any]],
    results: Mapping[str, Any],
) -> RunManifest:
    """The manifest of a run of `rules` over `logs` (`tables`: `ReferenceTables.record(...)`;
    `results`: `result_counts(...)`)."""
    return RunManifest(
        engine=engine_versions(),
        rules=[ManifestRule.of(rule) for rule in rules],
        snapshot=snapshot_of(logs, scanned_from, end),
        range={"from": start, "to": end, "scanned_from": scanned_from},
        options=dict(options),
        tables=[dict(entry) for entry in tables],
        results=dict(results),
        created=format_timestamp(int(datetime.now(UTC).timestamp() * 1000)),
    )
