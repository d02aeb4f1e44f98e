"""Time arguments: RFC 3339, epoch milliseconds, relative forms, aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.errors import TimeArgumentError
from engine.core.times import format_timestamp, parse_time

NOW = 1_709_553_600_000  # 2024-03-04T12:00:00Z


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2024-03-04T12:00:00Z", NOW, id="rfc3339"),
        pytest.param("2024-03-04T13:00:00+01:00", NOW, id="rfc3339-offset"),
        pytest.param("2024-03-04", NOW - 12 * 3_600_000, id="date-is-midnight-utc"),
        pytest.param(str(NOW), NOW, id="epoch-ms-text"),
        pytest.param(NOW, NOW, id="epoch-ms-int"),
        pytest.param("now", NOW, id="now"),
        pytest.param("7d", NOW - 7 * 86_400_000, id="days"),
        pytest.param("12h", NOW - 12 * 3_600_000, id="hours"),
        pytest.param("now-30m", NOW - 30 * 60_000, id="now-minus-minutes"),
        pytest.param("45s", NOW - 45_000, id="seconds"),
        pytest.param("2w", NOW - 14 * 86_400_000, id="weeks"),
        pytest.param(datetime(2024, 3, 4, 12, tzinfo=UTC), NOW, id="aware-datetime"),
        pytest.param(
            datetime(2024, 3, 4, 14, tzinfo=timezone(timedelta(hours=2))), NOW, id="aware-offset"
        ),
    ],
)
def test_parse_time(value: str | int | datetime, expected: int) -> None:
    assert parse_time(value, now_ms=NOW) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("yesterday", "cannot read time 'yesterday'", id="words"),
        pytest.param("7y", "cannot read time '7y'", id="unknown-unit"),
        pytest.param(datetime(2024, 3, 4), "has no time zone", id="naive-datetime"),
    ],
)
def test_bad_times_are_user_errors(value: str | datetime, message: str) -> None:
    with pytest.raises(TimeArgumentError, match=message):
        parse_time(value, now_ms=NOW)


@given(st.integers(-62_135_596_800_000, 253_402_300_799_999))
def test_format_timestamp_of_epoch_ms_is_the_datetime_form(epoch_ms: int) -> None:
    # the fast path for epoch ms writes what the datetime of those ms writes
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)
    assert format_timestamp(epoch_ms) == format_timestamp(moment)
