"""`match(query, events)`: which events a query selects, computed the way the archive does it.

Each event is normalised to the canonical model (SPEC §1.1) exactly as ingest reads a canonical
(`ndjson`) record, laid out in the archive's columns with `events_to_frame`, and filtered with the
compiled query, so the answer is exactly what a historical job over an archive holding these events
would see. Handy in tests and notebooks::

    >>> match("@usr.id:alice -status:debug", [{"attributes": {"usr": {"id": "alice"}}}])
    [True]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.archive.event import is_engine_event
from engine.archive.formats import records_to_events
from engine.archive.frame import events_to_frame
from engine.query.compiler import compile_query
from engine.query.parser import parse

_MATCH_COLUMN = "__match__"
#: How events given to `match` are read: the canonical shape (SPEC §1.1).
MATCH_FORMAT = "ndjson"


def _timed(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """`event`, with timestamp 0 when it has none (the time does not matter for matching)."""
    if is_engine_event(event) or event.get("timestamp") is not None:
        return event
    return event if event.get("date") is not None else {**event, "timestamp": 0}


def match(query: str, events: Sequence[Mapping[str, Any]]) -> list[bool]:
    """For each event, whether `query` matches it.

    `events` are dicts in the SPEC §1.1 shape (reserved fields, `tags`, nested `attributes`; other
    top-level keys count as attributes; a missing timestamp is allowed here), normalised as ingest
    would store them (`status` and tags lower-cased...) whatever keys they carry; only events the
    engine built itself are taken as they are. Raises `QuerySyntaxError` for an invalid query,
    even when `events` is empty, and `EventError` for an event that cannot be read.
    """
    node = parse(query)
    if not events:
        return []
    frame = events_to_frame(records_to_events(map(_timed, events), format=MATCH_FORMAT))
    expression = compile_query(node, frame.schema)
    result = frame.with_columns(expression.alias(_MATCH_COLUMN)).get_column(_MATCH_COLUMN)
    return [bool(value) for value in result.to_list()]
