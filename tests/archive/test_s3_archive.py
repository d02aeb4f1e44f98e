"""An archive in an object store (`s3://bucket/prefix`, a moto server on loopback) is written and
read as a local one: the same files, the same results, pruning by hour, run manifests and reruns,
and clear errors naming the URL or the object."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from engine import ingest, rerun, run
from engine.archive.layout import list_data_files
from engine.archive.reader import open_archive
from engine.archive.storage import Storage
from engine.core.errors import ArchiveError, SnapshotChangedError
from engine.results.outcome import JobRun
from tests.detect.builders import T, at
from tests.detect.test_dask import RULES, USERS, logs
from tests.detect.test_impossible_travel import PLACES, access, travel_rule
from tests.detect.test_new_value import DAY, login, new_value_rule

H = 3600


def same(one: JobRun, other: JobRun) -> None:
    """The two runs found the same results (documents, ids, samples) and statistics."""
    assert [r.to_histsignal() for r in one.results] == [r.to_histsignal() for r in other.results]
    assert one.results == other.results
    assert one.events_scanned == other.events_scanned
    assert [(s.rule, s.events_matched, s.results) for s in one.stats] == [
        (s.rule, s.events_matched, s.results) for s in other.stats
    ]


def both(given: list[dict[str, Any]], tmp_path: Path, s3_bucket: str) -> tuple[Path, str]:
    """`given` ingested into a local archive and into `<s3_bucket>/archive`."""
    source = tmp_path / "logs.ndjson"
    source.write_text("\n".join(json.dumps(item) for item in given))
    local, remote = tmp_path / "archive", f"{s3_bucket}/archive"
    ingest(source, local)
    report = ingest(source, remote)
    assert (report.archive, report.events_written) == (remote, len(given))
    return local, remote


def corrupt(folder: Storage, name: str) -> None:
    """Overwrite the middle of an object (its footer stays readable)."""
    data = bytearray(folder.read_bytes(name))
    data[100 : len(data) // 2] = b"\x55" * (len(data) // 2 - 100)
    folder.write_bytes(name, bytes(data))


def travels() -> list[dict[str, Any]]:
    """Accesses from places and logins from countries of 12 users over 3 days."""
    draw = random.Random(3)
    given = []
    for _ in range(300):
        moment = draw.uniform(0, 3 * DAY)
        user = draw.choice(USERS)
        given.append(access(moment, draw.choice(PLACES), user))
        given.append(login(moment + 1, draw.choice(["FR", "US", "JP", "DE"]), user))
    return given


def test_ingest_writes_the_files_of_a_local_archive_and_deduplicates(
    tmp_path: Path, s3_bucket: str
) -> None:
    local, remote = both(logs(), tmp_path, s3_bucket)
    folder = Storage.of(remote).child("index=main")
    names = list_data_files(local / "index=main")
    assert len(names) == 2  # two hour partitions
    assert list_data_files(folder) == names
    entries = open_archive(remote).manifest().files
    for name in names:
        data = folder.read_bytes(name)
        assert data == (local / "index=main" / name).read_bytes()
        assert entries[name].sha256 == hashlib.sha256(data).hexdigest()  # of the bytes written
    assert open_archive(remote).info() == open_archive(local).info()
    again = ingest(tmp_path / "logs.ndjson", remote)
    assert (again.events_written, again.duplicates, again.files_written) == (0, 1500, 0)
    assert list_data_files(folder) == names


def test_a_run_over_s3_equals_the_run_over_the_local_copy(tmp_path: Path, s3_bucket: str) -> None:
    local, remote = both(logs(), tmp_path, s3_bucket)
    here, there = run(RULES, local), run(RULES, remote)
    same(there, here)
    assert {stat.rule for stat in here.stats if stat.results} == {r["name"] for r in RULES}
    assert all(result.samples for result in there.results)


def test_new_value_and_impossible_travel_over_s3(tmp_path: Path, s3_bucket: str) -> None:
    local, remote = both(travels(), tmp_path, s3_bucket)
    rules = [new_value_rule() | {"name": "new"}, travel_rule() | {"name": "travel"}]
    window = {"start": at(DAY), "end": at(3 * DAY)}
    here = run(rules, local, **window)
    assert {r.detection_method for r in here.results} == {"new_value", "impossible_travel"}
    same(run(rules, remote, **window), here)


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Every request the moto server answers from now on: (method, path, query)."""
    seen: list[tuple[str, str, str]] = []
    answer = DomainDispatcherApplication.__call__

    def recording(
        self: DomainDispatcherApplication, environ: dict[str, Any], start: Callable[..., Any]
    ) -> Iterator[bytes]:
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"]))
        found: Iterator[bytes] = answer(self, environ, start)
        return found

    monkeypatch.setattr(DomainDispatcherApplication, "__call__", recording)
    return seen


def test_a_one_hour_run_reads_only_the_objects_of_that_hour(
    tmp_path: Path, s3_bucket: str, requests: list[tuple[str, str, str]]
) -> None:
    # failures of 12 users, one every 10 minutes for 6 hours: 6 hour partitions
    given = [
        {**logs(1, seed=n)[0], "timestamp": T + n * 600_000, "source": "auth"} for n in range(36)
    ]
    _, remote = both(given, tmp_path, s3_bucket)
    bucket = s3_bucket.removeprefix("s3://")
    names = list_data_files(Storage.of(remote).child("index=main"))
    assert len(names) == 6
    requests.clear()
    outcome = run(RULES[:1], remote, start=at(2 * H), end=at(3 * H))
    assert outcome.events_scanned == 6
    objects = {path.removeprefix(f"/{bucket}/archive/index=main/") for _, path, _ in requests}
    data = {name for name in objects if name.endswith(".parquet")}
    (hour,) = [name for name in names if "/hour=02/" in name]
    assert data == {hour}
    lists = [query for method, path, query in requests if path == f"/{bucket}" and method == "GET"]
    assert len(lists) <= 3  # the root and the index folder; never one request per object


def test_the_manifest_records_the_objects_and_a_rerun_detects_a_changed_one(
    tmp_path: Path, s3_bucket: str
) -> None:
    local, remote = both(logs(), tmp_path, s3_bucket)
    first, here = run(RULES, remote), run(RULES, local)
    assert first.manifest is not None and here.manifest is not None
    snapshot = first.manifest.snapshot
    assert (snapshot.kind, snapshot.archive, snapshot.index) == ("archive", remote, "main")
    assert snapshot.files == here.manifest.snapshot.files  # size, rows, range, SHA-256
    assert rerun(first.manifest).identical
    # an object rewritten in place, with one event fewer
    folder = Storage.of(remote).child("index=main")
    name = snapshot.files[0].path
    with folder.open(name) as handle:
        table = pq.read_table(handle)
    folder.write_parquet(name, table.slice(1))
    with pytest.raises(SnapshotChangedError) as caught:
        rerun(first.manifest)
    assert f"changed: {remote}/index=main/{name}" in str(caught.value)


def test_a_corrupt_object_fails_the_run_naming_it(tmp_path: Path, s3_bucket: str) -> None:
    _, remote = both(logs(), tmp_path, s3_bucket)
    folder = Storage.of(remote).child("index=main")
    name = list_data_files(folder)[0]
    corrupt(folder, name)
    with pytest.raises(ArchiveError, match=f"corrupt archive file {remote}/index=main/{name}"):
        run(RULES, remote)


def test_a_truncated_object_fails_only_the_runs_of_its_hour(
    tmp_path: Path, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, remote = both(logs(), tmp_path, s3_bucket)
    folder = Storage.of(remote).child("index=main")
    first, second = list_data_files(folder)
    folder.write_bytes(first, folder.read_bytes(first)[:500])
    with pytest.raises(ArchiveError, match=f"{remote}/index=main/{first}"):
        run(RULES, remote)
    assert f"{remote}/index=main/{first}" in caplog.text  # skipped, with a warning
    later = run(RULES, remote, start=at(H), end=at(2 * H))  # the other hour still runs
    assert later.events_scanned == pq.read_metadata(folder.open(second)).num_rows


def test_a_missing_bucket_is_named(tmp_path: Path, s3_bucket: str) -> None:
    with pytest.raises(
        ArchiveError, match="archive s3://no-such-bucket/x: bucket 'no-such-bucket'"
    ):
        run(RULES, "s3://no-such-bucket/x")
    source = tmp_path / "logs.ndjson"
    source.write_text(json.dumps(logs(1)[0]))
    with pytest.raises(ArchiveError, match="bucket 'no-such-bucket' does not exist"):
        ingest(source, "s3://no-such-bucket/x")


def test_an_empty_prefix_is_not_an_archive(s3_bucket: str) -> None:
    with pytest.raises(ArchiveError, match=f"archive {s3_bucket}/nothing does not exist"):
        open_archive(f"{s3_bucket}/nothing")


def test_missing_credentials_are_named(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ArchiveError, match=f"no credentials for {s3_bucket}/archive: set AWS_"):
        run(RULES, f"{s3_bucket}/archive")


def test_an_unreachable_endpoint_is_named(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
    with pytest.raises(ArchiveError, match=f"cannot read {s3_bucket}/archive: .*127.0.0.1:9"):
        run(RULES, f"{s3_bucket}/archive")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost:9000")
    with pytest.raises(ArchiveError, match="AWS_ENDPOINT_URL 'localhost:9000' is not an http"):
        open_archive(f"{s3_bucket}/archive")


def test_an_unsupported_url_is_named() -> None:
    with pytest.raises(ArchiveError, match="unsupported archive URL 'gs://b/p'"):
        open_archive("gs://b/p")
    with pytest.raises(ArchiveError, match="names no bucket"):
        open_archive("s3://")
