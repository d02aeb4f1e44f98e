"""Time arguments as users write them: RFC 3339, epoch ms, or relative (`7d`, `now-12h`)."""

from __future__ import annotations

import re
import time
from datetime import datetime

from engine.archive.event import EventError, parse_timestamp
from engine.errors import HindsightError

#: The instants a time may name, in epoch ms: RFC 3339 years 0001 to 9999 (what a datetime holds).
EARLIEST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_RELATIVE = re.compile(r"^(?:now)?\s*-?\s*(\d+)\s*([smhdw])$")


class TimeArgumentError(HindsightError, ValueError):
    """A time argument that is none of the accepted forms."""


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
