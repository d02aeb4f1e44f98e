"""The native layout of NDJSON blocks (`blocks.block_frame`) against the per-event path.

The reference parses each line as ingest's per-event path does (`records.loads`), then
`records_to_events` and `events_to_frame`. On every block the native path covers, both must give
the same frame; a block it does not cover gives `None` (ingest then reads it line by line).
Lines are written in several ways (compact, spaced, ASCII-escaped) from nasty
values: big and negative-zero numbers, floats, escapes, surrogates, timestamp-like text, empty
objects, arrays of objects, keys named `attributes`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from benchmarks.workload import auth_events, write_ndjson
from engine.archive import formats
from engine.archive import ingest as ingest_module
from engine.archive.blocks import block_frame
from engine.archive.formats import Rejected, lines, records_to_events
from engine.archive.formats.records import loads
from engine.archive.frame import events_to_frame
from engine.archive.ingest import ingest

START = 1_709_510_400_000
_KEYS = st.sampled_from(["a", "b", "c.d", 'q"', "attributes", "é", ""])
_TEXT = st.one_of(
    st.text(max_size=4),
    st.sampled_from(
        ["2024-03-04T00:00:00Z", "2024-03-04", '"attributes":{', "a\\/b", "\x7f", "\u2028", "1.5"]
    ),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -0.0, 0.0, 1e16, 0.1, 5e-324, 1.5, -2.0, 2**64, -(2**63)]),
    st.floats(allow_nan=False, allow_infinity=False),
    _TEXT,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def _record(draw: st.DrawFn, number: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": draw(st.sampled_from([f"e{number}", f"e{number % 2}"])),
        "timestamp": START + draw(st.integers(0, 10**9)),
    }
    if draw(st.booleans()):
        record["tags"] = draw(st.lists(st.sampled_from(["Env:Prod", " a ", "", "x"])))
    if draw(st.booleans()):
        record["status"] = draw(st.sampled_from(["INFO", "warn", None]))
    if draw(st.booleans()):
        record["host"] = draw(_TEXT)
    record["attributes"] = draw(st.dictionaries(_KEYS, _VALUES, max_size=4))
    return record


def _line(record: dict[str, Any], style: str) -> bytes:
    match style:
        case "compact":
            return orjson.dumps(record)
        case "spaced":
            return json.dumps(record).encode()
        case "ascii":
            return json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode()
        case _:
            raise AssertionError(style)


def _reference(lines: list[bytes]) -> pl.DataFrame:
    return events_to_frame(records_to_events([loads(line) for line in lines], format="ndjson"))


@settings(max_examples=400, deadline=None)
@given(
    st.integers(1, 6).flatmap(lambda count: st.tuples(*(_record(n) for n in range(count)))),
    st.lists(st.sampled_from(["compact", "spaced", "ascii"]), min_size=6),
)
def test_native_layout_equals_the_per_event_path(
    records: tuple[dict[str, Any], ...], styles: list[str]
) -> None:
    try:
        lines = [_line(record, style) for record, style in zip(records, styles, strict=False)]
    except TypeError:  # orjson refuses integers beyond 64 bits
        lines = [json.dumps(record, separators=(",", ":")).encode() for record in records]
    frame = block_frame(b"\n".join(lines) + b"\n")
    if frame is not None:
        assert_frame_equal(frame, _reference(lines))


def test_the_benchmark_workload_is_laid_out_natively() -> None:
    lines = [json.dumps(event, separators=(",", ":")).encode() for event in auth_events(3000)]
    frame = block_frame(b"\n".join(lines))
    assert frame is not None
    assert_frame_equal(frame, _reference(lines))


def test_attribute_text_orjson_would_write_otherwise_is_rewritten() -> None:
    lines = [
        b'{"id":"e1","timestamp":1709510400000,"attributes": {"a": 1.50, "b": "\\u00e9\\/"}}',
        b'{"id":"e2","timestamp":1709510400000,"attributes":{"a":2,"b":"x y, z"}}',
        b'{"id":"e3","timestamp":1709510400000,"attributes":{"a":1E2,"b":"\\n"}}',
    ]
    frame = block_frame(b"\n".join(lines))
    assert frame is not None
    assert frame["_raw"].to_list() == [
        '{"a":1.5,"b":"é/"}',
        '{"a":2,"b":"x y, z"}',
        '{"a":100.0,"b":"\\n"}',
    ]
    assert_frame_equal(frame, _reference(lines))


def test_long_digit_runs_inside_text_stay_on_the_native_path() -> None:
    lines = [
        orjson.dumps(
            {"id": "e1", "timestamp": START, "attributes": {"a": "sdk-1722375070115152000"}}
        ),
        b'{"id":"e2","timestamp":1709510400000,"attributes":{"n": [\t12345678901234567890]}}',
    ]
    frame = block_frame(lines[0])
    assert frame is not None
    assert_frame_equal(frame, _reference(lines[:1]))
    assert block_frame(lines[1]) is None  # a number of 20 digits, after whitespace


def test_blocks_needing_the_per_event_path_are_declined() -> None:
    plain = {"id": "e1", "timestamp": START, "attributes": {"a": "x"}}
    assert block_frame(orjson.dumps(plain)) is not None
    for line in (
        orjson.dumps(plain | {"attributes": {"a": 2**63 + 1}}),  # pyarrow reads it as a float
        b'{"id":"e1","timestamp":1709510400000,"attributes":{"a":"\\ud800"}}',  # lone surrogate
        orjson.dumps({"attributes": {"a": 1}, "id": "e1", "timestamp": START}),  # not last
        orjson.dumps(plain | {"date": START}),  # another top-level key
        orjson.dumps(plain | {"tags": ["a", None]}),  # a null tag is the text `null`
        orjson.dumps(plain | {"timestamp": "2024-03-04T00:00:00Z"}),  # text is parsed
        orjson.dumps(plain) + b"\n\n" + orjson.dumps(plain),  # a blank line
        orjson.dumps(plain) + b" ",  # whitespace after the record
        b'{"id":"e1","timestamp":1709510400000,"attributes":{"a":1,"a":2}}',  # repeated key
        b'{"id":"e1","timestamp":1709510400000,"attributes":{"a":1}} {"id":"e2"}',
        b"\xff" + orjson.dumps(plain),  # not UTF-8
    ):
        assert block_frame(line) is None, line


def _archive_files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*.parquet")}


def test_ingest_in_parallel_blocks_gives_the_archive_of_the_reference_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inputs").mkdir()
    write_ndjson(tmp_path / "inputs" / "auth.ndjson.gz", 4000)
    mixed = tmp_path / "inputs" / "mixed.ndjson"
    events = [json.dumps(event) for event in auth_events(600, seed=2)]
    events[100] = "{not json"  # a rejected line inside a block
    events[300:302] = ['{"timestamp": 1709510400000, "message": "no id"}'] * 2  # repeats
    events[450] = json.dumps(next(auth_events(1, seed=1)))  # a duplicate of the other file
    mixed.write_text("\n".join(events) + "\n")
    monkeypatch.setattr(lines, "BLOCK_BYTES", 40_000)
    monkeypatch.setattr(ingest_module, "PARALLEL_BYTES", 0)
    native = ingest(tmp_path / "inputs", tmp_path / "native", jobs=2)
    monkeypatch.setattr(formats, "BATCH_RECORDS", 0)  # every record by the reference path
    reference = ingest(tmp_path / "inputs", tmp_path / "reference", jobs=1)
    assert native.rejections == reference.rejections == [Rejected(str(mixed), 101, ANY)]
    assert (native.events_written, native.duplicates) == (reference.events_written, 1)
    files = _archive_files(tmp_path / "native")
    assert files and files == _archive_files(tmp_path / "reference")
