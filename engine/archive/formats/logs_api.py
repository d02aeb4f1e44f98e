"""`logs-api`: exports of the Logs Search API v2 (`POST /api/v2/logs/events/search`, SPEC §6.3).

Each item is `{"id", "type": "log", "attributes": {"timestamp", "host", "service", "status",
"message", "tags", "attributes": {...}}}`. A whole response page `{"data": [...], "links": ...}`,
a JSON array of items and NDJSON of items are all read. The API's `LogAttributes` carries no
`source`: it is taken from `attributes.source` when present, else from the item's `source:` tag
(Datadog tags every log with its source). Other keys of the item's `attributes` become attributes.
"""

from __future__ import annotations

from typing import Any

from engine.archive.formats.mapping import (
    EventFields,
    Format,
    attributes_object,
    merge_extra,
    reserved_from,
    tag_value,
)
from engine.archive.formats.registry import register
from engine.core.errors import EventError
from engine.core.json import json_type

RESERVED_KEYS: tuple[str, ...] = ("host", "service", "status", "message", "trace_id")
TIMESTAMP_KEYS: tuple[str, ...] = ("attributes.timestamp",)


def looks_like(record: dict[str, Any]) -> bool:
    """A Logs API item (`type: "log"` with nested `attributes.attributes`), or a page of them."""
    data = record.get("data")
    if isinstance(data, list):
        if not data:
            return "links" in record or "meta" in record
        return isinstance(data[0], dict) and _is_item(data[0])
    return _is_item(record)


def _is_item(record: dict[str, Any]) -> bool:
    body = record.get("attributes")
    return (
        record.get("type") == "log"
        and isinstance(body, dict)
        and isinstance(body.get("attributes"), dict)
    )


def fields(record: dict[str, Any]) -> EventFields:
    """Map one Logs API item (see module doc)."""
    body = record.get("attributes")
    if not isinstance(body, dict):
        raise EventError(f"a Logs API item needs an `attributes` object, not {json_type(body)}")
    attributes = attributes_object(body.get("attributes"), "attributes.attributes")
    tags = body.get("tags")
    source = body.get("source")
    if source is None:
        source = tag_value(tags, "source")
    consumed = {"timestamp", "tags", "attributes", "source", *RESERVED_KEYS}
    mapped: EventFields = {
        "timestamp": body.get("timestamp"),
        "id": record.get("id"),
        "tags": tags,
        "source": source,
        "attributes": merge_extra(attributes, body, consumed),
    }
    return reserved_from(body) | mapped


FORMAT = register(
    Format(
        name="logs-api",
        fields=fields,
        looks_like=looks_like,
        timestamp_keys=TIMESTAMP_KEYS,
        priority=30,
        listing=3,
        containers=("data",),
    )
)
