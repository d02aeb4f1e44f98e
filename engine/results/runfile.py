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

`write_run_file` writes it one result at a time, with the bytes of `run_document` dumped by
orjson with `OPT_INDENT_2`: the documents as they are read, each result's log ids to a temporary
file meanwhile, copied into `meta` after the statistics.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
    log_ids = {result.id: result.log_ids for result in run.results}
    return {
        "data": [result.to_histsignal() for result in run.results],
        "meta": _meta(run, lint, log_ids),
    }


def _meta(
    run: JobRun, lint: Sequence[Mapping[str, Any]], log_ids: dict[str, list[str]]
) -> dict[str, Any]:
    return {
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
        "log_ids": log_ids,
        "manifest": run.manifest.to_json() if run.manifest is not None else None,
    }


def write_run_file(
    run: JobRun, handle: IO[bytes], *, lint: Sequence[Mapping[str, Any]] = ()
) -> None:
    """The run file of `run`, the bytes of `run_document` as orjson indents it
    (`OPT_INDENT_2`), written one result at a time (see the module docstring)."""
    with tempfile.TemporaryFile() as spooled:
        top = _Members(handle, 0, b"{}")
        top.add(b'"data": ')
        data, log_ids = _Members(handle, 1, b"[]"), _Members(spooled, 2, b"{}")
        for result in run.results:
            data.add(_indented(result.to_histsignal(), 2))
            log_ids.add(orjson.dumps(result.id) + b": " + _indented(result.log_ids, 3))
        data.close()
        log_ids.close()
        top.add(b'"meta": ')
        meta = _Members(handle, 1, b"{}")
        for key, value in _meta(run, lint, {}).items():
            meta.add(orjson.dumps(key) + b": ")
            if key == "log_ids":
                spooled.seek(0)
                shutil.copyfileobj(spooled, handle)
            else:
                handle.write(_indented(value, 2))
        meta.close()
        top.close()
        handle.write(b"\n")


def _indented(value: Any, level: int) -> bytes:
    """`value` as orjson indents it (`OPT_INDENT_2`) `level` levels deep (JSON text holds no raw
    newline but between its lines)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n" + b"  " * level)


class _Members:
    """A JSON array or object written member by member, `level` levels deep, as orjson indents
    it (`[]` / `{}` when it has none)."""

    def __init__(self, handle: IO[bytes], level: int, brackets: bytes) -> None:
        self._handle, self._level, self._brackets = handle, level, brackets
        self._empty = True
        handle.write(brackets[:1])

    def add(self, member: bytes) -> None:
        """One member (an element, or `"key": value`, indented to its level), or the start of
        one that the caller then writes."""
        self._handle.write((b"\n" if self._empty else b",\n") + b"  " * (self._level + 1) + member)
        self._empty = False

    def close(self) -> None:
        """The closing bracket."""
        indent = b"" if self._empty else b"\n" + b"  " * self._level
        self._handle.write(indent + self._brackets[1:])


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
