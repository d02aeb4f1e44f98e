"""`match(query, events)`: which events a query selects, computed the way the archive does it.

Each event is normalised to the canonical model (SPEC §1.1), laid out in the archive's columns
with `events_to_frame`, and filtered with the compiled query, so the answer is exactly what a
historical job over an archive holding these events would see. Handy in tests and notebooks::

    >>> match("@usr.id:alice -status:debug", [{"attributes": {"usr": {"id": "alice"}}}])
    [True]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.archive.event import LogEvent, normalize_event
from engine.archive.frame import events_to_frame
from engine.query.compiler import compile_query
from engine.query.parser import parse

_CANONICAL_KEYS = frozenset(LogEvent.__annotations__)
_MATCH_COLUMN = "__match__"


def _canonical(event: Mapping[str, Any]) -> LogEvent:
    """`event` itself when it already is a canonical `LogEvent`, else its normalised form."""
    if (
        set(event) == _CANONICAL_KEYS
        and isinstance(event["timestamp"], int)
        and isinstance(event["tags"], list)
        and isinstance(event["attributes"], dict)
        and isinstance(event["id"], str)
    ):
        return event  # type: ignore[return-value]
    if event.get("timestamp") is None and event.get("date") is None:
        event = {**event, "timestamp": 0}  # the time does not matter for matching
    return normalize_event(event)


def match(query: str, events: Sequence[Mapping[str, Any]]) -> list[bool]:
    """For each event, whether `query` matches it.

    `events` are dicts in the SPEC §1.1 shape (reserved fields, `tags`, nested `attributes`; other
    top-level keys count as attributes; a missing timestamp is allowed here) or canonical
    `LogEvent`s. Raises `QuerySyntaxError` for an invalid query, even when `events` is empty.
    """
    node = parse(query)
    if not events:
        return []
    frame = events_to_frame([_canonical(event) for event in events])
    expression = compile_query(node, frame.schema)
    result = frame.with_columns(expression.alias(_MATCH_COLUMN)).get_column(_MATCH_COLUMN)
    return [bool(value) for value in result.to_list()]
