"""Normalising timestamps, tags and reserved fields into the canonical event."""

from __future__ import annotations

from typing import Any

import pytest

from engine.archive.event import distinguish_repeats, make_event, normalize_event
from engine.core.errors import EventError
from engine.core.times import format_timestamp, parse_timestamp

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(T0, T0, id="epoch-ms"),
        pytest.param(T0 // 1000, T0, id="epoch-seconds"),
        pytest.param(T0 / 1000 + 0.5, T0 + 500, id="epoch-seconds-fraction"),
        pytest.param(T0 * 1000, T0, id="epoch-micros"),
        pytest.param(T0 * 1_000_000, T0, id="epoch-nanos"),
        pytest.param(str(T0), T0, id="epoch-ms-text"),
        pytest.param("2024-01-01T00:00:00Z", T0, id="rfc3339-z"),
        pytest.param("2024-01-01T00:00:00.250Z", T0 + 250, id="rfc3339-millis"),
        pytest.param("2024-01-01T02:00:00+02:00", T0, id="rfc3339-offset"),
        pytest.param("2024-01-01 00:00:00.000", T0, id="naive-is-utc"),
        pytest.param("2024-01-01", T0, id="date-only"),
    ],
)
def test_parse_timestamp(value: Any, expected: int) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", [None, True, "", "yesterday", float("nan"), {"a": 1}], ids=repr)
def test_bad_timestamps_raise_event_error(value: Any) -> None:
    with pytest.raises(EventError):
        parse_timestamp(value)


def test_format_timestamp_keeps_milliseconds() -> None:
    assert format_timestamp(T0 + 7) == "2024-01-01T00:00:00.007Z"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(["Env:PROD", " team:Sec "], ["env:prod", "team:sec"], id="list-lowercased"),
        pytest.param("env:prod,Team:x", ["env:prod", "team:x"], id="comma-string"),
        pytest.param(None, [], id="none"),
        pytest.param(["", "a"], ["a"], id="empty-dropped"),
    ],
)
def test_tags(tags: Any, expected: list[str]) -> None:
    assert make_event(timestamp=T0, tags=tags)["tags"] == expected


def test_non_object_attributes_rejected() -> None:
    with pytest.raises(EventError, match="attributes must be an object"):
        make_event(timestamp=T0, attributes=["x"])  # type: ignore[arg-type]


def test_identical_events_without_id_keep_their_count() -> None:
    events = [normalize_event({"timestamp": T0, "message": "same"}) for _ in range(3)]
    ids = [event["id"] for event in distinguish_repeats(events)]
    base = ids[0]
    assert ids == [base, f"{base}.2", f"{base}.3"]


def test_repeated_real_ids_stay_duplicates() -> None:
    events = [normalize_event({"id": "x1", "timestamp": T0, "message": m}) for m in "ab"]
    assert [event["id"] for event in distinguish_repeats(events)] == ["x1", "x1"]
