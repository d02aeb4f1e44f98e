"""`datadog-archive`: lines of a Datadog log archive (`archive_*.json.gz` / `.json.zst`, SPEC §6.2).

`_id` -> id, `date` -> timestamp, the reserved keys `host service source status message trace_id`
and `tags` stay reserved, `attributes` are the attributes, and every other top-level key (such as
`span_id`) is kept as an attribute without overwriting what `attributes` holds. A line without
`date` may carry `timestamp` instead.
"""

from __future__ import annotations

from typing import Any

from engine.archive.formats.mapping import (
    EventFields,
    Format,
    attributes_object,
    canonical_fields,
    first_present,
)
from engine.archive.formats.registry import register

RESERVED_KEYS: tuple[str, ...] = ("host", "service", "source", "status", "message", "trace_id")
TIMESTAMP_KEYS: tuple[str, ...] = ("date", "timestamp")


def looks_like(record: dict[str, Any]) -> bool:
    """An archive line: it has both `_id` and `date`."""
    return "_id" in record and "date" in record


def fields(record: dict[str, Any]) -> EventFields:
    """Map one archive line (see module doc)."""
    timestamp = first_present(record, TIMESTAMP_KEYS)
    attributes = attributes_object(record.get("attributes"), "attributes")
    consumed = {"attributes", *RESERVED_KEYS}
    return canonical_fields(
        record, attributes, id_key="_id", timestamp=timestamp, consumed=consumed
    )


FORMAT = register(
    Format(
        name="datadog-archive",
        fields=fields,
        looks_like=looks_like,
        timestamp_keys=TIMESTAMP_KEYS,
        priority=20,
        listing=1,
    )
)
