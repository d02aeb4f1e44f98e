"""Each format's record -> event mapping: happy paths, malformed records, timestamp override."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from engine.archive.event import LogEvent, normalize_event
from engine.archive.formats import Rejected, read_events
from engine.archive.formats.mapping import resolve_path
from engine.archive.sources import InputFile, expand_sources

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
ISO = "2024-01-01T00:00:00.000Z"


def _input(tmp_path: Path, name: str, data: bytes) -> InputFile:
    path = tmp_path / name
    path.write_bytes(data)
    (item,) = expand_sources([path])
    return item


def _ndjson(records: list[Any]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def _read(item: InputFile, **options: Any) -> tuple[list[LogEvent], list[Rejected]]:
    events: list[LogEvent] = []
    rejected: list[Rejected] = []
    for result in read_events(item, **options):
        if isinstance(result, Rejected):
            rejected.append(result)
        else:
            events.append(result)
    return events, rejected


def _event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "timestamp": T0,
        "host": None,
        "service": None,
        "source": None,
        "status": None,
        "message": None,
        "trace_id": None,
        "tags": [],
        "attributes": {},
    }
    return base | fields


ARCHIVE_LINE = {
    "_id": "AYNqUBVUAAB2Awzm07PRqwAA",
    "date": ISO,
    "host": "i-0abc",
    "service": "auth",
    "source": "okta",
    "status": "INFO",
    "message": "User login failed",
    "trace_id": "123",
    "span_id": "456",
    "tags": ["env:prod", "source:okta"],
    "attributes": {"usr": {"id": "alice"}, "span_id": "kept"},
}
LOGS_API_ITEM = {
    "id": "AQAAAYx",
    "type": "log",
    "attributes": {
        "timestamp": ISO,
        "host": "web-1",
        "service": "api",
        "status": "warn",
        "message": "slow",
        "tags": ["Source:nginx", "env:prod"],
        "attributes": {"http": {"status_code": 500}},
        "extra": 1,
    },
}
INTAKE_PAYLOAD = {
    "ddsource": "nginx",
    "ddtags": "env:prod,Team:Sec",
    "hostname": "web-1",
    "service": "api",
    "message": "GET /",
    "status": "info",
    "date": T0,
    "http": {"method": "GET"},
    "host": "other",
}
SAMPLE_CONTENT = {
    "custom": {"usr": {"name": "bob"}, "evt": {"severity": "Low"}},
    "message": "MFA modified",
    "service": "okta",
    "tags": ["source:LOGS_SOURCE"],
    "timestamp": T0,
}
CANONICAL = {
    "id": "e1",
    "timestamp": ISO,
    "host": "h",
    "message": "m",
    "tags": "a:b,C",
    "attributes": {"x": 1},
    "extra": {"y": 2},
}
GENERIC = {
    "Hostname": "WORKSTATION5",
    "host": "collector",
    "Channel": "Security",
    "Message": "An account failed to log on.",
    "TimeCreated": "2024-01-01 00:00:00.000",
    "EventID": 4625,
}


@pytest.mark.parametrize(
    ("format", "records", "expected"),
    [
        pytest.param(
            "datadog-archive",
            [ARCHIVE_LINE],
            _event(
                id="AYNqUBVUAAB2Awzm07PRqwAA",
                host="i-0abc",
                service="auth",
                source="okta",
                status="info",
                message="User login failed",
                trace_id="123",
                tags=["env:prod", "source:okta"],
                attributes={"usr": {"id": "alice"}, "span_id": "kept"},
            ),
            id="datadog-archive",
        ),
        pytest.param(
            "logs-api",
            [{"data": [LOGS_API_ITEM], "links": {"next": None}}],
            _event(
                id="AQAAAYx",
                host="web-1",
                service="api",
                source="nginx",
                status="warn",
                message="slow",
                tags=["source:nginx", "env:prod"],
                attributes={"http": {"status_code": 500}, "extra": 1},
            ),
            id="logs-api-page",
        ),
        pytest.param(
            "logs-api",
            [LOGS_API_ITEM],
            _event(
                id="AQAAAYx",
                host="web-1",
                service="api",
                source="nginx",
                status="warn",
                message="slow",
                tags=["source:nginx", "env:prod"],
                attributes={"http": {"status_code": 500}, "extra": 1},
            ),
            id="logs-api-item-lines",
        ),
        pytest.param(
            "intake",
            [INTAKE_PAYLOAD],
            _event(
                host="web-1",
                service="api",
                source="nginx",
                status="info",
                message="GET /",
                tags=["env:prod", "team:sec"],
                attributes={"http": {"method": "GET"}, "host": "other"},
            ),
            id="intake",
        ),
        pytest.param(
            "ndjson",
            [SAMPLE_CONTENT],
            _event(
                service="okta",
                message="MFA modified",
                tags=["source:logs_source"],
                attributes={"usr": {"name": "bob"}, "evt": {"severity": "Low"}},
            ),
            id="ndjson-sample-content",
        ),
        pytest.param(
            "ndjson",
            [CANONICAL],
            _event(
                id="e1",
                host="h",
                message="m",
                tags=["a:b", "c"],
                attributes={"x": 1, "extra": {"y": 2}},
            ),
            id="ndjson-canonical",
        ),
        pytest.param(
            "json",
            [GENERIC],
            _event(
                host="WORKSTATION5",
                service="Security",
                message="An account failed to log on.",
                attributes=GENERIC,
            ),
            id="json-windows-nxlog",
        ),
    ],
)
@pytest.mark.parametrize("layout", ["lines", "array"])
def test_happy_path(
    tmp_path: Path, layout: str, format: str, records: list[Any], expected: dict[str, Any]
) -> None:
    data = _ndjson(records) if layout == "lines" else json.dumps(records, indent=2).encode()
    events, rejected = _read(_input(tmp_path, "in.json", data), format=format)
    assert rejected == []
    (event,) = events
    found = dict(event)
    if "id" not in expected:
        assert found.pop("id").startswith("h")  # derived from the content
    assert found == expected


def test_ndjson_maps_canonical_records_like_normalize_event(tmp_path: Path) -> None:
    events, _ = _read(_input(tmp_path, "a.json", _ndjson([CANONICAL])), format="ndjson")
    assert events == [normalize_event(CANONICAL)]


def test_datadog_archive_reads_a_gzip_archive_tree(tmp_path: Path) -> None:
    for hour in (0, 1):
        folder = tmp_path / "dt=20240101" / f"hour={hour:02d}"
        folder.mkdir(parents=True)
        line = {**ARCHIVE_LINE, "_id": f"id-{hour}", "date": T0 + hour * 3_600_000}
        (folder / f"archive_{hour}.json.gz").write_bytes(gzip.compress(_ndjson([line])))
    ids = []
    for item in expand_sources([tmp_path]):
        events, rejected = _read(item, format="auto")
        assert rejected == []
        ids += [(event["id"], event["timestamp"]) for event in events]
    assert ids == [("id-0", T0), ("id-1", T0 + 3_600_000)]


BAD_RECORDS: dict[str, tuple[list[Any], str]] = {
    "datadog-archive": ([{"_id": "x", "message": "no date"}], "no timestamp (looked for date"),
    "ndjson": ([{"message": "m", "attributes": [1]}], "attributes must be an object"),
    "logs-api": (
        [{"id": "x", "type": "log", "attributes": "oops"}],
        "needs an `attributes` object",
    ),
    "intake": ([{"ddsource": "x", "message": "m", "date": "yesterday"}], "is not a date"),
    "cloudtrail": ([{"eventName": "X", "eventSource": "s", "eventID": "1"}], "no timestamp"),
    "json": ([{"Message": "no time at all"}], "no timestamp (looked for timestamp, @timestamp"),
}
GOOD_RECORDS: dict[str, dict[str, Any]] = {
    "datadog-archive": ARCHIVE_LINE,
    "ndjson": CANONICAL,
    "logs-api": LOGS_API_ITEM,
    "intake": INTAKE_PAYLOAD,
    "cloudtrail": {"eventName": "X", "eventSource": "s", "eventTime": ISO, "eventID": "e"},
    "json": GENERIC,
}


@pytest.mark.parametrize("format", sorted(BAD_RECORDS))
def test_malformed_records_are_rejected_with_line_and_reason_and_the_rest_is_read(
    tmp_path: Path, format: str
) -> None:
    bad, reason = BAD_RECORDS[format]
    good = GOOD_RECORDS[format]
    lines = _ndjson([good]) + b"{not json\n" + _ndjson([*bad, [1, 2], "text", good])
    item = _input(tmp_path, "in.json", lines)
    events, rejected = _read(item, format=format)
    assert len(events) == 2
    assert [(r.source, r.line) for r in rejected] == [(item.name, n) for n in (2, 3, 4, 4, 5)]
    assert rejected[0].reason.startswith("invalid JSON")
    assert reason in rejected[1].reason
    assert rejected[2].reason == "a log record must be a JSON object, not a number"
    assert rejected[4].reason == "a log record must be a JSON object, not a string"


@pytest.mark.parametrize(
    ("record", "field", "expected"),
    [
        pytest.param({"@timestamp": ISO, "time": 5}, "@timestamp", T0, id="literal-at-key"),
        pytest.param({"evt": {"time": ISO}}, "@evt.time", T0, id="at-prefixed-attribute-path"),
        pytest.param({"a": {"b": {"c": T0}}}, "a.b.c", T0, id="nested-path"),
        pytest.param({"a.b": T0, "a": {"b": 5}}, "a.b", T0, id="literal-dotted-key-wins"),
        pytest.param({"EventTime": "2024-01-01 00:00:00"}, "EventTime", T0, id="naive-text-is-utc"),
    ],
)
def test_timestamp_field_override(
    tmp_path: Path, record: dict[str, Any], field: str, expected: int
) -> None:
    events, rejected = _read(
        _input(tmp_path, "a.json", _ndjson([record])), format="json", timestamp_field=field
    )
    assert rejected == []
    assert events[0]["timestamp"] == expected


def test_timestamp_field_reaches_into_mapped_attributes(tmp_path: Path) -> None:
    line = {**ARCHIVE_LINE, "attributes": {"evt": {"time": T0 + 5}}}
    item = _input(tmp_path, "a.json", _ndjson([line]))
    events, _ = _read(item, format="datadog-archive", timestamp_field="@evt.time")
    assert events[0]["timestamp"] == T0 + 5


def test_a_missing_timestamp_field_is_named_in_the_reason(tmp_path: Path) -> None:
    item = _input(tmp_path, "a.json", _ndjson([GENERIC]))
    _, rejected = _read(item, format="json", timestamp_field="@timestamp")
    assert [r.reason for r in rejected] == ["no timestamp: the record has no '@timestamp'"]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            {"timestamp": ISO, "@timestamp": "2020-01-01T00:00:00Z"}, T0, id="timestamp-first"
        ),
        pytest.param(
            {"@timestamp": ISO, "EventTime": "2020-01-01 00:00:00"},
            T0,
            id="at-timestamp-over-eventtime",
        ),
        pytest.param({"TimeGenerated": ISO}, T0, id="azure-timegenerated"),
        pytest.param({"eventTime": ISO}, T0, id="eventtime"),
        pytest.param({"time": T0 // 1000}, T0, id="epoch-seconds"),
    ],
)
def test_generic_json_default_timestamp_keys(
    tmp_path: Path, record: dict[str, Any], expected: int
) -> None:
    events, rejected = _read(_input(tmp_path, "a.json", _ndjson([record])), format="json")
    assert rejected == []
    assert events[0]["timestamp"] == expected


def test_generic_json_skips_object_valued_host(tmp_path: Path) -> None:
    record = {
        "@timestamp": ISO,
        "host": {"name": "ecs-style"},
        "hostname": "plain",
        "level": "WARN",
    }
    events, _ = _read(_input(tmp_path, "a.json", _ndjson([record])), format="json")
    assert (events[0]["host"], events[0]["status"]) == ("plain", "warn")
    assert events[0]["attributes"] == record


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        pytest.param("9999-12-31T23:59:59Z", True, id="year-9999"),
        pytest.param(1e30, False, id="absurd-epoch"),
    ],
)
def test_timestamps_must_fit_a_date(tmp_path: Path, value: Any, ok: bool) -> None:
    events, rejected = _read(
        _input(tmp_path, "a.json", _ndjson([{"timestamp": value, "message": "m"}])),
        format="ndjson",
    )
    assert (len(events), len(rejected)) == ((1, 0) if ok else (0, 1))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("a.b", 1, id="nested"),
        pytest.param("@a.b", 1, id="at-dropped"),
        pytest.param("@x", 2, id="literal-at"),
        pytest.param("k.l", 3, id="literal-dotted"),
        pytest.param("a.c", None, id="missing"),
        pytest.param("a.b.c", None, id="through-a-scalar"),
    ],
)
def test_resolve_path(path: str, expected: Any) -> None:
    record = {"a": {"b": 1}, "@x": 2, "k.l": 3}
    assert resolve_path(record, path) == expected
