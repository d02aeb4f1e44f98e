"""The results export (`GET /jobs/{id}/histsignals/export?format=ndjson|csv`): a streamed body
that parses back to the job's histsignals, a page of the store at a time; errors in Datadog's
body; and the run manifest a job records (rerun and events from the job store)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from engine.api.routes import histsignals
from engine.cli import main
from engine.service.jobs import job_manifest
from tests.api.conftest import EACH, HISTORICAL, R1, UNKNOWN_JOB, Api, definition, run_body


def export(api: Api, job_id: str, **params: str) -> tuple[int, dict[str, str], bytes]:
    with api.client.stream(
        "GET", f"{HISTORICAL}/jobs/{job_id}/histsignals/export", params=params, headers=api.headers
    ) as response:
        chunks = list(response.iter_bytes())
        return response.status_code, dict(response.headers), b"".join(chunks)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Export 4 results per store read, so a job's 29 results take 8 reads."""
    monkeypatch.setattr(histsignals, "EXPORT_PAGE", 4)


def test_ndjson_export_is_every_histsignal(api: Api, small_pages: None) -> None:
    job_id = api.run(run_body(definition(EACH)))
    api.finish(job_id)
    listed = sorted(api.results(job_id), key=lambda d: (d["attributes"]["timestamp"], d["id"]))
    status, headers, body = export(api, job_id, format="ndjson")
    assert status == 200
    assert headers["content-type"] == "application/x-ndjson"
    assert "content-length" not in headers  # streamed
    documents = [json.loads(line) for line in body.decode().splitlines()]
    assert len(documents) == 29
    assert documents == listed
    _, _, newest_first = export(api, job_id, format="ndjson", sort="-timestamp")
    assert [json.loads(line) for line in newest_first.decode().splitlines()] == listed[::-1]
    bound = listed[10]["attributes"]["timestamp"]
    _, _, later = export(api, job_id, **{"filter[from]": bound})
    assert [json.loads(line)["id"] for line in later.decode().splitlines()] == [
        document["id"] for document in listed[10:]
    ]


def test_csv_export_is_one_row_per_histsignal(api: Api, small_pages: None) -> None:
    jobs = {
        name: api.run(run_body(definition(body))) for name, body in (("each", EACH), ("r1", R1))
    }
    for job_id in jobs.values():
        api.finish(job_id)
    status, headers, body = export(api, jobs["each"], format="csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    frame = pl.read_csv(io.BytesIO(body))
    listed = sorted(
        api.results(jobs["each"]), key=lambda d: (d["attributes"]["timestamp"], d["id"])
    )
    assert frame["id"].to_list() == [document["id"] for document in listed]
    assert frame["severity"].to_list() == ["low"] * 29
    assert frame["tags"].to_list()[0] == ",".join(listed[0]["attributes"]["tags"])
    _, _, grouped = export(api, jobs["r1"], format="csv")
    frame = pl.read_csv(io.BytesIO(grouped))
    assert frame["group.@usr.id"].to_list() == ["alice"]
    (document,) = api.results(jobs["r1"])
    workflow = document["attributes"]["attributes"]["workflow"]
    assert frame["events_matched"].to_list() == [workflow["events_matched"]]


@pytest.mark.parametrize(
    ("job", "params", "status", "detail"),
    [
        pytest.param(
            "mine", {"format": "xml"}, 400, "format: must be one of ndjson, csv", id="format"
        ),
        pytest.param("mine", {"filter[from]": "soon"}, 400, "filter[from]", id="from"),
        pytest.param(UNKNOWN_JOB, {}, 404, f"Job {UNKNOWN_JOB} was not found.", id="unknown"),
    ],
)
def test_export_errors_have_datadog_bodies(
    api: Api, job: str, params: dict[str, str], status: int, detail: str
) -> None:
    job_id = api.run(run_body(definition(R1))) if job == "mine" else job
    response = api.client.get(
        f"{HISTORICAL}/jobs/{job_id}/histsignals/export", params=params, headers=api.headers
    )
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["status"] == str(status)
    assert detail in error["detail"]


def test_a_job_records_its_manifest_and_reruns_from_the_store(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = api.run(run_body(definition(R1)))
    api.finish(job_id)
    record = api.service.jobs.get(job_id)
    assert record is not None
    manifest = job_manifest(record)
    (document,) = api.results(job_id)
    assert set(manifest.documents) == {document["id"]}
    assert manifest.options["job_id"] == job_id
    assert manifest.snapshot.files
    database = str(api.service.db.url)
    capsys.readouterr()
    assert main(["rerun", "--job", job_id, "--db", database]) == 0
    assert capsys.readouterr().out.startswith("identical: 1 result(s) of 1 rule(s)")
    out = tmp_path / "events.jsonl"
    args = ["events", document["id"], "--job", job_id, "--db", database, "--output", str(out)]
    assert main(args) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    inner = document["attributes"]["attributes"]
    assert len(rows) == inner["workflow"]["events_matched"]
    assert {sample["id"] for sample in inner["samples"]} <= {row["id"] for row in rows}
    assert {row["result_id"] for row in rows} == {document["id"]}
    assert main(["events", "nope", "--job", job_id, "--db", database]) == 2
    assert f"job {job_id} has no result 'nope'" in capsys.readouterr().err
