"""The canonical log event (SPEC §1.1) and the normalisation every input goes through.

A `LogEvent` is a dict with the reserved keys, a lower-cased `tags` list, epoch-millisecond
`timestamp` and a nested `attributes` object. Every input format maps its records to this shape
with `make_event`; `normalize_event` accepts a dict that is already (roughly) canonical, as users
write them in tests and notebooks. What `make_event` returns is an `EngineEvent` (a dict marked as
already normalised), so events the engine built are not normalised twice; any other dict given to
the engine is, whatever keys it carries.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypedDict, cast

from engine.core.columns import RESERVED_FIELDS
from engine.core.errors import EventError
from engine.core.json import json_text
from engine.core.times import parse_timestamp


class LogEvent(TypedDict):
    """One normalised log: reserved fields, tags and nested attributes (SPEC §1.1)."""

    id: str
    timestamp: int
    host: str | None
    service: str | None
    source: str | None
    status: str | None
    message: str | None
    trace_id: str | None
    tags: list[str]
    attributes: dict[str, Any]


class EngineEvent(dict[str, Any]):
    """A `LogEvent` built by `make_event`: already normalised, taken as it is."""


def is_engine_event(value: object) -> bool:
    """True for an event the engine built (`make_event`), which needs no normalising."""
    return type(value) is EngineEvent


_CANONICAL_KEYS = frozenset({"id", "timestamp", *RESERVED_FIELDS, "tags", "attributes"})


def normalize_tags(tags: Any) -> list[str]:
    """Tags as a list of stripped, lower-cased strings; a string is split on commas."""
    if tags is None:
        return []
    items: Iterable[Any] = tags.split(",") if isinstance(tags, str) else tags
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        raise EventError(
            f"tags must be a list of strings or a comma-separated string, not {tags!r}"
        )
    out: list[str] = []
    for item in items:
        text = (item if isinstance(item, str) else canonical_text(item)).strip().lower()
        if text:
            out.append(text)
    return out


def canonical_text(value: Any) -> str:
    """The text form of a value where text is needed (`true`, `200`, `2.5`, JSON for objects)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json_text(value, sort_keys=True)


def _reserved_text(value: Any) -> str | None:
    return None if value is None else canonical_text(value)


def event_id(event: Mapping[str, Any]) -> str:
    """A deterministic id derived from an event's content (used when the input has none)."""
    body = {key: value for key, value in event.items() if key != "id"}
    digest = hashlib.blake2b(json_text(body, sort_keys=True).encode(), digest_size=12)
    return "h" + digest.hexdigest()


def make_event(
    *,
    timestamp: Any,
    attributes: Mapping[str, Any] | None = None,
    id: Any = None,
    host: Any = None,
    service: Any = None,
    source: Any = None,
    status: Any = None,
    message: Any = None,
    trace_id: Any = None,
    tags: Any = None,
) -> LogEvent:
    """Build a canonical `LogEvent`, normalising every field (raises `EventError`)."""
    if attributes is not None and not isinstance(attributes, Mapping):
        raise EventError(f"attributes must be an object, not {type(attributes).__name__}")
    status_text = _reserved_text(status)
    event = cast(
        LogEvent,
        EngineEvent(
            id="",
            timestamp=parse_timestamp(timestamp),
            host=_reserved_text(host),
            service=_reserved_text(service),
            source=_reserved_text(source),
            status=status_text.lower() if status_text is not None else None,
            message=_reserved_text(message),
            trace_id=_reserved_text(trace_id),
            tags=normalize_tags(tags),
            attributes=dict(attributes) if attributes else {},
        ),
    )
    event["id"] = _reserved_text(id) or event_id(event)
    return event


def normalize_event(record: Mapping[str, Any]) -> LogEvent:
    """A canonical event from a dict in the SPEC §1.1 shape.

    Reserved keys, `tags` and `attributes` are read as such; `date` is accepted for `timestamp`;
    any other top-level key is kept as an attribute so nothing is lost.
    """
    if not isinstance(record, Mapping):
        raise EventError(f"a log event must be a JSON object, not {type(record).__name__}")
    time_key = "timestamp" if record.get("timestamp") is not None else "date"
    timestamp = record.get(time_key)
    if timestamp is None:
        raise EventError("the event has no timestamp")
    attributes = record.get("attributes")
    if attributes is not None and not isinstance(attributes, Mapping):
        raise EventError(f"attributes must be an object, not {type(attributes).__name__}")
    merged = dict(attributes or {})
    for key, value in record.items():
        if key not in _CANONICAL_KEYS and key != time_key:
            merged.setdefault(key, value)
    return make_event(
        timestamp=timestamp,
        attributes=merged,
        id=record.get("id"),
        host=record.get("host"),
        service=record.get("service"),
        source=record.get("source"),
        status=record.get("status"),
        message=record.get("message"),
        trace_id=record.get("trace_id"),
        tags=record.get("tags"),
    )


def distinguish_repeats(events: Iterable[LogEvent], *, memory: int = 100_000) -> Iterator[LogEvent]:
    """Give each repeat of an identical id-less event its own id, so counts are preserved.

    Two byte-identical logs without an id get the same content id; they are still two logs. The
    n-th repeat (within the last `memory` events of one input) becomes `<content id>.<n>`, which is
    deterministic: re-ingesting the same input yields the same ids and adds nothing. Events that
    carry their own id are left alone (a repeated real id is a duplicate).
    """
    seen: dict[str, int] = {}
    order: deque[str] = deque()
    for event in events:
        identity = event["id"]
        if identity in seen:
            if event_id(event) == identity:
                seen[identity] += 1
                event["id"] = f"{identity}.{seen[identity]}"
        else:
            seen[identity] = 1
            order.append(identity)
            if len(order) > memory:
                seen.pop(order.popleft(), None)
        yield event
