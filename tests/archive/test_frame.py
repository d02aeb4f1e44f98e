"""The archive column layout: one typed column per attribute leaf (SPEC §1, ARCHITECTURE)."""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl
import pytest

from engine.archive.event import normalize_event
from engine.archive.frame import events_to_frame, flatten_attributes, frame_to_events

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def frame_of(*attributes: dict[str, Any]) -> pl.DataFrame:
    events = [
        normalize_event({"timestamp": T0 + i, "attributes": attrs})
        for i, attrs in enumerate(attributes)
    ]
    return events_to_frame(events)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        pytest.param({"usr": {"id": "alice"}}, {"@usr.id": "alice"}, id="nested-object"),
        pytest.param({"a.b": 1}, {'@"a.b"': 1}, id="literal-dot-key-is-quoted"),
        pytest.param({"roles": ["a", "b"]}, {"@roles": ["a", "b"]}, id="array-of-scalars"),
        pytest.param(
            {"Event": {"Data": [{"Name": "A", "v": 1}, {"Name": "B"}]}},
            {"@Event.Data.Name": ["A", "B"], "@Event.Data.v": [1]},
            id="array-of-objects-reaches-every-leaf",
        ),
        pytest.param({"n": [[1, 2], [3]]}, {"@n": [1, 2, 3]}, id="nested-arrays-flattened"),
        pytest.param({"z": []}, {"@z": []}, id="empty-array-is-present"),
        pytest.param({"e": {}}, {"@e": "{}"}, id="empty-object-is-present"),
        pytest.param({"gone": None}, {}, id="null-is-missing"),
    ],
)
def test_flatten_attributes(attributes: dict[str, Any], expected: dict[str, Any]) -> None:
    assert flatten_attributes(attributes) == expected


@pytest.mark.parametrize(
    ("values", "dtype", "stored"),
    [
        pytest.param([1, 2], pl.Int64(), [1, 2], id="ints"),
        pytest.param([1, 2.5], pl.Float64(), [1.0, 2.5], id="ints-and-floats"),
        pytest.param([True, False], pl.Boolean(), [True, False], id="booleans"),
        pytest.param(["x", "y"], pl.String(), ["x", "y"], id="strings"),
        pytest.param([200, "abc"], pl.String(), ["200", "abc"], id="number-and-text-become-text"),
        pytest.param([True, 1], pl.String(), ["true", "1"], id="bool-and-number-become-text"),
        pytest.param([2**70, 1], pl.String(), [str(2**70), "1"], id="int-beyond-64-bits-is-text"),
    ],
)
def test_one_type_per_column(values: list[Any], dtype: pl.DataType, stored: list[Any]) -> None:
    frame = frame_of(*({"v": value} for value in values))
    assert frame.schema["@v"] == dtype
    assert frame["@v"].to_list() == stored


def test_scalar_and_array_of_same_path_make_a_list_column() -> None:
    frame = frame_of({"r": "a"}, {"r": ["b", "c"]}, {})
    assert frame.schema["@r"] == pl.List(pl.String())
    assert frame["@r"].to_list() == [["a"], ["b", "c"], None]


def test_reserved_columns_tags_and_timestamp() -> None:
    event = normalize_event(
        {
            "timestamp": "2024-01-01T00:00:00.123Z",
            "host": "web-1",
            "service": "api",
            "source": "nginx",
            "status": "ERROR",
            "message": "boom",
            "tags": ["Env:Prod", "team:sec"],
            "attributes": {},
        }
    )
    frame = events_to_frame([event])
    row = frame.row(0, named=True)
    assert row["tags"] == ["env:prod", "team:sec"]
    assert row["status"] == "error"
    assert frame.schema["timestamp"] == pl.Datetime("ms", "UTC")
    assert frame["timestamp"].dt.epoch("ms").item() == T0 + 123


def test_raw_copy_keeps_everything_and_round_trips() -> None:
    attributes = {"Event": {"Data": [{"Name": "A", "v": 1}, {"Name": "B"}]}, "x": None}
    frame = frame_of(attributes)
    assert orjson.loads(frame["_raw"].item()) == attributes
    (event,) = frame_to_events(frame)
    assert event["attributes"] == attributes
    assert event["timestamp"] == T0


def test_unknown_top_level_keys_become_attributes() -> None:
    event = normalize_event({"timestamp": T0, "span_id": "42", "attributes": {"a": 1}})
    assert event["attributes"] == {"a": 1, "span_id": "42"}


def test_event_without_id_gets_a_deterministic_content_id() -> None:
    first = normalize_event({"timestamp": T0, "message": "x"})
    again = normalize_event({"timestamp": T0, "message": "x"})
    other = normalize_event({"timestamp": T0, "message": "y"})
    assert first["id"] == again["id"] != other["id"]
