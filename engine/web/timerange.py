"""The run form's time range: presets, the archive's span, or an absolute range in a time zone.

Presets end now (last 1 hour, 24 hours, 7 days). "The index's whole span" covers every event of
the chosen index, whole minutes. An absolute range is typed in the browser's time zone (the form
sends the zone's IANA name; without scripts the zone is UTC) and stored as epoch milliseconds, UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.core.errors import InvalidRequestError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

#: Preset name -> (label, length in ms).
PRESETS: dict[str, tuple[str, int]] = {
    "1h": ("Last 1 hour", HOUR_MS),
    "24h": ("Last 24 hours", 24 * HOUR_MS),
    "7d": ("Last 7 days", 7 * 24 * HOUR_MS),
}
SPAN = "span"
CUSTOM = "custom"
CHOICES: tuple[str, ...] = (*PRESETS, SPAN, CUSTOM)
LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class TimeRange:
    """`[from_ms, to_ms)` in epoch milliseconds (UTC)."""

    from_ms: int
    to_ms: int


def zone(name: str | None) -> ZoneInfo:
    """The time zone named (UTC when no name is given); a 400 for an unknown name."""
    if not name or not name.strip():
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequestError(f"Unknown time zone {name!r}.") from None


def local_to_utc_ms(text: str, tz: ZoneInfo, *, field: str) -> int:
    """Epoch ms of a wall-clock time typed in `tz` (`2024-03-04T09:30`)."""
    value = text.strip()
    for pattern in LOCAL_FORMATS:
        try:
            moment = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return int(moment.replace(tzinfo=tz).timestamp() * 1000)
    raise InvalidRequestError(
        f"The {field} time {text!r} is not a date and time like 2024-03-04T09:30."
    )


def utc_ms_to_local(epoch_ms: int, tz: ZoneInfo) -> str:
    """The `datetime-local` input value of an instant in `tz` (minutes)."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def index_span(min_ts: int | None, max_ts: int | None) -> TimeRange | None:
    """Whole minutes covering `[min_ts, max_ts]` (None for an empty index)."""
    if min_ts is None or max_ts is None:
        return None
    start = (min_ts // MINUTE_MS) * MINUTE_MS
    end = math.ceil((max_ts + 1) / MINUTE_MS) * MINUTE_MS
    return TimeRange(start, end)


def resolve(
    choice: str,
    *,
    now_ms: int,
    span: TimeRange | None,
    start: str = "",
    end: str = "",
    tz_name: str | None = None,
) -> TimeRange:
    """The range a run form asks for; `InvalidRequestError` saying what is wrong otherwise."""
    if choice in PRESETS:
        length = PRESETS[choice][1]
        return TimeRange(now_ms - length, now_ms)
    if choice == SPAN:
        if span is None:
            raise InvalidRequestError("This index holds no events: choose another index.")
        return span
    if choice == CUSTOM:
        tz = zone(tz_name)
        low = local_to_utc_ms(start, tz, field="start")
        high = local_to_utc_ms(end, tz, field="end")
        if low >= high:
            raise InvalidRequestError("The end of the range must come after its start.")
        return TimeRange(low, high)
    raise InvalidRequestError(f"Unknown time range choice {choice!r}.")
