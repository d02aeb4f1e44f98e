"""What every workflow report shares: plain dataclasses that serialise to JSON.

`Report.to_dict()` turns a report (and every dataclass, datetime and path inside it) into plain
JSON values; `to_json()` renders them. Times are RFC 3339 UTC with milliseconds, as results show
them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from engine.core.times import format_timestamp


def plain(value: Any) -> Any:
    """`value` as JSON values: dataclasses as objects, datetimes as RFC 3339, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return value


class Report:
    """Mixin of the workflow reports: `to_dict()` and `to_json()`."""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON values."""
        data = plain(self)
        assert isinstance(data, dict)
        return data

    def to_json(self, *, indent: bool = True) -> str:
        """The report as JSON text."""
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.to_dict(), option=option).decode()


def time_text(epoch_ms: int | None) -> str | None:
    """Epoch ms as RFC 3339 UTC with milliseconds (None stays None)."""
    return None if epoch_ms is None else format_timestamp(epoch_ms)


def duration_text(milliseconds: float) -> str:
    """A duration as `1h 02m 03s`, `4m 05s`, `12s` or `350 ms` (negative durations keep a sign)."""
    sign = "-" if milliseconds < 0 else ""
    remaining = abs(milliseconds)
    if remaining == 0:
        return "0s"
    if remaining < 1000:
        return f"{sign}{remaining:.0f} ms"
    seconds = round(remaining / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"
