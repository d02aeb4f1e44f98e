"""The API's documents and paging pieces on their own: job objects (checked with the official
client's models), PostgreSQL times, the `custom` form, cursors and filter times."""

from __future__ import annotations

import json
from typing import Any

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v2.model.historical_job_response import HistoricalJobResponse
from datadog_api_client.v2.model.security_monitoring_signal_response import (
    SecurityMonitoringSignalResponse,
)

from engine.api.documents import job_document, postgres_time, single_form
from engine.api.errors import ApiError
from engine.api.paging import decode_cursor, encode_cursor, parse_time
from engine.core.times import LATEST_MS
from engine.core.times import format_timestamp as iso_time
from engine.store.jobs import JobRecord
from tests.detect.builders import T

DEFINITION = {
    "from": T,
    "to": T + 60_000,
    "index": "main",
    "name": "R1",
    "message": "m",
    "queries": [{"query": "source:auth", "name": "", "aggregation": "count"}],
    "cases": [{"status": "high", "name": "", "condition": "a > 3", "notifications": []}],
    "options": {"detectionMethod": "threshold", "evaluationWindow": 300},
}


def record(status: str, **fields: Any) -> JobRecord:
    return JobRecord(
        id="8e2a37fb-b0c8-4761-a7f0-0a8d6a98ba93",
        name="R1",
        status=status,
        definition=DEFINITION,
        index_name="main",
        from_ms=T,
        to_ms=T + 60_000,
        created_by_handle="alice",
        created_by_name="Alice",
        created_us=1_762_897_017_303_304,
        modified_us=1_762_897_018_000_000,
        **fields,
    )


def client_view(body: dict[str, Any], model: type) -> Any:
    """`body` as the official client reads it (types checked)."""
    with ApiClient(Configuration()) as client:
        return client.deserialize(json.dumps(body), (model,), True)


@pytest.mark.parametrize(
    ("epoch_us", "text"),
    [
        (0, "1970-01-01 00:00:00.000000+00"),
        (1_762_897_017_303_304, "2025-11-11 21:36:57.303304+00"),
        (1_704_067_200_000_001, "2024-01-01 00:00:00.000001+00"),
    ],
    ids=["epoch", "recorded-example", "one-microsecond"],
)
def test_postgres_time_is_the_recorded_text_form(epoch_us: int, text: str) -> None:
    assert postgres_time(epoch_us) == text


JOB_CASES: list[tuple[str, JobRecord, dict[str, Any]]] = [
    ("pending", record("pending"), {}),
    ("running", record("running", progress_rate=0.25), {"progressRate": 0.25}),
    ("running-before-progress", record("running"), {"progressRate": 0.0}),
    ("completed", record("completed", progress_rate=1.0), {"progressRate": 1.0}),
    (
        "completed-truncated",
        record("completed", progress_rate=1.0, truncated=True),
        {"progressRate": 1.0, "truncated": True},
    ),
    (
        "failed",
        record("failed", failure="archive is corrupt"),
        {"failureReason": "archive is corrupt"},
    ),
    ("cancelled-mid-run", record("cancelled", progress_rate=0.5), {}),
    (
        "from-rule",
        record("completed", created_from_rule_id="abc-def-ghi"),
        {"progressRate": 1.0, "createdFromRuleId": "abc-def-ghi"},
    ),
]


@pytest.mark.parametrize(
    ("job", "extra"), [case[1:] for case in JOB_CASES], ids=[case[0] for case in JOB_CASES]
)
def test_job_document_per_status(job: JobRecord, extra: dict[str, Any]) -> None:
    assert job_document(job) == {
        "id": job.id,
        "type": "historicalDetectionsJob",
        "attributes": {
            "createdAt": "2025-11-11 21:36:57.303304+00",
            "modifiedAt": "2025-11-11 21:36:58.000000+00",
            "createdByHandle": "alice",
            "createdByName": "Alice",
            "jobDefinition": DEFINITION,
            "jobName": "R1",
            "jobStatus": job.status,
            "signalOutput": False,
            **extra,
        },
    }


@pytest.mark.parametrize(
    "job", [case[1] for case in JOB_CASES], ids=[case[0] for case in JOB_CASES]
)
def test_the_official_client_reads_every_job_document_with_its_extra_attributes(
    job: JobRecord,
) -> None:
    document = job_document(job)
    attributes = client_view({"data": document}, HistoricalJobResponse).data.attributes
    assert attributes.job_status == job.status
    assert attributes.created_at == document["attributes"]["createdAt"]
    names = {
        "failureReason": "failureReason",  # extra attributes keep their wire name
        "truncated": "truncated",
        "progressRate": "progress_rate",  # modelled ones are read into the model's names
        "createdFromRuleId": "created_from_rule_id",
    }
    for wire, read in names.items():
        assert attributes.get(read) == document["attributes"].get(wire)


def test_single_form_moves_only_the_inner_map() -> None:
    listed = {
        "id": "r1",
        "type": "signal",
        "attributes": {
            "message": "m",
            "timestamp": "2024-01-01T00:03:00.000Z",
            "tags": ["source:auth"],
            "status": "high",
            "attributes": {"title": "R1"},
        },
    }
    single = single_form(listed)
    assert single == {
        "id": "r1",
        "type": "signal",
        "attributes": {
            "message": "m",
            "timestamp": "2024-01-01T00:03:00.000Z",
            "tags": ["source:auth"],
            "status": "high",
            "custom": {"title": "R1"},
        },
    }
    assert listed["attributes"]["attributes"] == {"title": "R1"}  # the input is left alone
    view = client_view({"data": single}, SecurityMonitoringSignalResponse)
    assert view.data.attributes.custom == {"title": "R1"}


@pytest.mark.parametrize(
    "key",
    [(0, ""), (T, "0123456789abcdef"), (-5, "ü/+=?&"), (LATEST_MS, "x" * 128)],
    ids=["zero", "typical", "odd-characters", "large"],
)
def test_cursors_round_trip_and_are_url_safe(key: tuple[int, str]) -> None:
    cursor = encode_cursor(key)
    assert decode_cursor("page[cursor]", cursor) == key
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    ["%%%", "bm90IGpzb24", encode_cursor((1, "a"))[:-3], "WyJhIiwiYiJd", "W3RydWUsImEiXQ"],
    ids=["not-base64", "not-json", "truncated", "string-timestamp", "boolean-timestamp"],
)
def test_foreign_cursors_are_400(cursor: str) -> None:
    with pytest.raises(ApiError) as refused:
        decode_cursor("page[cursor]", cursor)
    assert refused.value.status == 400
    assert refused.value.errors[0]["detail"] == (
        "page[cursor]: invalid cursor (not a cursor this server returned)"
    )


@pytest.mark.parametrize(
    ("value", "epoch_ms"),
    [
        ("2024-01-01T00:00:00Z", T),
        ("2024-01-01T00:00:00.123Z", T + 123),
        ("2024-01-01T00:00:00.123456z", T + 123),
        ("2024-01-01T01:00:00+01:00", T),
        ("2024-01-01T00:00:00", T),
        ("2024-01-01", T),
        (str(T), T),
        (T, T),
        ("-1000", -1000),
        (None, None),
    ],
    ids=[
        "utc",
        "millis",
        "micros-lower-z",
        "offset",
        "naive-is-utc",
        "date",
        "epoch-text",
        "epoch-int",
        "before-1970",
        "absent",
    ],
)
def test_filter_times_are_rfc3339_or_epoch_ms(
    value: str | int | None, epoch_ms: int | None
) -> None:
    assert parse_time("filter[from]", value) == epoch_ms


@pytest.mark.parametrize(
    "value",
    ["now", "2024-02-30T00:00:00Z", "1.5", True],
    ids=["word", "no-such-day", "fraction", "boolean"],
)
def test_bad_filter_times_are_400_naming_the_parameter(value: str | bool) -> None:
    with pytest.raises(ApiError) as refused:
        parse_time("filter[to]", value)
    assert refused.value.status == 400
    assert refused.value.errors[0]["detail"].startswith("filter[to]: must be")


@pytest.mark.parametrize(
    ("epoch_ms", "text"),
    [
        (T, "2024-01-01T00:00:00.000Z"),
        (T + 999, "2024-01-01T00:00:00.999Z"),
        (-1500, "1969-12-31T23:59:58.500Z"),
    ],
    ids=["whole-second", "last-millisecond", "before-1970"],
)
def test_links_write_times_in_rfc3339_that_read_back(epoch_ms: int, text: str) -> None:
    assert iso_time(epoch_ms) == text
    assert parse_time("filter[from]", text) == epoch_ms
