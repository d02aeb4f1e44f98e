"""The job service without HTTP: submission, the runner, cancel, delete, recovery, conversion."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.archive.layout import list_data_files
from engine.core.errors import ConflictError, InvalidRequestError, NotFoundError, UnknownIndexError
from engine.service.jobs import INTERRUPTED, JobService
from engine.service.settings import ServiceSettings
from engine.store import connect
from engine.store.jobs import JobRecord, JobStore
from tests.detect.builders import T, archive_of, at, event, rule

TC1_EVENTS = [event(s) for s in (0, 60, 120, 180)] + [event(s, "bob") for s in (0, 900)]
R1 = rule(message="{{@usr.id}} failed {{events_matched}} times")


def definition(**changes: Any) -> dict[str, Any]:
    """A job definition of SPEC R1 over the whole test day."""
    body = {
        "from": T,
        "to": at(86_400),
        "index": "main",
        "name": R1["name"],
        "message": R1["message"],
        "queries": R1["queries"],
        "cases": R1["cases"],
        "options": R1["options"],
    }
    body.update(changes)
    return body


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return archive_of(TC1_EVENTS, tmp_path_factory.mktemp("service"))


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "r1-rule.json").write_text(json.dumps(R1))
    (folder / "tc16.json").write_text(
        json.dumps(
            rule(
                cases=[
                    {"status": "critical", "condition": "a > 10"},
                    {"status": "medium", "condition": "a > 0"},
                ],
                name="escalating",
                id="tc1-6xx-abc",
            )
        )
    )
    return folder


@pytest.fixture
def service(tmp_path: Path, archive: Path, rules_dir: Path) -> Iterator[JobService]:
    settings = ServiceSettings(archive=archive, database=str(tmp_path / "jobs.db"), rules=rules_dir)
    started = JobService(settings)
    yield started
    started.close()


def finished(service: JobService, record: JobRecord) -> JobRecord:
    service.runner.wait(record.id, timeout=60)
    return service.get(record.id)


def test_a_job_runs_to_completion_with_results(service: JobService) -> None:
    record = service.submit({"jobDefinition": definition()})
    assert record.status == "pending"
    done = finished(service, record)
    assert (done.status, done.progress_rate, done.failure) == ("completed", 1.0, None)
    assert done.statistics is not None and done.statistics["events_scanned"] == len(TC1_EVENTS)
    (result,) = service.results(record.id)
    document = result.document
    assert document["attributes"]["attributes"]["job_id"] == record.id
    assert document["attributes"]["message"] == "%%%\nalice failed 4 times\n%%%"
    assert service.result(result.id).id == result.id


def test_the_definition_is_stored_normalized(service: JobService) -> None:
    record = service.submit({"jobDefinition": definition()})
    (query,) = record.definition["queries"]
    assert (query["name"], query["dataSource"], query["hasOptionalGroupByFields"]) == (
        "",
        "logs",
        False,
    )
    assert record.definition["options"]["detectionMethod"] == "threshold"


@pytest.mark.parametrize(
    ("attributes", "error", "message"),
    [
        pytest.param([], InvalidRequestError, "must be an object", id="not-an-object"),
        pytest.param({}, InvalidRequestError, "exactly one of", id="neither"),
        pytest.param(
            {"jobDefinition": definition(), "fromRule": {"id": "x"}},
            InvalidRequestError,
            "exactly one of",
            id="both",
        ),
        pytest.param(
            {"jobDefinition": definition(index="nope")},
            UnknownIndexError,
            "Index must exist",
            id="unknown-index",
        ),
        pytest.param(
            {"jobDefinition": definition(options={**R1["options"], "keepAlive": 999_999})},
            InvalidRequestError,
            "options.keepAlive",
            id="keep-alive-not-an-allowed-value",
        ),
        pytest.param(
            {"jobDefinition": definition(options={**R1["options"], "evaluationWindow": 3600})},
            InvalidRequestError,
            "evaluationWindow",
            id="window-longer-than-keep-alive",
        ),
        pytest.param(
            {"fromRule": {"id": "no-such-rule", "from": T, "to": at(60), "index": "main"}},
            NotFoundError,
            "no-such-rule",
            id="unknown-rule",
        ),
        pytest.param(
            {
                "fromRule": {
                    "id": "r1-rule",
                    "from": T,
                    "to": at(60),
                    "index": "main",
                    "caseIndex": 3,
                }
            },
            InvalidRequestError,
            "caseIndex",
            id="case-index-out-of-range",
        ),
        pytest.param(
            {"jobDefinition": definition(), "signalOutput": "yes"},
            InvalidRequestError,
            "signalOutput",
            id="signal-output-not-boolean",
        ),
    ],
)
def test_refused_submissions(
    service: JobService, attributes: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        service.submit(attributes)
    assert service.jobs.all() == []


def test_from_rule_uses_the_library_rule_and_case_index(service: JobService) -> None:
    record = service.submit(
        {
            "fromRule": {
                "id": "tc1-6xx-abc",
                "from": T,
                "to": at(86_400),
                "index": "main",
                "caseIndex": 1,
            }
        }
    )
    assert record.created_from_rule_id == "tc1-6xx-abc"
    done = finished(service, record)
    assert done.status == "completed"
    severities = {result.severity for result in service.results(record.id)}
    assert severities == {"medium"}
    (result, *_) = service.results(record.id)
    assert result.document["attributes"]["attributes"]["workflow"]["rule"]["id"] == "tc1-6xx-abc"


def test_library_rules_are_known_by_id_or_file_name(service: JobService) -> None:
    assert set(service.library) == {"r1-rule", "tc1-6xx-abc"}


def test_cancel_and_delete_conflicts(service: JobService) -> None:
    record = finished(service, service.submit({"jobDefinition": definition()}))
    with pytest.raises(ConflictError):
        service.cancel(record.id)
    service.delete(record.id)
    with pytest.raises(NotFoundError, match=f"Job {record.id} was not found."):
        service.get(record.id)
    assert service.jobs.results(record.id) == []


def test_cancel_stops_a_running_job_and_delete_waits_for_it(tmp_path: Path, archive: Path) -> None:
    gate = threading.Event()
    settings = ServiceSettings(archive=archive, database=str(tmp_path / "j.db"))
    service = JobService(settings)
    original = service.execute

    def slow(job_id: str, stop: threading.Event) -> None:
        gate.wait(10)
        original(job_id, stop)

    service.runner._execute = slow  # hold the job in the worker until cancelled
    try:
        record = service.submit({"jobDefinition": definition()})
        with pytest.raises(ConflictError, match="cancel it before deleting"):
            service.delete(record.id)
        service.cancel(record.id)
        gate.set()
        assert finished(service, record).status == "cancelled"
        service.delete(record.id)
    finally:
        service.close()


def test_unknown_jobs(service: JobService) -> None:
    for action in (service.get, service.cancel, service.delete, service.results):
        with pytest.raises(NotFoundError):
            action("8d3b0e4e-2f0d-4bde-9a8a-1c2b3d4e5f60")


def test_restart_fails_interrupted_jobs_and_resumes_pending_ones(
    tmp_path: Path, archive: Path
) -> None:
    database = str(tmp_path / "restart.db")
    jobs = JobStore(connect(database))
    base: dict[str, Any] = {
        "name": "x",
        "definition": {
            "from": T,
            "to": at(86_400),
            "index": "main",
            "name": "x",
            "message": "",
            "queries": R1["queries"],
            "cases": R1["cases"],
            "options": R1["options"],
        },
        "index_name": "main",
        "from_ms": T,
        "to_ms": at(86_400),
    }
    jobs.insert(JobRecord(id="11111111-1111-4111-8111-111111111111", status="running", **base))
    jobs.insert(JobRecord(id="22222222-2222-4222-8222-222222222222", status="pending", **base))
    service = JobService(ServiceSettings(archive=archive, database=database))
    try:
        interrupted = service.get("11111111-1111-4111-8111-111111111111")
        assert (interrupted.status, interrupted.failure) == ("failed", INTERRUPTED)
        resumed = finished(service, service.get("22222222-2222-4222-8222-222222222222"))
        assert resumed.status == "completed"
    finally:
        service.close()


def test_a_corrupt_archive_file_fails_the_job_with_its_name_and_the_service_stays_up(
    tmp_path: Path, archive: Path
) -> None:
    broken = tmp_path / "archive"
    shutil.copytree(archive, broken)
    name = list_data_files(broken / "index=main")[0]
    path = broken / "index=main" / name
    data = bytearray(path.read_bytes())
    data[100 : len(data) // 2] = b"\x55" * (len(data) // 2 - 100)
    path.write_bytes(bytes(data))
    service = JobService(ServiceSettings(archive=broken, database=str(tmp_path / "c.db")))
    try:
        failed = finished(service, service.submit({"jobDefinition": definition()}))
        assert failed.status == "failed"
        assert failed.failure is not None and path.name in failed.failure
        later = service.submit({"jobDefinition": definition(to=at(1))})  # still serving
        assert finished(service, later).status in ("completed", "failed")
    finally:
        service.close()


def test_result_cap_truncates_visibly(tmp_path: Path, archive: Path) -> None:
    settings = ServiceSettings(
        archive=archive, database=str(tmp_path / "cap.db"), max_results_per_job=1
    )
    service = JobService(settings)
    try:
        each = definition(
            cases=[{"status": "info", "condition": "a > 0"}],
            options={"evaluationWindow": 0, "keepAlive": 0, "maxSignalDuration": 0},
        )
        done = finished(service, service.submit({"jobDefinition": each}))
        assert (done.status, done.truncated) == ("completed", True)
        assert len(service.results(done.id)) == 1
    finally:
        service.close()


def test_maximum_range(tmp_path: Path, archive: Path) -> None:
    settings = ServiceSettings(archive=archive, database=str(tmp_path / "r.db"), max_range_days=1)
    service = JobService(settings)
    try:
        with pytest.raises(InvalidRequestError, match="maximum of 1 days"):
            service.submit({"jobDefinition": definition(to=at(2 * 86_400))})
    finally:
        service.close()


def test_conversion_is_idempotent_and_marks_the_result(service: JobService) -> None:
    done = finished(service, service.submit({"jobDefinition": definition()}))
    (result,) = service.results(done.id)
    (signal,) = service.convert(
        [result.id], severity="critical", message="Confirmed", notifications=["@slack-soc"]
    )
    assert signal.severity == "critical"
    assert signal.document["attributes"]["message"] == "%%%\nConfirmed\n%%%"
    assert signal.document["attributes"]["attributes"]["workflow"]["triage"]["state"] == "open"
    assert service.result(result.id).signal_id == signal.id
    (again,) = service.convert([result.id], severity="low", message="x", notifications=[])
    assert (again.id, again.severity) == (signal.id, "critical")
    service.deliveries.join()  # notifications are delivered in the background
    (delivery,) = service.signals.deliveries(signal_id=signal.id)
    assert (delivery.target, delivery.outcome) == ("@slack-soc", "undelivered")


@pytest.mark.parametrize(
    ("ids", "error", "message"),
    [
        pytest.param([""], InvalidRequestError, "empty jobResultId provided", id="empty-id"),
        pytest.param([], InvalidRequestError, "empty jobResultId provided", id="no-ids"),
        pytest.param(["nope"], NotFoundError, "nope", id="unknown-id"),
    ],
)
def test_conversion_errors(
    service: JobService, ids: list[str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        service.convert(ids, severity="high", message="m", notifications=[])


def test_from_rule_notifications_are_sent_when_the_job_completes(service: JobService) -> None:
    record = service.submit(
        {
            "fromRule": {
                "id": "r1-rule",
                "from": T,
                "to": at(86_400),
                "index": "main",
                "notifications": ["@webhook-missing", "@pagerduty-oncall"],
            }
        }
    )
    finished(service, record)
    service.deliveries.join()
    deliveries = service.signals.deliveries(job_id=record.id)
    assert [(d.target, d.outcome) for d in deliveries] == [
        ("@webhook-missing", "undelivered"),
        ("@pagerduty-oncall", "undelivered"),
    ]
    assert "no webhook named 'missing'" in deliveries[0].detail


def test_rules_resource(service: JobService) -> None:
    created = service.create_rule(R1)
    assert created["version"] == 1 and created["isDefault"] is False
    updated = service.update_rule(created["id"], {"name": "renamed"})
    assert (updated["version"], updated["name"], updated["createdAt"]) == (
        2,
        "renamed",
        created["createdAt"],
    )
    assert service.find_rule(created["id"]) is not None
    with pytest.raises(InvalidRequestError, match="read-only"):
        service.delete_rule("r1-rule")
    with pytest.raises(InvalidRequestError, match=r"cases\[0\]\.status"):
        service.create_rule({**R1, "cases": [{"status": "urgent", "condition": "a > 0"}]})
    service.delete_rule(created["id"])
    with pytest.raises(NotFoundError):
        service.rule_document(created["id"])


def test_the_whole_lifecycle_on_postgresql(postgres_server: str, archive: Path) -> None:
    url = postgres_server.format(database="postgres")
    service = JobService(ServiceSettings(archive=archive, database=url))
    try:
        done = finished(service, service.submit({"jobDefinition": definition()}))
        assert done.status == "completed"
        (result,) = service.results(done.id)
        (signal,) = service.convert([result.id], severity="high", message="m", notifications=[])
        assert service.signals.get(signal.id) is not None
        service.delete(done.id)
        assert service.jobs.get(done.id) is None
    finally:
        service.close()


def test_a_missing_archive_file_fails_the_job_with_its_name(tmp_path: Path, archive: Path) -> None:
    copied = tmp_path / "archive"
    shutil.copytree(archive, copied)
    service = JobService(ServiceSettings(archive=copied, database=str(tmp_path / "m.db")))
    try:
        name = list_data_files(copied / "index=main")[0]
        (copied / "index=main" / name).unlink()  # gone after the server opened the archive
        failed = finished(service, service.submit({"jobDefinition": definition()}))
        assert failed.status == "failed"
        assert failed.failure is not None and name.rsplit("/", 1)[1] in failed.failure
    finally:
        service.close()
