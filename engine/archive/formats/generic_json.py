"""`json`: generic JSON records (flat or nested), e.g. Windows event exports (NXLog, Azure).

The timestamp is read from `timestamp_field` when given (a dotted path; see `resolve_path`),
otherwise from the first of `TIMESTAMP_KEYS` present in the record; a record with none is
rejected. The reserved fields are filled from common names when present (`HOST_KEYS`,
`MESSAGE_KEYS`, `SERVICE_KEYS`, `STATUS_KEYS`, `source`, `trace_id`), and the whole record, all
original keys included, is kept as attributes so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from engine.archive.formats.mapping import EventFields, Format, first_present, first_scalar
from engine.archive.formats.registry import register

#: Where the timestamp is looked for, in order: Datadog's default date attributes (log date
#: remapper docs: timestamp, date, _timestamp, Timestamp, eventTime, published_date) with
#: Logstash's `@timestamp` second, then Windows / Azure / NXLog names.
TIMESTAMP_KEYS: tuple[str, ...] = (
    "timestamp",
    "@timestamp",
    "date",
    "_timestamp",
    "Timestamp",
    "eventTime",
    "published_date",
    "time",
    "TimeCreated",
    "TimeGenerated",
    "EventTime",
)

#: Host names, in order. Windows exports name the machine that logged the event `Hostname`
#: (NXLog) or `Computer` (Azure); Logstash adds `host` for the *collector*, so those come first.
HOST_KEYS: tuple[str, ...] = ("Hostname", "Computer", "host", "hostname")
MESSAGE_KEYS: tuple[str, ...] = ("message", "Message", "msg")
SERVICE_KEYS: tuple[str, ...] = ("service", "Channel")
STATUS_KEYS: tuple[str, ...] = ("status", "level", "severity")


def looks_like(record: dict[str, Any]) -> bool:
    """Any JSON object (the fallback of auto-detection)."""
    return True


def fields(record: dict[str, Any]) -> EventFields:
    """Map one generic record (see module doc)."""
    _, timestamp = first_present(record, TIMESTAMP_KEYS)
    return {
        "timestamp": timestamp,
        "host": first_scalar(record, HOST_KEYS),
        "message": first_scalar(record, MESSAGE_KEYS),
        "service": first_scalar(record, SERVICE_KEYS),
        "status": first_scalar(record, STATUS_KEYS),
        "source": first_scalar(record, ("source",)),
        "trace_id": first_scalar(record, ("trace_id",)),
        "attributes": dict(record),
    }


FORMAT = register(
    Format(
        name="json",
        fields=fields,
        looks_like=looks_like,
        timestamp_keys=TIMESTAMP_KEYS,
        priority=None,
        listing=7,
    )
)
