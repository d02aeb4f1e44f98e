"""A store that cannot write: a full disk, a read-only database.

While the store refuses writes, endpoints that write answer 503 with a Datadog body and the log
names the cause; reads go on. A job whose writes fail waits (pending, or running) and goes on
once the store can write again, instead of staying `running` forever; a server stop meanwhile
leaves it to the next start, which marks it failed. A read-only database is reported at start-up.

The full disk is simulated two ways: a store whose writes raise SQLite's own "database or disk
is full" (always), and a real, small tmpfs filled to the last byte (as root, where `mount` works).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.api import create_app
from engine.core.errors import HindsightError, StoreError
from engine.service import jobs as service_module
from engine.service.jobs import INTERRUPTED, JobService
from engine.service.settings import load_settings
from engine.store import database as database_module
from engine.store.database import connect
from engine.store.keys import KeyStore
from tests.api.conftest import (
    EACH,
    HISTORICAL,
    R1,
    RULES,
    Api,
    Hold,
    TestClient,
    convert_body,
    definition,
    run_body,
    serve,
)

FULL = "database or disk is full"
UNAVAILABLE_503 = {
    "errors": [
        {
            "status": "503",
            "title": "Service Unavailable",
            "detail": f"the job store cannot be used right now ({FULL}); try again later",
        }
    ]
}


class FullDisk:
    """Makes every write of a service's store fail as SQLite does on a full disk."""

    def __init__(self, engine: sa.Engine) -> None:
        self.full = threading.Event()
        sa.event.listen(engine, "before_cursor_execute", self._check)

    def _check(self, *args: Any) -> None:
        statement = str(args[2]).lstrip().upper()
        if self.full.is_set() and not statement.startswith(("SELECT", "PRAGMA")):
            raise sqlite3.OperationalError(FULL)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store writes are retried every few milliseconds in these tests."""
    monkeypatch.setattr(database_module, "RETRY_SECONDS", 0.01)
    monkeypatch.setattr(database_module, "MAX_RETRY_SECONDS", 0.05)


@pytest.fixture
def disk(api: Api) -> FullDisk:
    return FullDisk(api.service.db.engine)


def status(api: Api, job_id: str) -> str:
    response = api.client.get(f"{HISTORICAL}/jobs/{job_id}", headers=api.headers)
    assert response.status_code == 200
    value: str = response.json()["data"]["attributes"]["jobStatus"]
    return value


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 10.0) -> None:
    """Wait until a log record contains `text` (the runner logs from its own thread)."""
    stop = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if any(text in record.getMessage() for record in caplog.records):
            return
        stop.wait(0.02)
    raise AssertionError(f"no log line contains {text!r}")


# --- 503 while the store cannot write ------------------------------------------------------------


def test_writes_answer_503_and_reads_go_on_while_the_disk_is_full(
    api: Api, disk: FullDisk, caplog: pytest.LogCaptureFixture
) -> None:
    done = api.run(run_body(definition(EACH)))
    api.finish(done)
    result_id = api.results(done)[0]["id"]
    disk.full.set()
    writes = [
        api.client.post(f"{HISTORICAL}/jobs", json=run_body(definition(R1)), headers=api.headers),
        api.client.post(RULES, json=R1, headers=api.headers),
        api.client.post(
            f"{HISTORICAL}/jobs/signal_convert", json=convert_body([result_id]), headers=api.headers
        ),
        api.client.delete(f"{HISTORICAL}/jobs/{done}", headers=api.headers),
    ]
    for response in writes:
        assert response.status_code == 503, response.text
        assert response.json() == UNAVAILABLE_503
        assert response.headers["content-type"] == "application/vnd.api+json"
    logged = next(r.getMessage() for r in caplog.records if "answered 503" in r.getMessage())
    assert logged == (
        f"POST {HISTORICAL}/jobs answered 503: the database at "
        f"{api.service.db.url} refused it ({FULL})"
    )
    assert status(api, done) == "completed"  # reads go on
    assert len(api.results(done)) == 29
    disk.full.clear()
    assert api.client.post(RULES, json=R1, headers=api.headers).status_code == 200


def test_a_job_that_cannot_start_waits_pending_and_runs_once_the_store_can_write(
    api: Api, disk: FullDisk, held: Hold, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = api.run(run_body(definition(EACH)))
    disk.full.set()
    held.started.set()  # the runner now tries to start the job
    wait_for_log(caplog, f"job {job_id}: cannot start the job: the database at")
    assert f"refused it ({FULL}); retrying in" in caplog.text
    assert status(api, job_id) == "pending"
    disk.full.clear()
    held.release()
    job = api.finish(job_id)
    assert job["attributes"]["jobStatus"] == "completed"
    assert len(api.results(job_id)) == 29


def test_a_running_job_whose_writes_fail_completes_once_space_comes_back(
    api: Api, disk: FullDisk, held: Hold, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = api.run(run_body(definition(EACH)))
    held.start()  # running, at its first progress report
    disk.full.set()  # the disk fills up while it runs
    held.resumed.set()
    wait_for_log(caplog, f"job {job_id}: cannot store its results")
    assert status(api, job_id) == "running"  # waiting for the store, not lost
    disk.full.clear()
    job = api.finish(job_id)
    assert job["attributes"]["jobStatus"] == "completed"
    assert job["attributes"]["progressRate"] == 1.0
    assert len(api.results(job_id)) == 29


def test_a_job_that_fails_while_the_disk_is_full_is_recorded_failed_afterwards(
    api: Api, disk: FullDisk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        disk.full.set()  # the disk fills up while the job runs, and then the job fails
        raise HindsightError("archive file main/x.parquet is corrupt")

    monkeypatch.setattr(service_module, "run", broken)
    job_id = api.run(run_body(definition(EACH)))
    wait_for_log(caplog, f"job {job_id}: cannot record that it failed")
    assert status(api, job_id) == "running"
    disk.full.clear()
    job = api.finish(job_id)
    assert job["attributes"]["jobStatus"] == "failed"
    assert job["attributes"]["failureReason"] == "archive file main/x.parquet is corrupt"


def test_a_stop_while_the_disk_is_full_leaves_the_job_to_the_next_start(
    tmp_path: Path, archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "archive"
    shutil.copytree(archive, copy)
    with serve(tmp_path, copy) as api:
        disk = FullDisk(api.service.db.engine)
        held = Hold(api.service)
        job_id = api.run(run_body(definition(EACH)))
        held.start()
        disk.full.set()
        held.resumed.set()
        wait_for_log(caplog, f"job {job_id}: cannot store its results")
    # `serve` closed the service: the retry loop stopped, and the job could not be marked failed
    assert "could not mark the interrupted jobs failed" in caplog.text
    assert f"job {job_id}: stopped while waiting for the store" in caplog.text
    with serve(tmp_path, copy) as again:  # space is back
        job = again.client.get(f"{HISTORICAL}/jobs/{job_id}", headers=again.headers).json()
        assert job["data"]["attributes"]["jobStatus"] == "failed"
        assert job["data"]["attributes"]["failureReason"] == INTERRUPTED


# --- a real full disk ----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root only, where `mount` works); unmounted afterwards."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system of `folder` to the last byte; the filler file is returned."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * size)
    finally:
        os.close(descriptor)
    return filler


def test_a_real_full_disk_answers_503_and_jobs_run_once_space_is_freed(
    small_disk: Path, archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(small_disk, archive) as api:
        filler = fill(small_disk)
        refused = api.client.post(
            f"{HISTORICAL}/jobs", json=run_body(definition(EACH)), headers=api.headers
        )
        assert refused.status_code == 503
        assert refused.json()["errors"][0]["title"] == "Service Unavailable"
        assert "answered 503" in caplog.text
        filler.unlink()
        job = api.finish(api.run(run_body(definition(EACH))))
        assert job["attributes"]["jobStatus"] == "completed"


# --- a read-only database ------------------------------------------------------------------------


def test_a_read_only_database_is_reported_at_start_up_and_writes_are_503(
    tmp_path: Path, archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(tmp_path, archive) as api:
        job_id = api.run(run_body(definition(EACH)))
        api.finish(job_id)
        headers = api.headers
    path = tmp_path / "hindsight.db"
    settings = load_settings(archive=archive, database=f"sqlite:///file:{path}?mode=ro&uri=true")
    service = JobService(settings)
    try:
        assert service.read_only == "attempt to write a readonly database"
        assert caplog.messages == [
            f"the database at file:{path} is read-only; jobs cannot be stored "
            "(attempt to write a readonly database)"
        ]
        client = TestClient(create_app(service, KeyStore(service.db), settings))
        body = run_body(definition(EACH))
        created = client.post(f"{HISTORICAL}/jobs", json=body, headers=headers)
        assert created.status_code == 503
        assert "attempt to write a readonly database" in created.json()["errors"][0]["detail"]
        job = client.get(f"{HISTORICAL}/jobs/{job_id}", headers=headers)  # reads go on
        assert job.json()["data"]["attributes"]["jobStatus"] == "completed"
    finally:
        service.close()


def test_a_database_on_a_read_only_file_system_is_named_read_only(
    small_disk: Path, archive: Path
) -> None:
    with serve(small_disk, archive):
        pass
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(StoreError) as refused:
        connect(small_disk / "hindsight.db")
    assert str(refused.value).startswith(
        f"the database at {small_disk / 'hindsight.db'} is read-only; jobs cannot be stored ("
    )
