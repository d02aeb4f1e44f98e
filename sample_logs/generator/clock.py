"""The sample week and its timestamp formats.

The week is fixed: Monday 2024-03-04T00:00:00Z for 7 days, UTC. Times are epoch milliseconds;
`at` names a wall-clock time of the week, and the formatters render one the way each vendor
writes it (CloudTrail `eventTime`, Okta `published`, nginx `$time_local`, CloudTrail's human
dates in `responseElements`).
"""

from __future__ import annotations

from datetime import UTC, datetime

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_START_MS = 1_709_510_400_000  # 2024-03-04T00:00:00Z, a Monday
WEEK_END_MS = WEEK_START_MS + 7 * DAY_MS  # exclusive

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_TEXT: dict[int, tuple[str, str]] = {}


def at(day: int, hour: int, minute: int, second: int = 0, ms: int = 0) -> int:
    """Epoch ms of `day` (0 = Monday 2024-03-04) at the given UTC wall time."""
    return WEEK_START_MS + day * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + ms


def local_midnight(day: int, tz_hours: int) -> int:
    """Epoch ms of midnight starting `day` in a time zone `tz_hours` from UTC."""
    return WEEK_START_MS + day * DAY_MS - tz_hours * HOUR_MS


def _day_text(day_number: int) -> tuple[str, str]:
    """(`2024-03-04`, `04/Mar/2024`) for a day counted from the epoch (cached)."""
    text = _DAY_TEXT.get(day_number)
    if text is None:
        moment = datetime.fromtimestamp(day_number * 86_400, tz=UTC)
        text = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}",
            f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year:04d}",
        )
        _DAY_TEXT[day_number] = text
    return text


def _split(epoch_ms: int) -> tuple[int, int, int, int, int]:
    """(day number since the epoch, hour, minute, second, millisecond) of `epoch_ms`."""
    seconds, ms = divmod(epoch_ms, 1000)
    day_number, second_of_day = divmod(seconds, 86_400)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return day_number, hour, minute, second, ms


def iso_seconds(epoch_ms: int) -> str:
    """`2024-03-04T10:00:00Z` (CloudTrail `eventTime`)."""
    day_number, hour, minute, second, _ = _split(epoch_ms)
    return f"{_day_text(day_number)[0]}T{hour:02d}:{minute:02d}:{second:02d}Z"


def iso_millis(epoch_ms: int) -> str:
    """`2024-03-04T10:00:00.123Z` (Okta `published`)."""
    day_number, hour, minute, second, ms = _split(epoch_ms)
    return f"{_day_text(day_number)[0]}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"


def clf_time(epoch_ms: int) -> str:
    """`04/Mar/2024:10:00:00 +0000` (nginx `$time_local` on a UTC host)."""
    day_number, hour, minute, second, _ = _split(epoch_ms)
    return f"{_day_text(day_number)[1]}:{hour:02d}:{minute:02d}:{second:02d} +0000"


def datetime_text(epoch_ms: int) -> str:
    """CloudTrail's human date format in responseElements (`Mar 9, 2024, 4:01:12 AM`)."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} {suffix}"
