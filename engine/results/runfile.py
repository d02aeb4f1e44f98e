"""The run file: one run's results, statistics, lint warnings and manifest in one JSON document.

`hindsight run --format json` writes it; `hindsight report RUN.json`, `hindsight events
RESULT_ID --run RUN.json` and `hindsight rerun RUN.json` read it. Its shape follows the job API's
histsignal list (`{"data": [...], "meta": {...}}`), so `data` holds the histsignal documents
(SPEC §4.3) and `meta`:

- `kind`: `hindsight-run`;
- `summary`: range, events scanned, seconds, cancelled, truncated;
- `rules`: per-rule statistics (`RuleStats.to_json`);
- `lint`: the preflight warnings (`rule`, `severity`, `where`, `message`);
- `log_ids`: every matched log id of each result (the documents carry only 10 samples);
- `manifest`: the run manifest (`engine.results.manifest`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from engine.archive.reader import open_archive
from engine.core.errors import RunFileError
from engine.results.manifest import ARCHIVE, RunManifest
from engine.results.matched import IndexLogs, ResultLogs
from engine.results.outcome import JobRun

KIND = "hindsight-run"
#: The Parquet metadata key of the run manifest in `hindsight run --format parquet` results.
MANIFEST_KEY = "hindsight.manifest"


def run_document(run: JobRun, *, lint: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The run file of `run` (see the module docstring)."""
    return {
        "data": [result.to_histsignal() for result in run.results],
        "meta": {
            "kind": KIND,
            "summary": {
                "from": run.start,
                "to": run.end,
                "events_scanned": run.events_scanned,
                "seconds": round(run.seconds, 3),
                "cancelled": run.cancelled,
                "truncated": run.truncated,
            },
            "rules": [stat.to_json() for stat in run.stats],
            "lint": [dict(warning) for warning in lint],
            "log_ids": {result.id: result.log_ids for result in run.results},
            "manifest": run.manifest.to_json() if run.manifest is not None else None,
        },
    }


def run_text(run: JobRun, *, lint: Sequence[Mapping[str, Any]] = ()) -> str:
    """The run file as indented JSON text."""
    return orjson.dumps(run_document(run, lint=lint), option=orjson.OPT_INDENT_2).decode() + "\n"


@dataclass
class RunFile:
    """A run file as read back."""

    documents: list[dict[str, Any]]
    log_ids: dict[str, list[str]]
    manifest: RunManifest | None
    summary: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    lint: list[dict[str, Any]] = field(default_factory=list)

    def result_logs(self, result_id: str | None = None) -> list[ResultLogs]:
        """What reading the matched logs of one result (or of all) needs."""
        chosen = [
            ResultLogs.of_document(document, self.log_ids.get(document["id"], []))
            for document in self.documents
            if result_id is None or document["id"] == result_id
        ]
        if result_id is not None and not chosen:
            raise RunFileError(f"the run file has no result {result_id!r}")
        return chosen

    def logs(self) -> IndexLogs:
        """The archive index the run read (from its manifest)."""
        snapshot = self.manifest.snapshot if self.manifest is not None else None
        if snapshot is None or snapshot.kind != ARCHIVE or snapshot.archive is None:
            raise RunFileError(
                "the run did not read an archive (its logs were given in memory), so its "
                "matched logs cannot be read back"
            )
        return IndexLogs(open_archive(snapshot.archive), snapshot.index)


def run_file_of(run: JobRun, *, lint: Sequence[Mapping[str, Any]] = ()) -> RunFile:
    """The run file of `run`, as `read_run_file` would read it back."""
    document = run_document(run, lint=lint)
    meta = document["meta"]
    return RunFile(
        document["data"],
        meta["log_ids"],
        run.manifest,
        meta["summary"],
        meta["rules"],
        meta["lint"],
    )


def _json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise RunFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise RunFileError(f"{path}: cannot read it: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise RunFileError(f"{path}: not valid JSON: {exc}") from None


def _manifest(path: Path, data: Any) -> RunManifest:
    try:
        return RunManifest.from_json(data)
    except ValueError as exc:
        raise RunFileError(f"{path}: {exc}") from None


def read_run_file(path: str | Path) -> RunFile:
    """The run file at `path` (raises `RunFileError` naming the file and what is wrong)."""
    path = Path(path)
    data = _json(path)
    meta = data.get("meta") if isinstance(data, dict) else None
    if (
        not isinstance(meta, dict)
        or meta.get("kind") != KIND
        or not isinstance(data.get("data"), list)
    ):
        raise RunFileError(
            f"{path}: not a Hindsight run file (write one with `hindsight run --format json`)"
        )
    manifest = meta.get("manifest")
    return RunFile(
        documents=list(data["data"]),
        log_ids={key: list(value) for key, value in dict(meta.get("log_ids", {})).items()},
        manifest=None if manifest is None else _manifest(path, manifest),
        summary=dict(meta.get("summary", {})),
        rules=list(meta.get("rules", [])),
        lint=list(meta.get("lint", [])),
    )


def read_manifest(path: str | Path) -> RunManifest:
    """The run manifest of a manifest file (`--manifest PATH`), a run file, or Parquet results."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        try:
            text = pl.read_parquet_metadata(path).get(MANIFEST_KEY)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise RunFileError(f"{path}: cannot read it: {exc}") from None
        if text is None:
            raise RunFileError(f"{path}: the Parquet file holds no run manifest")
        return _manifest(path, orjson.loads(text))
    data = _json(path)
    if isinstance(data, dict) and isinstance(data.get("meta"), dict):
        manifest = read_run_file(path).manifest
        if manifest is None:
            raise RunFileError(f"{path}: the run file holds no manifest")
        return manifest
    return _manifest(path, data)
