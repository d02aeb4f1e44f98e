"""Shared record -> event helpers: the `Format` shape, path lookup and field picking.

A format maps one JSON record to `EventFields` (the keyword arguments of `make_event`, the
timestamp left as found); `build_event` then applies the user's `timestamp_field` override and
normalises the result into a `LogEvent`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from engine.archive.event import LogEvent, make_event
from engine.core.errors import EventError
from engine.core.json import json_type
from engine.core.times import EARLIEST_MS, LATEST_MS

_MISSING = object()


class EventFields(TypedDict, total=False):
    """Keyword arguments of `make_event`, as a format found them in a record."""

    timestamp: Any
    attributes: dict[str, Any]
    id: Any
    host: Any
    service: Any
    source: Any
    status: Any
    message: Any
    trace_id: Any
    tags: Any


@dataclass(frozen=True)
class Format:
    """One input format: its name, how to map a record, and where records may be wrapped.

    `containers` are keys of a wrapping object whose list holds the records (`Records` of a
    CloudTrail file, `data` of a Logs API page); `timestamp_keys` names where the format looks
    for the timestamp (for the "no timestamp" reason). `priority` orders `auto` detection (lowest
    tried first; None for the fallback that is never detected), `listing` the `--format` choices.
    """

    name: str
    fields: Callable[[dict[str, Any]], EventFields]
    looks_like: Callable[[dict[str, Any]], bool]
    timestamp_keys: tuple[str, ...]
    priority: int | None
    listing: int
    containers: tuple[str, ...] = ()


def reserved_from(record: Mapping[str, Any]) -> EventFields:
    """The reserved fields `host service source status message trace_id` read as-is."""
    return {
        "host": record.get("host"),
        "service": record.get("service"),
        "source": record.get("source"),
        "status": record.get("status"),
        "message": record.get("message"),
        "trace_id": record.get("trace_id"),
    }


def require_object(record: Any) -> dict[str, Any]:
    """`record` when it is a JSON object, else an `EventError` naming what it is."""
    if isinstance(record, dict):
        return record
    raise EventError(f"a log record must be a JSON object, not {json_type(record)}")


def resolve_path(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted `path` in `record`, or `None`.

    A key that literally contains dots wins over nesting (`@timestamp`, `a.b`); when nothing
    matches and `path` starts with `@` (a Datadog attribute path), the `@` is dropped.
    """
    found = _walk(record, path)
    if found is _MISSING and path.startswith("@") and len(path) > 1:
        found = _walk(record, path[1:])
    return None if found is _MISSING else found


def _walk(node: Any, path: str) -> Any:
    if not isinstance(node, Mapping):
        return _MISSING
    if path in node:
        return node[path]
    start = 0
    while (dot := path.find(".", start)) != -1:
        head = path[:dot]
        if head in node:
            found = _walk(node[head], path[dot + 1 :])
            if found is not _MISSING:
                return found
        start = dot + 1
    return _MISSING


def first_present(record: Mapping[str, Any], keys: Iterable[str]) -> tuple[str | None, Any]:
    """The first of `keys` whose value in `record` is neither missing, null nor empty text."""
    for key in keys:
        value = record.get(key)
        if value is not None and value != "":
            return key, value
    return None, None


def first_scalar(record: Mapping[str, Any], keys: Iterable[str]) -> Any:
    """The first of `keys` holding a non-empty string or a number (objects are skipped)."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


def tag_value(tags: Any, key: str) -> str | None:
    """The value of the first `key:value` tag in a tag list or comma string, else `None`."""
    items = tags.split(",") if isinstance(tags, str) else tags
    if not isinstance(items, list):
        return None
    prefix = key + ":"
    for item in items:
        if isinstance(item, str) and item.strip().lower().startswith(prefix):
            return item.strip()[len(prefix) :]
    return None


def merge_extra(
    attributes: dict[str, Any], record: Mapping[str, Any], consumed: Iterable[str]
) -> dict[str, Any]:
    """`attributes` plus every key of `record` not in `consumed`, never overwriting a key."""
    skip = set(consumed)
    for key, value in record.items():
        if key not in skip:
            attributes.setdefault(key, value)
    return attributes


def canonical_fields(
    record: Mapping[str, Any],
    attributes: dict[str, Any],
    *,
    id_key: str,
    timestamp: tuple[str | None, Any],
    consumed: Iterable[str],
) -> EventFields:
    """A canonical-shaped record's fields: reserved keys, `tags`, the id under `id_key`, the
    `timestamp` found `(key, value)`, and `attributes` plus every key not `consumed` (nor read)."""
    time_key, value = timestamp
    read = {id_key, "tags", *consumed, *([time_key] if time_key is not None else [])}
    mapped: EventFields = {
        "timestamp": value,
        "id": record.get(id_key),
        "tags": record.get("tags"),
        "attributes": merge_extra(attributes, record, read),
    }
    return reserved_from(record) | mapped


def attributes_object(value: Any, where: str) -> dict[str, Any]:
    """A copy of an `attributes` object (empty when absent); an `EventError` when not an object."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError(f"{where} must be an object, not {json_type(value)}")
    return dict(value)


def build_event(format: Format, record: Any, timestamp_field: str | None = None) -> LogEvent:
    """The `LogEvent` for one record of `format` (raises `EventError` with a short reason).

    With `timestamp_field`, the timestamp is read from that path of the record (or, failing
    that, of the mapped attributes) instead of the format's usual place.
    """
    fields = format.fields(require_object(record))
    if timestamp_field is not None:
        value = resolve_path(record, timestamp_field)
        if value is None:
            value = resolve_path(fields.get("attributes") or {}, timestamp_field)
        if value is None or value == "":
            raise EventError(f"no timestamp: the record has no {timestamp_field!r}")
        fields["timestamp"] = value
    elif fields.get("timestamp") is None or fields.get("timestamp") == "":
        raise EventError(f"no timestamp (looked for {', '.join(format.timestamp_keys)})")
    event = make_event(**fields)
    if not EARLIEST_MS <= event["timestamp"] <= LATEST_MS:
        raise EventError(f"timestamp out of range (year 1 to 9999): {fields['timestamp']!r}")
    return event
