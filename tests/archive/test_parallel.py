"""Ingest on several cores (`parallel.BlockPool`): blocks of large NDJSON inputs and whole small
inputs go to worker processes, and the archive is the one the reference path writes, byte for
byte, with the same rejections, duplicates and repeat ids."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from benchmarks.workload import auth_events, write_ndjson
from engine.archive import formats
from engine.archive import ingest as ingest_module
from engine.archive.formats import Rejected, lines
from engine.archive.ingest import ingest
from engine.archive.parallel import BlockPool

STRATUS = Path(__file__).resolve().parent.parent / "fixtures" / "stratus"


def _archive_files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*.parquet")}


def test_ingest_in_parallel_blocks_gives_the_archive_of_the_reference_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inputs").mkdir()
    write_ndjson(tmp_path / "inputs" / "auth.ndjson.gz", 4000)
    mixed = tmp_path / "inputs" / "mixed.ndjson"
    events = [json.dumps(event) for event in auth_events(600, seed=2)]
    events[100] = "{not json"  # a rejected line inside a block
    events[300:302] = ['{"timestamp": 1709510400000, "message": "no id"}'] * 2  # repeats
    events[450] = json.dumps(next(auth_events(1, seed=1)))  # a duplicate of the other file
    mixed.write_text("\n".join(events) + "\n")
    monkeypatch.setattr(lines, "BLOCK_BYTES", 40_000)
    monkeypatch.setattr(ingest_module, "PARALLEL_BYTES", 0)
    native = ingest(tmp_path / "inputs", tmp_path / "native", jobs=2)
    monkeypatch.setattr(formats, "BATCH_RECORDS", 0)  # every record by the reference path
    reference = ingest(tmp_path / "inputs", tmp_path / "reference", jobs=1)
    assert native.rejections == reference.rejections == [Rejected(str(mixed), 101, ANY)]
    assert (native.events_written, native.duplicates) == (reference.events_written, 1)
    files = _archive_files(tmp_path / "native")
    assert files and files == _archive_files(tmp_path / "reference")


def test_small_inputs_are_read_by_workers_into_the_archive_of_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = tmp_path / "inputs"
    shutil.copytree(STRATUS, inputs / "stratus", ignore=shutil.ignore_patterns("*.md"))
    for path in sorted((inputs / "stratus").glob("*.json"))[:3]:  # as S3 delivers CloudTrail
        records = json.loads(path.read_text())
        with gzip.open(path.with_suffix(".json.gz"), "wt") as out:
            json.dump({"Records": records}, out)
        path.unlink()
    events = [json.dumps(event) for event in auth_events(300, seed=3)]
    events[10] = "{not json"
    events[20:23] = ['{"timestamp": 1709510400000, "message": "no id"}'] * 3  # repeats
    (inputs / "auth.ndjson").write_text("\n".join(events) + "\n")
    (inputs / "again.ndjson").write_text("\n".join(events[:50]) + "\n")  # duplicates
    submitted: list[str] = []
    submit = BlockPool.submit

    def spy(pool: BlockPool, work: Any, *args: Any) -> Any:
        submitted.append(args[0].path.name)
        return submit(pool, work, *args)

    monkeypatch.setattr(BlockPool, "submit", spy)
    monkeypatch.setattr(ingest_module, "POOL_BYTES", 0)
    pooled = ingest(inputs, tmp_path / "pooled", jobs=2)
    alone = ingest(inputs, tmp_path / "alone", jobs=1)
    assert len(submitted) == pooled.files == 13
    assert pooled.rejections == alone.rejections == [Rejected(ANY, 11, ANY)] * 2
    assert (pooled.events_read, pooled.events_written, pooled.duplicates) == (
        alone.events_read,
        alone.events_written,
        alone.duplicates,
    )
    assert alone.duplicates == 49  # `again` repeats the first 50 lines but its rejected one
    files = _archive_files(tmp_path / "pooled")
    assert files and files == _archive_files(tmp_path / "alone")
