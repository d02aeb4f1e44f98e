"""`hindsight run --scheduler/--workers`: a job on a Dask cluster started as a user would, from
the command line (`dask scheduler` + 2 `dask worker` on 127.0.0.1), gives a local run's output."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from distributed import Client

import engine.scan.backends.dask as dask_backend
from engine import load_rules, run
from engine.cli import main
from engine.scan.backends.dask import DaskBackend
from engine.service.settings import ServerSettings
from tests.api.conftest import definition, run_body
from tests.detect.builders import T, query, rule
from tests.detect.test_dask import logs
from tests.jobs.test_service_dask import documents_of
from tests.live import live_server

pytestmark = pytest.mark.xdist_group("dask")

DASK = str(Path(sys.executable).parent / "dask")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A `dask` command in its own process group (stopped with everything it started)."""
    return subprocess.Popen(
        [DASK, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _worker(address: str, cwd: Path) -> subprocess.Popen[bytes]:
    """A `dask worker` of one thread for the scheduler at `address`."""
    return _start(
        "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard", cwd=cwd
    )


def _stop(process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM) -> None:
    """Stop a `dask` command and the processes it started."""
    os.killpg(process.pid, how)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a `dask scheduler` with 2 `dask worker` processes, on 127.0.0.1; the
    workers start in a folder of their own (the archive is not under it)."""
    elsewhere = tmp_path_factory.mktemp("workers")
    address = f"tcp://127.0.0.1:{_free_port()}"
    port = address.rsplit(":", 1)[1]
    # the scheduler can import this module's `_compute_seconds`
    env = os.environ | {"PYTHONPATH": str(Path(__file__).parents[1])}
    started = [
        _start(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--no-dashboard",
            cwd=elsewhere,
            env=env,
        )
    ]
    try:
        started += [_worker(address, elsewhere) for _ in range(2)]
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            _stop(process)


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `rules/` and `archive/`, the archive ingested by `hindsight ingest`."""
    root = tmp_path_factory.mktemp("job")
    (root / "logs.ndjson").write_text("\n".join(json.dumps(item) for item in logs()))
    assert main(["ingest", str(root / "logs.ndjson"), "--archive", str(root / "archive")]) == 0
    (root / "rules").mkdir()
    rules = [
        rule(cases=[{"status": "high", "condition": "a > 2"}], name="by user"),
        rule(query("@evt.outcome:success", []), name="ungrouped", window=600),
    ]
    for number, item in enumerate(rules):
        (root / "rules" / f"r{number}.json").write_text(json.dumps(item))
    return root


def _run(job: Path, capsys: pytest.CaptureFixture[str], *options: str) -> list[str]:
    """The jsonl lines `hindsight run` prints, run from the job's folder (relative paths)."""
    capsys.readouterr()
    code = main(["run", "rules", "--archive", "archive", "--format", "jsonl", *options])
    assert code == 0
    return capsys.readouterr().out.splitlines()


def test_run_on_a_cli_started_cluster_equals_a_local_run(
    scheduler: str, job: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(job)
    local = _run(job, capsys)
    assert len(local) > 10
    assert {
        json.loads(line)["attributes"]["attributes"]["workflow"]["rule"]["name"] for line in local
    } == {
        "by user",
        "ungrouped",
    }
    assert _run(job, capsys, "--scheduler", scheduler) == local
    with Client(scheduler) as client:  # the tasks ran there
        ran = client.run_on_scheduler(_compute_seconds)
    assert ran > 0


def _compute_seconds(dask_scheduler: Any) -> float:
    """The compute seconds of the run tasks the scheduler has seen finish."""
    prefix = dask_scheduler.task_prefixes.get("run_task")  # `_run_task`
    return 0.0 if prefix is None else float(prefix.all_durations["compute"])


def test_run_on_a_local_cluster_of_workers(
    job: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(job)
    assert _run(job, capsys, "--workers", "2") == _run(job, capsys)


def test_scheduler_and_workers_are_exclusive(
    job: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(job)
    options = ["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]
    assert main(["run", "rules", "--archive", "archive", *options]) == 2
    assert "--scheduler and --workers are exclusive" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_a_user_error(
    job: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(job)
    monkeypatch.setattr(dask_backend, "CONNECT_SECONDS", 1)
    address = f"tcp://127.0.0.1:{_free_port()}"
    assert main(["run", "rules", "--archive", "archive", "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at {address}" in err and "Traceback" not in err


def test_a_worker_killed_mid_job_leaves_the_results_unchanged(
    scheduler: str, job: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dask_backend, "TASKS_PER_WORKER", 10)  # 30 tasks: some still queued
    rules = load_rules(job / "rules")
    local = run(rules, job / "archive")
    with Client(scheduler) as client:
        others = set(client.scheduler_info()["workers"])
        doomed = _worker(scheduler, tmp_path)
        try:
            client.wait_for_workers(3, timeout=60)
            (address,) = set(client.scheduler_info()["workers"]) - others
            killed: list[int] = []  # how many tasks the worker had when it was killed

            def kill_on_first_task(done: float) -> None:
                if not killed:  # the first task is back: the others are running or queued
                    killed.append(len(client.processing()[address]))
                    _stop(doomed, signal.SIGKILL)

            backend = DaskBackend(client, partitions=30)
            outcome = run(rules, job / "archive", backend=backend, progress=kill_on_first_task)
            assert set(client.scheduler_info()["workers"]) == others
        finally:
            if doomed.poll() is None:
                _stop(doomed)
    assert killed and killed[0] > 0
    assert not outcome.cancelled and outcome.results == local.results
    assert [s.events_matched for s in outcome.stats] == [s.events_matched for s in local.stats]


def test_the_job_service_runs_its_jobs_on_the_cli_started_cluster(
    scheduler: str, job: Path, tmp_path: Path
) -> None:
    rule_json = json.loads((job / "rules" / "r0.json").read_text())
    body = run_body(definition(rule_json, start=T, end=T + 7_200_000))
    documents = []
    with Client(scheduler) as client:
        before = client.run_on_scheduler(_compute_seconds)
    for where in (scheduler, None):
        settings = ServerSettings(
            archive=job / "archive", database=str(tmp_path / f"{where is None}.db"), scheduler=where
        )
        with live_server(settings) as server:
            jobs = f"{server.url}/api/v2/siem-historical-detections/jobs"
            created = httpx.post(jobs, json=body, headers=server.headers(), timeout=30)
            assert created.status_code == 201, created.text
            job_id = created.json()["data"]["id"]
            server.service.runner.wait(job_id, timeout=120)
            status = httpx.get(f"{jobs}/{job_id}", headers=server.headers(), timeout=30)
            assert status.json()["data"]["attributes"]["jobStatus"] == "completed"
            documents.append(documents_of(server.service, job_id))
    on_cluster, local = documents
    assert len(local) > 5 and on_cluster == local
    with Client(scheduler) as client:  # the cluster job's tasks ran there
        assert client.run_on_scheduler(_compute_seconds) > before
