"""What `--format auto` means for one file: the format its first JSON object looks like.

Formats are tried by their registered priority, the first match wins (`detection_order()`):

1. `cloudtrail`: a `{"Records": [...]}` file, or a record with `eventSource`, `eventName` and one
   of `eventTime` / `@timestamp` / `eventID` / `eventVersion`;
2. `datadog-archive`: `_id` and `date`;
3. `logs-api`: `type: "log"` with a nested `attributes.attributes` object, or a `{"data": [...]}`
   page of such items;
4. `intake`: `ddsource` or `ddtags`, or `hostname` next to `timestamp` / `date`;
5. `ndjson`: a `custom` object (pipeline sample content), or `timestamp` / `date` with any of
   `attributes`, `message`, `tags`, `host`, `service`;
6. `evtx-json`: an `Event` object holding a `System` object;
7. otherwise the fallback, `json` (generic records).

The decision is made once per file, on the first value that is a JSON object (values before it
that are not valid JSON are still reported); an empty file is `json`.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from engine.archive.formats.records import Rejected, Value, iter_values
from engine.archive.formats.registry import detection_order, fallback
from engine.archive.sources import InputFile

#: How many leading values (invalid lines included) are looked at before giving up on sniffing.
SNIFF_LIMIT = 1000


def sniff(record: Any) -> str:
    """The format name one JSON value looks like (`json` when nothing more specific fits)."""
    if isinstance(record, dict):
        for candidate in detection_order():
            if candidate.looks_like(record):
                return candidate.name
    return fallback().name


def resolve(
    values: Iterator[Value | Rejected],
) -> tuple[str, Iterator[Value | Rejected]]:
    """The detected format of a value stream, and the same stream (nothing consumed is lost)."""
    seen: list[Value | Rejected] = []
    for item in values:
        seen.append(item)
        if isinstance(item, Value) and isinstance(item.value, dict):
            return sniff(item.value), chain(seen, values)
        if len(seen) >= SNIFF_LIMIT:
            break
    return fallback().name, chain(seen, values)


def detect_format(file: InputFile) -> str:
    """What `auto` resolves to for `file` (reads up to its first JSON object)."""
    values = iter_values(file)
    try:
        name, _ = resolve(values)
    finally:
        close = getattr(values, "close", None)
        if close is not None:
            close()
    return name
