"""The job service stores a run's results batch by batch from the run's lazy sequence: the Python
memory a job takes to store them does not grow with their number (issue 10)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from engine.results import export
from engine.results.outcome import JobRun
from engine.rules.validation import validate_job_definition
from engine.service import jobs as service_jobs
from engine.service.jobs import JobService
from engine.service.settings import ServiceSettings
from engine.store.jobs import JobRecord
from tests.detect.builders import archive_of, event
from tests.jobs.test_service import definition
from tests.results.many import BATCH, COUNTS, assert_flat, peak_bytes, spilled_run


def test_storing_a_jobs_results_holds_one_batch_whatever_their_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "RESULT_BATCH", BATCH)
    archive = archive_of([event(0)], tmp_path)
    job = validate_job_definition(definition())
    peaks = []
    for count in COUNTS:  # each in a database of its own (the results' ids are the same)
        settings = ServiceSettings(archive=archive, database=str(tmp_path / f"{count}.db"))
        service = JobService(settings, start=False)
        run = spilled_run(count)  # what `engine.run` returns: a run of several partitions

        def ran(*_: Any, outcome: JobRun = run, **__: Any) -> JobRun:
            return outcome

        monkeypatch.setattr(service_jobs, "run", ran)
        record = JobRecord(
            id=f"job-{count}",
            name=job.name,
            status="pending",
            definition=job.normalized_json(),
            index_name="main",
            from_ms=job.from_,
            to_ms=job.to,
        )
        service.jobs.insert(record)
        peaks.append(peak_bytes(lambda: service.execute(record.id, threading.Event())))  # noqa: B023
        assert service.get(record.id).status == "completed"
        assert {item.id for item in service.results(record.id)} == {r.id for r in run.results}
        service.close()
    assert_flat(peaks, "storing a job's results")
