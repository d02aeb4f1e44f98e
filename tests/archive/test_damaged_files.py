"""A damaged archive file fails only the reads of its own hour.

A truncated Parquet file has no readable footer, so its time range and columns are unknown: it is
skipped with a warning when the index is opened, `hindsight info` reports it, and only scans and
jobs over its partition's hour fail (naming it). A file corrupted in place (same size) is known to
the manifest, so only the jobs covering its recorded time range fail.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from engine import ingest, run
from engine.archive.layout import list_data_files
from engine.archive.reader import open_archive
from engine.cli import main
from engine.core.errors import ArchiveError
from engine.service.jobs import JobService
from engine.service.settings import ServiceSettings
from tests.api.conftest import EACH  # one result per failed login
from tests.detect.builders import T, at, event

HOUR = 3600
#: A login failure every 10 minutes for three hours: partitions hour=00, hour=01, hour=02.
LOGS = [event(600 * n, f"u{n % 3}") for n in range(18)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("damaged")
    source = root / "logs.ndjson"
    source.write_text("\n".join(json.dumps(item) for item in LOGS))
    ingest(source, root / "archive")
    return root / "archive"


@pytest.fixture
def archive(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the three-hour archive whose last hour's file is truncated."""
    copy = tmp_path / "archive"
    shutil.copytree(pristine, copy)
    return copy


def last_file(archive: Path) -> Path:
    names = list_data_files(archive / "index=main")
    assert [name.split("/")[1] for name in names] == ["hour=00", "hour=01", "hour=02"]
    return archive / "index=main" / names[-1]


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_file_is_skipped_at_open_with_a_warning(
    archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = last_file(archive)
    truncate(damaged)
    with caplog.at_level(logging.WARNING, logger="hindsight.archive"):
        opened = open_archive(archive)
        info = opened.info("main")
    assert (info.files, info.events) == (2, 12)
    (reason,) = info.damaged
    assert reason.startswith(f"corrupt archive file {damaged}: ")
    assert caplog.messages == [
        f"skipping a damaged archive file (reads of its hour fail): {reason}"
    ]


def test_a_truncated_file_fails_only_the_scans_of_its_hour(archive: Path) -> None:
    damaged = last_file(archive)
    truncate(damaged)
    opened = open_archive(archive)
    assert opened.scan(start=T, end=at(2 * HOUR)).collect().height == 12
    assert opened.scan(end=at(2 * HOUR) - 1).collect().height == 12
    for start, end in ((None, None), (at(2 * HOUR) - 1, None), (at(2.5 * HOUR), at(2.6 * HOUR))):
        with pytest.raises(ArchiveError, match=f"corrupt archive file {damaged}"):
            opened.scan(start=start, end=end)


def test_a_truncated_file_outside_a_jobs_range_does_not_fail_it(archive: Path) -> None:
    truncate(last_file(archive))
    outcome = run(EACH, archive, start=T, end=at(HOUR))
    assert [stat.error for stat in outcome.stats] == [None]
    assert len(outcome.results) == 6


@pytest.mark.parametrize("damage", ["truncated", "same-size"])
def test_only_the_jobs_covering_a_damaged_file_fail(
    archive: Path, tmp_path: Path, damage: str
) -> None:
    damaged = last_file(archive)
    service = JobService(ServiceSettings(archive=archive, database=str(tmp_path / "j.db")))
    try:
        if damage == "truncated":
            truncate(damaged)
        else:  # the manifest already knows the file: corrupt its data pages in place
            service.archive.manifest("main")
            data = bytearray(damaged.read_bytes())
            data[100 : len(data) // 2] = b"\x55" * (len(data) // 2 - 100)
            damaged.write_bytes(bytes(data))
        outside = service.submit({"jobDefinition": job(T, at(2 * HOUR))})
        inside = service.submit({"jobDefinition": job(at(HOUR), at(3 * HOUR))})
        for record in (outside, inside):
            service.runner.wait(record.id, timeout=60)
        done, failed = service.get(outside.id), service.get(inside.id)
        assert (done.status, len(service.results(done.id))) == ("completed", 12)
        assert failed.status == "failed"
        assert failed.failure is not None and f"corrupt archive file {damaged}" in failed.failure
    finally:
        service.close()


def job(start: int, end: int) -> dict[str, object]:
    return {**EACH, "from": start, "to": end, "index": "main"}


def test_a_damaged_file_whose_hour_cannot_be_told_is_skipped_by_every_job(
    archive: Path, tmp_path: Path
) -> None:
    stray = archive / "index=main" / "dt=unknown" / "hour=xx" / "part-stray.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1 not really")
    outcome = run(EACH, archive)
    assert [stat.error for stat in outcome.stats] == [None]
    assert len(outcome.results) == 18
    (reason,) = open_archive(archive).info("main").damaged
    assert reason.startswith(f"corrupt archive file {stray}: ")


def test_hindsight_info_reports_a_damaged_file(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = last_file(archive)
    truncate(damaged)
    assert main(["info", "--archive", str(archive)]) == 0
    out, err = capsys.readouterr()
    row = next(line for line in out.splitlines() if "main" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert (cells[0], cells[1], cells[2], cells[-1]) == ("main", "12", "2", "1")
    assert err.startswith(
        "warning: skipping a damaged archive file (reads of its hour fail): "
        f"corrupt archive file {damaged}: "
    )
