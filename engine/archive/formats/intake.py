"""`intake`: the HTTP log intake shape (`POST /api/v2/logs`, rule unit-test payloads, SPEC §6.3).

`ddsource` -> source, `hostname` -> host, `ddtags` (one comma-separated string) -> tags,
`service`, `message` and `status` stay reserved, the timestamp is `timestamp` or `date`, and every
other top-level key becomes an attribute. `host` and `source` are accepted when `hostname` and
`ddsource` are absent. NDJSON or a JSON array.
"""

from __future__ import annotations

from typing import Any

from engine.archive.formats.mapping import EventFields, Format, first_present, merge_extra
from engine.archive.formats.registry import register

TIMESTAMP_KEYS: tuple[str, ...] = ("timestamp", "date")
_RESERVED = ("service", "message", "status")


def looks_like(record: dict[str, Any]) -> bool:
    """An intake payload: `ddsource` or `ddtags`, or `hostname` next to a timestamp."""
    if "ddsource" in record or "ddtags" in record:
        return True
    return "hostname" in record and ("timestamp" in record or "date" in record)


def fields(record: dict[str, Any]) -> EventFields:
    """Map one intake payload (see module doc)."""
    time_key, timestamp = first_present(record, TIMESTAMP_KEYS)
    host_key, host = first_present(record, ("hostname", "host"))
    source_key, source = first_present(record, ("ddsource", "source"))
    consumed = {"ddtags", *_RESERVED}
    consumed.update(key for key in (time_key, host_key, source_key) if key is not None)
    return {
        "timestamp": timestamp,
        "host": host,
        "source": source,
        "tags": record.get("ddtags"),
        "service": record.get("service"),
        "message": record.get("message"),
        "status": record.get("status"),
        "attributes": merge_extra({}, record, consumed),
    }


FORMAT = register(
    Format(
        name="intake",
        fields=fields,
        looks_like=looks_like,
        timestamp_keys=TIMESTAMP_KEYS,
        priority=40,
        listing=4,
    )
)
