"""Run manifests (recorded by Python, CLI and job runs) and `rerun`: identical results exit 0,
different results exit 1, a snapshot file changed, removed or added exits 2 naming it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine import ingest, load_rule, read_manifest, rerun, run
from engine.archive.layout import index_dir
from engine.cli import main
from engine.core.errors import SnapshotChangedError
from engine.results.manifest import rule_sha256
from tests.detect.builders import T, event, rule

RULE = rule()
HOUR_S = 3600
#: alice fails 5 times in each of 3 hours (one result an hour), bob once an hour
LOGS = [event(hour * HOUR_S + 30 * n) for hour in range(3) for n in range(5)] + [
    event(hour * HOUR_S + 900, "bob") for hour in range(3)
]


def write_archive(root: Path, logs: list[dict[str, Any]], name: str = "logs.ndjson") -> Path:
    source = root / name
    source.write_text("".join(json.dumps(log) + "\n" for log in logs))
    ingest(source, root / "archive")
    return root / "archive"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path, LOGS)


@pytest.fixture
def recorded(tmp_path: Path, archive: Path) -> Path:
    """A `hindsight run` over the archive with its manifest in `manifest.json`."""
    (tmp_path / "rule.json").write_text(json.dumps(RULE))
    manifest = tmp_path / "manifest.json"
    args = ["run", str(tmp_path / "rule.json"), "--archive", str(archive)]
    assert main([*args, "--format", "jsonl", "--manifest", str(manifest)]) == 0
    return manifest


def test_a_python_run_records_its_manifest(archive: Path) -> None:
    outcome = run(RULE, archive, start=T, end=T + 3 * HOUR_S * 1000)
    manifest = outcome.manifest
    assert manifest is not None
    assert manifest.engine["hindsight"] != "unknown"
    (entry,) = manifest.rules
    assert entry.sha256 == rule_sha256(load_rule(RULE))
    assert entry.sha256 != rule_sha256(load_rule({**RULE, "message": "other"}))
    assert manifest.range == {"from": T, "to": T + 3 * HOUR_S * 1000, "scanned_from": T}
    folder = index_dir(archive, "main")
    on_disk = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.parquet"))
    assert [item.path for item in manifest.snapshot.files] == on_disk
    for item in manifest.snapshot.files:
        data = (folder / item.path).read_bytes()
        assert item.sha256 == hashlib.sha256(data).hexdigest()
        assert item.bytes == len(data)
    assert manifest.snapshot.partitions == sorted({path.rsplit("/", 1)[0] for path in on_disk})
    assert manifest.results["count"] == len(outcome.results) == 3
    assert manifest.results["by_severity"] == {"high": 3}
    assert set(manifest.documents) == {result.id for result in outcome.results}
    archive_manifest = json.loads((folder / "_manifest.json").read_text())
    assert {name: entry["sha256"] for name, entry in archive_manifest["files"].items()} == {
        item.path: item.sha256 for item in manifest.snapshot.files
    }


def test_rerun_of_an_unchanged_snapshot_is_identical(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["rerun", str(recorded)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("identical: 3 result(s) of 1 rule(s) over 18 events")
    assert rerun(read_manifest(recorded)).identical


def test_rerun_names_a_changed_file(
    recorded: Path, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (path, *_) = sorted(index_dir(archive, "main").rglob("*.parquet"))
    frame = pl.read_parquet(path)
    frame.with_columns(pl.lit("edited").alias("message")).write_parquet(path)
    capsys.readouterr()
    assert main(["rerun", str(recorded)]) == 2
    err = capsys.readouterr().err
    assert f"changed: {path}" in err and "Traceback" not in err


def test_rerun_names_a_removed_file(
    recorded: Path, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (path, *_) = sorted(index_dir(archive, "main").rglob("*.parquet"))
    path.unlink()
    capsys.readouterr()
    assert main(["rerun", str(recorded)]) == 2
    assert f"removed: {path}" in capsys.readouterr().err


def test_rerun_names_a_file_added_to_the_range(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_archive(tmp_path, [event(2 * HOUR_S + 1000, "carol")], name="late.ndjson")
    capsys.readouterr()
    assert main(["rerun", str(recorded)]) == 2
    assert "added: " in capsys.readouterr().err
    with pytest.raises(SnapshotChangedError, match="added: "):
        rerun(read_manifest(recorded))


def test_rerun_reports_different_results(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(recorded.read_text())
    documents = data["results"]["documents"]
    gone, changed = sorted(documents)[:2]
    del documents[gone]
    documents[changed] = "0" * 64
    documents["f" * 32] = "0" * 64
    recorded.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["rerun", str(recorded)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("different: ")
    assert f"new (produced, not recorded): {gone}" in out
    assert f"changed (same id, different document): {changed}" in out
    assert f"missing (recorded, not produced again): {'f' * 32}" in out


def test_rerun_of_logs_given_in_memory_checks_them() -> None:
    outcome = run(RULE, LOGS)
    assert outcome.manifest is not None
    assert outcome.manifest.snapshot.events == len(LOGS)
    assert rerun(outcome.manifest, logs=LOGS).identical
    with pytest.raises(SnapshotChangedError, match="not the ones the run read"):
        rerun(outcome.manifest, logs=LOGS[:-1])
    with pytest.raises(SnapshotChangedError, match="pass them again"):
        rerun(outcome.manifest)


def test_a_bad_manifest_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 99}')
    assert main(["rerun", str(bad)]) == 2
    assert "unknown run manifest version 99" in capsys.readouterr().err
    assert main(["rerun", str(tmp_path / "gone.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_an_archive_without_checksums_gets_them_computed(archive: Path) -> None:
    manifest_file = index_dir(archive, "main") / "_manifest.json"
    data = json.loads(manifest_file.read_text())
    for entry in data["files"].values():
        del entry["sha256"]  # as written before checksums were kept
    manifest_file.write_text(json.dumps(data))
    before = manifest_file.read_bytes()
    outcome = run(RULE, archive)
    assert outcome.manifest is not None
    folder = index_dir(archive, "main")
    for item in outcome.manifest.snapshot.files:
        assert item.sha256 == hashlib.sha256((folder / item.path).read_bytes()).hexdigest()
    assert manifest_file.read_bytes() == before  # a run does not write the archive
    assert rerun(outcome.manifest).identical
