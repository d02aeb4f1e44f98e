"""Times: epoch milliseconds read from what users and logs write, and written as RFC 3339.

- `parse_timestamp`: a log's timestamp (epoch numbers of any unit, RFC 3339 / ISO 8601 text);
- `parse_time`: a time argument as users write them (RFC 3339, epoch ms, relative `7d`, `now-12h`);
- `format_timestamp`: THE RFC 3339 rendering with milliseconds (`2024-01-01T00:03:00.000Z`), used
  by results, signals, the API, the web app and the CLI alike.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.core.errors import EventError, TimeArgumentError

#: The instants a time may name, in epoch ms: RFC 3339 years 0001 to 9999 (what a datetime holds).
EARLIEST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_RELATIVE = re.compile(r"^(?:now)?\s*-?\s*(\d+)\s*([smhdw])$")


def parse_timestamp(value: Any) -> int:
    """Epoch milliseconds (UTC) from epoch numbers or RFC 3339 / ISO 8601 text.

    Numbers are read by magnitude: below 1e11 as seconds, below 1e14 as milliseconds, below 1e17
    as microseconds, otherwise nanoseconds. Text without a zone is taken as UTC. Raises
    `EventError` for anything else.
    """
    if isinstance(value, bool) or value is None:
        raise EventError(f"timestamp must be a number or a date string, not {value!r}")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise EventError(f"timestamp is not finite: {value!r}")
        magnitude = abs(number)
        if magnitude < 1e11:
            return round(number * 1000)
        if magnitude < 1e14:
            return round(number)
        if magnitude < 1e17:
            return round(number / 1000)
        return round(number / 1_000_000)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise EventError("timestamp is empty")
        try:
            return parse_timestamp(float(text)) if _looks_numeric(text) else _parse_iso(text)
        except (ValueError, OverflowError) as exc:
            raise EventError(f"timestamp {value!r} is not a date: {exc}") from None
    raise EventError(f"timestamp must be a number or a date string, not {type(value).__name__}")


def _looks_numeric(text: str) -> bool:
    return text.lstrip("+-").replace(".", "", 1).isdigit()


def _parse_iso(text: str) -> int:
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def format_timestamp(moment: int | datetime) -> str:
    """RFC 3339 UTC text with milliseconds (`2024-01-01T00:00:00.000Z`) of epoch ms or a datetime.

    Sub-millisecond digits are dropped (never rounded up into the next millisecond).
    """
    if not isinstance(moment, datetime):
        seconds, millis = divmod(moment, 1000)
        if 0 <= seconds < _YEAR_10000 and isinstance(millis, int):  # the common case, fast
            return f"{time.strftime(_SECONDS, time.gmtime(seconds))}.{millis:03d}Z"
        moment = _EPOCH + timedelta(milliseconds=moment)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_SECONDS = "%Y-%m-%dT%H:%M:%S"
_YEAR_10000 = 253_402_300_800  # epoch seconds of 10000-01-01


def from_epoch_ms(epoch_ms: int) -> datetime:
    """An aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def parse_time(value: str | int | datetime, *, now_ms: int | None = None) -> int:
    """Epoch ms for `value`.

    Accepts an aware `datetime`, epoch milliseconds (int or digits), RFC 3339 text
    (`2024-03-04T10:00:00Z`; a date alone is midnight UTC), `now`, and relative forms meaning
    "that long before now": `7d`, `12h`, `30m`, `45s`, `2w`, `now-7d`.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TimeArgumentError(f"datetime {value.isoformat()} has no time zone")
        return round(value.timestamp() * 1000)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = relative.groups()
        return now - int(amount) * _UNITS_MS[unit]
    if text.isdigit():
        return int(text)
    try:
        return parse_timestamp(text)
    except EventError:
        raise TimeArgumentError(
            f"cannot read time {text!r}: use RFC 3339 (2024-03-04T10:00:00Z), epoch milliseconds, "
            "or a relative time such as 7d, 12h, now-30m"
        ) from None
