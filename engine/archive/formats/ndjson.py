"""`ndjson`: canonical events (SPEC §1.1), one per line or in a JSON array.

Records in the canonical shape are read like `engine.archive.event.normalize_event` reads them:
`id`, `timestamp` (or `date`), the reserved keys, `tags` and `attributes`; any other top-level key
is kept as an attribute. A record with a `custom` object is Datadog's internal sample content
(SPEC §6.3, the `result` of a log-pipeline test): `custom` holds the attributes and the other keys
are the reserved fields; `timestamp` is epoch milliseconds.
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
TIMESTAMP_KEYS: tuple[str, ...] = ("timestamp", "date")
_SHAPE_KEYS = ("attributes", "message", "tags", "host", "service")


def looks_like(record: dict[str, Any]) -> bool:
    """A canonical event: a `custom` object, or a timestamp plus a canonical key."""
    if isinstance(record.get("custom"), dict):
        return True
    has_time = "timestamp" in record or "date" in record
    return has_time and any(key in record for key in _SHAPE_KEYS)


def fields(record: dict[str, Any]) -> EventFields:
    """Map one canonical event or sample-content record (see module doc)."""
    timestamp = first_present(record, TIMESTAMP_KEYS)
    holder = "custom" if isinstance(record.get("custom"), dict) else "attributes"
    attributes = attributes_object(record.get(holder), holder)
    consumed = {holder, *RESERVED_KEYS}
    return canonical_fields(record, attributes, id_key="id", timestamp=timestamp, consumed=consumed)


FORMAT = register(
    Format(
        name="ndjson",
        fields=fields,
        looks_like=looks_like,
        timestamp_keys=TIMESTAMP_KEYS,
        priority=50,
        listing=2,
    )
)
