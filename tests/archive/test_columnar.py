"""The bulk layout of canonical records (`columnar.records_frame`) against the reference path.

The reference is the per-event path: `records_to_events` then `events_to_frame`. On every batch
the bulk path covers, both must give the same frame (same columns, types, order and values); a
batch it does not cover gives `None` and is read by the reference path at ingest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from benchmarks.workload import auth_events, write_ndjson
from engine.archive import formats
from engine.archive.columnar import records_frame
from engine.archive.formats import records_to_events
from engine.archive.frame import events_to_frame
from engine.archive.ingest import ingest

START = 1_709_510_400_000
_KEYS = st.sampled_from(["a", "b", "c.d", 'q"'])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)),
    max_leaves=6,
)


def _reference(records: list[dict[str, Any]]) -> pl.DataFrame:
    return events_to_frame(records_to_events(records, format="ndjson"))


@st.composite
def _records(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 6))
    records = []
    for number in range(count):
        record: dict[str, Any] = {
            "id": f"e{number}",
            "timestamp": START + draw(st.integers(0, 10**9)),
            "attributes": draw(st.dictionaries(_KEYS, _VALUES, max_size=4)),
        }
        if draw(st.booleans()):
            record["tags"] = draw(st.lists(st.sampled_from(["Env:Prod", " a ", "", "x"])))
        if draw(st.booleans()):
            record["status"] = draw(st.sampled_from(["INFO", "warn", None]))
        records.append(record)
    return records


@settings(max_examples=300, deadline=None)
@given(_records())
def test_bulk_layout_equals_the_reference_path(records: list[dict[str, Any]]) -> None:
    frame = records_frame(records)
    if frame is not None:
        assert_frame_equal(frame, _reference(records))


def test_the_benchmark_workload_is_laid_out_in_bulk() -> None:
    records = list(auth_events(2000))
    frame = records_frame(records)
    assert frame is not None
    assert_frame_equal(frame, _reference(records))


def test_empty_objects_are_kept_as_text_in_bulk() -> None:
    records = [
        {"id": "e1", "timestamp": START, "attributes": {"a": {}, "b": {"c": {}}}},
        {"id": "e2", "timestamp": START, "attributes": {"a": None, "d": 1}},
    ]
    frame = records_frame(records)
    assert frame is not None
    assert frame["@a"].to_list() == ["{}", None]
    assert_frame_equal(frame, _reference(records))


def test_records_needing_normalising_take_the_reference_path() -> None:
    plain = {"id": "e1", "timestamp": START, "attributes": {}}
    assert records_frame([plain]) is not None
    for changed in (
        {"id": None},  # a content id is derived
        {"timestamp": "2024-03-04T00:00:00Z"},  # text is parsed
        {"timestamp": START // 1000},  # seconds
        {"host": 12},  # a number as text
        {"custom": {}},  # pipeline sample content
        {"attributes": {"a": {"b": None}}},  # looks like `{}` in Arrow
        {"attributes": {"a": [1, None]}},  # nulls in arrays are dropped
        {"tags": ["É"]},  # Unicode lower-casing is left to Python
        {"tags": ["a", None]},  # a null tag is the text `null` to the reference path
        {"attributes": {"a": [0.5, False]}},  # pyarrow would read `false` as 0.0
    ):
        assert records_frame([plain | changed]) is None, changed


def test_ingest_in_bulk_gives_the_archive_of_the_reference_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_ndjson(tmp_path / "auth.ndjson.gz", 3000)
    ingest(source, tmp_path / "bulk")
    monkeypatch.setattr(formats, "BATCH_RECORDS", 0)  # every record by the reference path
    ingest(source, tmp_path / "reference")
    files = {
        folder: {
            str(path.relative_to(tmp_path / folder)): path.read_bytes()
            for path in (tmp_path / folder).rglob("*.parquet")
        }
        for folder in ("bulk", "reference")
    }
    assert files["bulk"] and files["bulk"] == files["reference"]
