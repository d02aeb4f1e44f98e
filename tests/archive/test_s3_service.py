"""An archive in an object store through the `hindsight` command and the job service: the same
results as the local copy, and user errors (exit 2, a failed job, a Datadog error body) that name
the URL or the object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from engine.archive.layout import list_data_files
from engine.archive.storage import Storage
from engine.cli import main
from engine.service.jobs import JobService
from engine.service.settings import ServiceSettings, load_settings
from tests.api.conftest import HISTORICAL, run_body, serve
from tests.api.conftest import definition as api_definition
from tests.archive.test_s3_archive import corrupt
from tests.conftest import new_bucket
from tests.detect.builders import at, rule
from tests.detect.test_dask import logs
from tests.jobs.test_service import definition, finished
from tests.jobs.test_service_dask import JOB, documents_of

RULE = rule(cases=[{"status": "high", "condition": "a > 2"}], name="failures by user")


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "logs.ndjson"
    path.write_text("\n".join(json.dumps(item) for item in logs()))
    return path


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "r.json").write_text(json.dumps(RULE))
    return folder


def ingested(sources: Path, root: str) -> str:
    assert main(["ingest", str(sources), "--archive", root]) == 0
    return root


def test_cli_ingest_and_run_over_s3_give_the_local_results(
    tmp_path: Path,
    sources: Path,
    rules_dir: Path,
    s3_bucket: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local = ingested(sources, str(tmp_path / "archive"))
    remote = ingested(sources, f"{s3_bucket}/archive")
    assert f"{remote} index main" in capsys.readouterr().out
    found: dict[str, Any] = {}
    for root in (local, remote):
        manifest = tmp_path / "manifest.json"
        command = ["run", str(rules_dir), "--archive", root, "--format", "json"]
        assert main([*command, "--manifest", str(manifest)]) in (0, 1)
        found[root] = json.loads(capsys.readouterr().out)["data"]
    assert len(found[local]) > 5 and found[remote] == found[local]
    assert json.loads(manifest.read_text())["snapshot"]["archive"] == remote
    assert main(["rerun", str(manifest)]) == 0
    assert "identical" in capsys.readouterr().out
    folder = Storage.of(remote).child("index=main")
    name = list_data_files(folder)[0]
    folder.write_bytes(name, folder.read_bytes(name) + b" ")  # changed in place
    assert main(["rerun", str(manifest)]) == 2
    assert f"changed: {remote}/index=main/{name}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("bucket", "s3://no-such-bucket/a", "bucket 'no-such-bucket' does not exist"),
        ("AWS_ACCESS_KEY_ID", None, "no credentials for s3://"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9", "cannot read s3://"),
    ],
)
def test_cli_s3_errors_exit_2_without_a_traceback(
    sources: Path,
    rules_dir: Path,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    value: str | None,
    message: str,
) -> None:
    root = value if setting == "bucket" else f"{s3_bucket}/archive"
    assert root is not None
    if setting != "bucket":
        if value is None:
            monkeypatch.delenv(setting)
        else:
            monkeypatch.setenv(setting, value)
    for command in (["ingest", str(sources)], ["run", str(rules_dir)], ["info"]):
        assert main([*command, "--archive", root]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_cli_a_corrupt_object_exits_2_naming_it(
    sources: Path, rules_dir: Path, s3_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = ingested(sources, f"{s3_bucket}/archive")
    folder = Storage.of(remote).child("index=main")
    name = list_data_files(folder)[0]
    corrupt(folder, name)
    capsys.readouterr()
    assert main(["run", str(rules_dir), "--archive", remote]) == 2
    err = capsys.readouterr().err
    assert f"{remote}/index=main/{name}" in err and "Traceback" not in err


def test_the_job_service_over_s3_gives_the_local_results_and_survives_a_corrupt_object(
    tmp_path: Path, sources: Path, s3_bucket: str
) -> None:
    local = ingested(sources, str(tmp_path / "archive"))
    remote = ingested(sources, f"{s3_bucket}/archive")
    expected: list[dict[str, Any]] = []
    for root in (local, remote):
        database = str(tmp_path / f"{len(expected)}.db")
        service = JobService(ServiceSettings(archive=root, database=database))
        try:
            job = finished(service, service.submit({"jobDefinition": JOB}))
            assert (job.status, job.failure) == ("completed", None)
            found = documents_of(service, job.id)
        finally:
            service.close()
        expected = expected or found
    assert len(expected) > 5 and found == expected
    folder = Storage.of(remote).child("index=main")
    name = list_data_files(folder)[0]
    corrupt(folder, name)
    service = JobService(ServiceSettings(archive=remote, database=str(tmp_path / "c.db")))
    try:
        failed = finished(service, service.submit({"jobDefinition": JOB}))
        assert failed.status == "failed"
        assert failed.failure is not None and f"{remote}/index=main/{name}" in failed.failure
        other_hour = definition(**{"from": at(3600), "to": at(7200)})  # not the corrupt hour
        later = finished(service, service.submit({"jobDefinition": other_hour}))
        assert (later.status, later.failure) == ("completed", None)  # still serving
    finally:
        service.close()


def test_the_api_over_s3_fails_a_job_naming_the_object_and_answers_503_when_s3_is_down(
    tmp_path: Path, sources: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a server of its own, stopped during the test
    own = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    own.start()
    host, port = own.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    remote = ingested(sources, f"{new_bucket(f'http://{host}:{port}')}/archive")
    folder = Storage.of(remote).child("index=main")
    name = list_data_files(folder)[0]
    corrupt(folder, name)
    body = run_body(api_definition(RULE, start=JOB["from"], end=JOB["to"]))
    try:
        with serve(tmp_path, remote) as api:
            job = api.finish(api.run(body))
            assert job["attributes"]["jobStatus"] == "failed"
            assert f"{remote}/index=main/{name}" in job["attributes"]["failureReason"]
            own.stop()
            refused = api.client.post(f"{HISTORICAL}/jobs", json=body, headers=api.headers)
            assert refused.status_code == 503
            (error,) = refused.json()["errors"]
            assert f"cannot read {remote}" in error["detail"] and "127.0.0.1" in error["detail"]
            assert api.client.get(f"{HISTORICAL}/jobs", headers=api.headers).status_code == 200
    finally:
        own.stop()


def test_serve_settings_keep_an_archive_url(tmp_path: Path) -> None:
    config = tmp_path / "hindsight.toml"
    config.write_text('archive = "s3://security-logs/hindsight"\n')
    assert load_settings(config).archive == "s3://security-logs/hindsight"  # not made a path
    config.write_text('archive = "archive"\n')
    assert load_settings(config).archive == str(tmp_path / "archive")


def test_serve_refuses_an_archive_it_cannot_open(
    tmp_path: Path, s3_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(tmp_path / "hindsight.db")
    assert main(["serve", "--archive", "s3://no-such-bucket/a", "--db", database]) == 2
    err = capsys.readouterr().err
    assert "bucket 'no-such-bucket' does not exist" in err and "Traceback" not in err
