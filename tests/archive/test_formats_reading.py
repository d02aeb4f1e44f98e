"""Reading JSON out of files: lines vs whole documents, malformed input, compression failures."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import zstandard

from engine.archive.event import LogEvent
from engine.archive.formats import FORMATS, Rejected, read_events
from engine.archive.formats.records import JsonError, loads
from engine.archive.sources import InputFile, expand_sources
from engine.core.errors import IngestError

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def _event(n: int) -> dict[str, Any]:
    return {"timestamp": T0 + n, "message": f"event {n}", "attributes": {"n": n}}


def _lines(count: int) -> bytes:
    return b"".join(json.dumps(_event(n)).encode() + b"\n" for n in range(count))


def _input(tmp_path: Path, name: str, data: bytes) -> InputFile:
    path = tmp_path / name
    path.write_bytes(data)
    (item,) = expand_sources([path])
    return item


def _read(item: InputFile, **options: Any) -> tuple[list[LogEvent], list[Rejected]]:
    events: list[LogEvent] = []
    rejected: list[Rejected] = []
    for result in read_events(item, **options):
        (rejected if isinstance(result, Rejected) else events).append(result)  # type: ignore[arg-type]
    return events, rejected


def _ns(events: list[LogEvent]) -> list[int]:
    return [event["attributes"]["n"] for event in events]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(_lines(3), [0, 1, 2], id="ndjson"),
        pytest.param(_lines(3).replace(b"\n", b"\r\n"), [0, 1, 2], id="crlf"),
        pytest.param(b"\n\n" + _lines(2) + b"\n   \n", [0, 1], id="blank-lines"),
        pytest.param(b"\xef\xbb\xbf" + _lines(2), [0, 1], id="utf8-bom"),
        pytest.param(_lines(2).rstrip(b"\n"), [0, 1], id="no-final-newline"),
        pytest.param(json.dumps([_event(0), _event(1)]).encode(), [0, 1], id="array-one-line"),
        pytest.param(
            json.dumps([_event(0), _event(1)], indent=3).encode(), [0, 1], id="array-pretty"
        ),
        pytest.param(json.dumps(_event(7), indent=2).encode(), [7], id="one-pretty-object"),
        pytest.param(
            json.dumps(_event(0), indent=2).encode()
            + b"\n"
            + json.dumps(_event(1), indent=2).encode(),
            [0, 1],
            id="concatenated-pretty-objects",
        ),
        pytest.param(
            json.dumps([_event(0), _event(1)]).encode() + b"\n" + json.dumps([_event(2)]).encode(),
            [0, 1, 2],
            id="array-per-line",
        ),
        pytest.param(b"", [], id="empty-file"),
    ],
)
def test_json_lines_and_documents(tmp_path: Path, data: bytes, expected: list[int]) -> None:
    events, rejected = _read(_input(tmp_path, "in.json", data), format="ndjson")
    assert rejected == []
    assert _ns(events) == expected


def test_malformed_lines_are_reported_with_file_line_and_reason_and_reading_goes_on(
    tmp_path: Path,
) -> None:
    lines = _lines(4).splitlines()
    lines[1] = b'{"timestamp": 1, "message": "oops",, }'
    lines.insert(3, b"not json at all")
    item = _input(tmp_path, "in.json", b"\n".join(lines))
    events, rejected = _read(item, format="ndjson")
    assert _ns(events) == [0, 2, 3]
    assert [(r.source, r.line) for r in rejected] == [(str(item.path), 2), (str(item.path), 4)]
    assert rejected[0].reason.startswith("invalid JSON: ")
    assert "column 36" in rejected[0].reason


def test_a_truncated_first_line_does_not_lose_the_next_lines(tmp_path: Path) -> None:
    data = b'{"timestamp": 1, "message": "cut\n' + _lines(2)
    events, rejected = _read(_input(tmp_path, "in.json", data), format="ndjson")
    assert _ns(events) == [0, 1]
    assert [r.line for r in rejected] == [1]


def test_a_damaged_document_keeps_the_records_around_the_damage(tmp_path: Path) -> None:
    records = [_event(n) for n in range(4)]
    text = json.dumps(records, indent=2)
    broken = text.replace('"event 1"', '"event 1" oops', 1)
    events, rejected = _read(_input(tmp_path, "in.json", broken.encode()), format="ndjson")
    assert _ns(events) == [0, 2, 3]
    assert len(rejected) == 1
    assert rejected[0].reason.startswith("invalid JSON")
    assert rejected[0].line == text[: text.index('"event 1"')].count("\n") - 1


def test_records_of_a_whole_document_are_numbered_by_index(tmp_path: Path) -> None:
    records = [_event(0), {"message": "no time"}, _event(2)]
    item = _input(tmp_path, "in.json", json.dumps(records, indent=2).encode())
    events, rejected = _read(item, format="ndjson")
    assert _ns(events) == [0, 2]
    assert [(r.line, r.reason) for r in rejected] == [
        (2, "no timestamp (looked for timestamp, date)")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            b'{"a": 123456789012345678901234567890}',
            {"a": "123456789012345678901234567890"},
            id="integer-beyond-64-bits-kept-exact",
        ),
        pytest.param(b'{"a": 18446744073709551615}', {"a": 18446744073709551615}, id="u64-max"),
        pytest.param(b'{"a": -9223372036854775808}', {"a": -9223372036854775808}, id="i64-min"),
        pytest.param(b'{"a": 1.5e300}', {"a": 1.5e300}, id="huge-float"),
        pytest.param(b'{"a": "x\\ud800y"}', {"a": "x\ufffdy"}, id="lone-surrogate"),
        pytest.param(b'{"a": "\\ud83d\\ude00"}', {"a": "\U0001f600"}, id="surrogate-pair"),
        pytest.param(b'{"a": "caf\xe9"}', {"a": "caf\ufffd"}, id="latin1-byte-replaced"),
    ],
)
def test_loads_accepts_what_orjson_refuses_but_is_valid(text: bytes, expected: Any) -> None:
    assert loads(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": Infinity}', id="infinity"),
        pytest.param(b'{"a": 1,}', id="trailing-comma"),
        pytest.param(b"", id="empty"),
    ],
)
def test_loads_rejects_invalid_json(text: bytes) -> None:
    with pytest.raises(JsonError):
        loads(text)


def test_a_record_with_a_huge_integer_is_read_not_rejected(tmp_path: Path) -> None:
    line = (
        b'{"timestamp": 1704067200000, "message": "m",'
        b' "attributes": {"big": 123456789012345678901234567890}}'
    )
    events, rejected = _read(_input(tmp_path, "in.json", line), format="ndjson")
    assert rejected == []
    assert events[0]["attributes"]["big"] == "123456789012345678901234567890"


def _truncate_gzip(data: bytes) -> bytes:
    packed = gzip.compress(data)
    return packed[: len(packed) * 2 // 3]


def _truncate_zstd(data: bytes) -> bytes:
    packed = zstandard.ZstdCompressor().compress(data)
    return packed[: len(packed) * 2 // 3]


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        pytest.param("t.json.gz", _truncate_gzip, id="truncated-gzip"),
        pytest.param("t.json.zst", _truncate_zstd, id="truncated-zstd"),
    ],
)
def test_a_truncated_stream_yields_what_it_read_then_one_rejection(
    tmp_path: Path, name: str, encode: Any
) -> None:
    data = b"".join(
        json.dumps({**_event(n), "pad": "x" * 200}).encode() + b"\n" for n in range(3000)
    )
    item = _input(tmp_path, name, encode(data))
    events, rejected = _read(item, format="ndjson")
    assert 0 < len(events) < 3000
    assert _ns(events) == list(range(len(events)))
    assert len(rejected) == 1
    assert rejected[0].source == str(item.path)
    assert rejected[0].line == len(events) + 1
    assert f"stopped at line {len(events) + 1}" in rejected[0].reason


@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param("bad.json.gz", b"\x1f\x8bnot gzip at all", id="garbage-gzip"),
        pytest.param("bad.json.zst", b"\x28\xb5\x2f\xfdnot zstd at all", id="garbage-zstd"),
        pytest.param("bad.json.gz", b"\x1f\x8b", id="gzip-magic-only"),
    ],
)
def test_an_undecompressable_file_is_one_rejection_not_an_exception(
    tmp_path: Path, name: str, data: bytes
) -> None:
    events, rejected = _read(_input(tmp_path, name, data), format="auto")
    assert events == []
    assert len(rejected) == 1
    assert rejected[0].line == 1
    assert rejected[0].reason.startswith("cannot decompress or read the rest of the file")


def test_a_truncated_whole_document_keeps_its_complete_records(tmp_path: Path) -> None:
    records = [{**_event(n), "pad": "y" * 300} for n in range(2000)]
    item = _input(tmp_path, "doc.json.gz", _truncate_gzip(json.dumps(records, indent=1).encode()))
    events, rejected = _read(item, format="ndjson")
    assert 0 < len(events) < 2000
    assert _ns(events) == list(range(len(events)))
    assert rejected[-1].reason.startswith("cannot decompress or read the rest of the file")


def test_a_corrupt_zip_member_is_a_rejection(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.json", _lines(2000))
    raw = bytearray(archive.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 40] = b"\x00" * 40
    archive.write_bytes(bytes(raw))
    (item,) = expand_sources([archive])
    events, rejected = _read(item, format="ndjson")
    assert len(events) < 2000
    assert len(rejected) >= 1
    assert rejected[-1].source == f"{archive}!a.json"


def test_unknown_format_names_the_valid_ones(tmp_path: Path) -> None:
    item = _input(tmp_path, "in.json", _lines(1))
    with pytest.raises(IngestError) as info:
        read_events(item, format="xml")
    for name in FORMATS:
        assert name in str(info.value)


def test_a_file_that_vanished_is_an_ingest_error(tmp_path: Path) -> None:
    item = _input(tmp_path, "in.json", _lines(1))
    item.path.unlink()
    with pytest.raises(IngestError, match="cannot read"):
        list(read_events(item))


def test_a_large_file_is_read_line_by_line(tmp_path: Path) -> None:
    """Lines stream out before the file is read to its end (memory stays bounded)."""
    item = _input(tmp_path, "big.json.zst", zstandard.ZstdCompressor().compress(_lines(50_000)))
    results = read_events(item, format="ndjson")
    first = next(results)
    assert not isinstance(first, Rejected)
    assert first["attributes"]["n"] == 0
    assert sum(1 for _ in results) == 49_999
