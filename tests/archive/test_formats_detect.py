"""`--format auto`: which format a file's content looks like."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from engine.archive.formats import Rejected, detect_format, read_events
from engine.archive.formats.detect import sniff
from engine.archive.sources import InputFile, expand_sources

ISO = "2024-01-01T00:00:00Z"
CLOUDTRAIL = {"eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "eventTime": ISO}
LOGS_API = {"id": "a", "type": "log", "attributes": {"timestamp": ISO, "attributes": {}}}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param({"Records": [CLOUDTRAIL]}, "cloudtrail", id="cloudtrail-file"),
        pytest.param({"Records": []}, "cloudtrail", id="cloudtrail-empty-file"),
        pytest.param(CLOUDTRAIL, "cloudtrail", id="cloudtrail-record"),
        pytest.param(
            {"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "@timestamp": ISO},
            "cloudtrail",
            id="cloudtrail-logstash-record",
        ),
        pytest.param({"eventSource": "x", "eventName": "y"}, "json", id="event-names-only"),
        pytest.param({"_id": "x", "date": ISO, "message": "m"}, "datadog-archive", id="archive"),
        pytest.param(LOGS_API, "logs-api", id="logs-api-item"),
        pytest.param({"data": [LOGS_API], "links": {}}, "logs-api", id="logs-api-page"),
        pytest.param({"data": [], "meta": {}}, "logs-api", id="logs-api-empty-page"),
        pytest.param({"data": [], "timestamp": ISO, "message": "m"}, "ndjson", id="data-key-alone"),
        pytest.param(
            {"type": "log", "attributes": {"x": 1}, "timestamp": ISO}, "ndjson", id="flat-type-log"
        ),
        pytest.param({"ddsource": "nginx", "message": "m"}, "intake", id="intake-ddsource"),
        pytest.param({"ddtags": "a:b", "message": "m"}, "intake", id="intake-ddtags"),
        pytest.param({"hostname": "h", "date": ISO}, "intake", id="intake-hostname-and-date"),
        pytest.param({"hostname": "h", "time": ISO}, "json", id="hostname-without-intake-time"),
        pytest.param({"custom": {"a": 1}, "timestamp": 1}, "ndjson", id="sample-content"),
        pytest.param({"timestamp": ISO, "message": "m"}, "ndjson", id="canonical-message"),
        pytest.param({"date": ISO, "attributes": {}}, "ndjson", id="canonical-date-attributes"),
        pytest.param({"timestamp": ISO, "level": "info"}, "json", id="timestamp-only"),
        pytest.param({"TimeCreated": ISO, "Hostname": "W", "EventID": 1}, "json", id="windows"),
        pytest.param([1, 2], "json", id="not-an-object"),
    ],
)
def test_sniff(record: Any, expected: str) -> None:
    assert sniff(record) == expected


def _input(tmp_path: Path, name: str, data: bytes) -> InputFile:
    path = tmp_path / name
    path.write_bytes(data)
    (item,) = expand_sources([path])
    return item


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            json.dumps({"Records": [CLOUDTRAIL]}, indent=2).encode(),
            "cloudtrail",
            id="pretty-records-document",
        ),
        pytest.param(json.dumps([CLOUDTRAIL, CLOUDTRAIL]).encode(), "cloudtrail", id="array"),
        pytest.param(
            b"not json\n[1]\n" + json.dumps(LOGS_API).encode(),
            "logs-api",
            id="first-object-after-bad-lines",
        ),
        pytest.param(b"", "json", id="empty"),
        pytest.param(
            gzip.compress(json.dumps({"_id": "a", "date": ISO}).encode()),
            "datadog-archive",
            id="gzip-content",
        ),
    ],
)
def test_detect_format_reads_the_first_object(tmp_path: Path, data: bytes, expected: str) -> None:
    assert detect_format(_input(tmp_path, "in.dat", data)) == expected


def test_auto_is_decided_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(CLOUDTRAIL))
    (tmp_path / "b.json").write_text(json.dumps({"_id": "b", "date": ISO, "message": "m"}))
    sources = {}
    for item in expand_sources([tmp_path]):
        (event,) = list(read_events(item))
        assert not isinstance(event, Rejected)
        sources[item.path.name] = (event["source"], event["message"])
    assert sources == {"a.json": ("cloudtrail", None), "b.json": (None, "m")}


def test_auto_keeps_the_lines_read_while_sniffing(tmp_path: Path) -> None:
    data = b"oops\n" + json.dumps(CLOUDTRAIL).encode() + b"\n" + json.dumps(CLOUDTRAIL).encode()
    results = list(read_events(_input(tmp_path, "a.json", data)))
    assert [isinstance(item, Rejected) for item in results] == [True, False, False]
