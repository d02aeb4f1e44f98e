"""`hindsight serve --scheduler`: the job service runs its jobs on a Dask cluster, with the
results of a local run; progress comes from finished tasks, cancel cancels the tasks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client

import engine.scan.backends.dask as dask_backend
import engine.service.jobs as jobs_module
from engine import JobRun, run
from engine.service.jobs import JobService
from engine.service.settings import ServiceSettings
from tests.detect.builders import archive_of, at
from tests.detect.test_dask import logs, scheduler_tasks
from tests.jobs.test_service import definition, finished

pytestmark = pytest.mark.xdist_group("dask")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return archive_of(logs(), tmp_path_factory.mktemp("service-dask"))


def _service(tmp_path: Path, archive: Path, scheduler: str | None) -> JobService:
    database = str(tmp_path / f"{scheduler is not None}.db")
    return JobService(ServiceSettings(archive=archive, database=database, scheduler=scheduler))


@pytest.fixture
def service(tmp_path: Path, archive: Path, dask_client: Client) -> Iterator[JobService]:
    started = _service(tmp_path, archive, dask_client.scheduler.address)
    yield started
    started.close()


JOB = definition(to=at(7200), cases=[{"status": "high", "condition": "a > 2"}])


def test_a_job_on_the_cluster_has_a_local_jobs_results(
    service: JobService, tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates: list[float] = []
    record = service.jobs.progress
    monkeypatch.setattr(
        service.jobs, "progress", lambda job, rate: (rates.append(rate), record(job, rate))[1]
    )
    job = finished(service, service.submit({"jobDefinition": JOB}))
    local_service = _service(tmp_path, archive, None)
    try:
        local = finished(local_service, local_service.submit({"jobDefinition": JOB}))
        expected = documents_of(local_service, local.id)
    finally:
        local_service.close()
    assert (job.status, job.failure) == ("completed", None)
    assert len(expected) > 5 and documents_of(service, job.id) == expected
    assert job.statistics is not None and local.statistics is not None
    assert job.statistics["events_matched"] == local.statistics["events_matched"]
    assert job.statistics["events_scanned"] == local.statistics["events_scanned"]
    # progress: one report per finished task (2 workers: 4 tasks), then 1.0
    assert rates == sorted(rates) and len(rates) >= 4 and rates[-1] == 1.0


def documents_of(service: JobService, job_id: str) -> list[dict[str, Any]]:
    """A job's result documents but for what names the job (its id, and the ids it makes)."""
    documents = [result.document for result in service.results(job_id)]
    for document in documents:
        document.pop("id")
        document["attributes"]["attributes"].pop("job_id")
    return sorted(documents, key=lambda document: str(document["attributes"]))


def test_a_cancelled_job_leaves_no_running_tasks(
    service: JobService, dask_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dask_backend, "TASKS_PER_WORKER", 50)  # 100 tasks: some left to cancel
    record = service.jobs.progress

    def cancel_on_first_task(job: str, rate: float) -> None:
        record(job, rate)
        if 0 < rate < 1 and service.get(job).status == "running":
            service.cancel(job)

    outcomes: list[JobRun] = []

    def recorded(*args: Any, **options: Any) -> JobRun:
        outcomes.append(run(*args, **options))
        return outcomes[-1]

    monkeypatch.setattr(service.jobs, "progress", cancel_on_first_task)
    monkeypatch.setattr(jobs_module, "run", recorded)
    job = service.submit({"jobDefinition": JOB})
    assert finished(service, job).status == "cancelled"
    (outcome,) = outcomes
    assert outcome.cancelled  # the run stopped before its last task
    deadline = time.monotonic() + 10
    while scheduler_tasks(dask_client) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scheduler_tasks(dask_client) == 0
