"""Controlling a run: stopping early, capping results, progress, and corrupt archive files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine import ArchiveError, run
from engine.archive.layout import list_data_files
from engine.detect import pipeline as run_module
from tests.detect.builders import archive_of, event, rule

EACH = rule(cases=[{"status": "low", "condition": "a > 0"}], window=0, keep_alive=0, max_duration=0)
LOGS = [event(s, f"user{s % 5}", n=s) for s in range(0, 3600, 60)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return archive_of(LOGS, tmp_path_factory.mktemp("run-control"))


def test_stop_before_the_scan_keeps_nothing() -> None:
    outcome = run(EACH, LOGS, should_stop=lambda: True)
    assert outcome.cancelled
    assert outcome.results == []


def test_stop_after_the_scan_keeps_the_rules_already_done() -> None:
    asked = {"count": 0}

    def stop_at_second_rule() -> bool:
        asked["count"] += 1
        return asked["count"] > 2  # one slice asked, then the first rule; stop at the second

    outcome = run([EACH, {**EACH, "name": "second"}], LOGS, should_stop=stop_at_second_rule)
    assert outcome.cancelled
    assert {result.rule_name for result in outcome.results} == {"R1"}
    assert len(outcome.results) == len(LOGS)


def test_max_results_keeps_the_first_by_time_and_says_truncated() -> None:
    outcome = run(EACH, LOGS, max_results=7)
    assert outcome.truncated
    assert len(outcome.results) == 7
    assert outcome.results == sorted(outcome.results, key=lambda result: result.timestamp)
    assert not run(EACH, LOGS, max_results=len(LOGS)).truncated


def test_progress_reaches_one(archive: Path) -> None:
    seen: list[float] = []
    run(EACH, archive, progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert seen == sorted(seen)


def test_progress_covers_detection_and_result_assembly(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the scan is only part of the job: while results are assembled, rule after rule, progress
    # keeps moving and stays below 1.0, which is reported once, at the very end
    seen: list[float] = []
    at_assembly: list[float] = []
    build = run_module.pending_results

    def spy(*args: Any, **kwargs: Any) -> Any:
        at_assembly.append(seen[-1])
        return build(*args, **kwargs)

    monkeypatch.setattr(run_module, "pending_results", spy)
    run([EACH, {**EACH, "name": "second"}], archive, progress=seen.append)
    assert len(at_assembly) == 2
    assert 0 < at_assembly[0] < at_assembly[1] < 1.0
    assert seen[-1] == 1.0 and seen.count(1.0) == 1
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[-2] > at_assembly[1]  # the last rule's assembly moved it too


def test_a_cancelled_run_does_not_report_completion(archive: Path) -> None:
    seen: list[float] = []
    calls = {"count": 0}

    def stop_after_the_scan() -> bool:
        calls["count"] += 1
        return calls["count"] > 1

    assert run(EACH, archive, progress=seen.append, should_stop=stop_after_the_scan).cancelled
    assert seen and max(seen) < 1.0


def test_a_corrupt_data_file_is_named(archive: Path, tmp_path: Path) -> None:
    broken = tmp_path / "archive"
    shutil.copytree(archive, broken)
    name = list_data_files(broken / "index=main")[0]
    path = broken / "index=main" / name
    data = bytearray(path.read_bytes())
    data[100 : len(data) // 2] = b"\x55" * (len(data) // 2 - 100)  # data pages, footer intact
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=f"corrupt archive file .*{path.name}"):
        run(EACH, broken)
