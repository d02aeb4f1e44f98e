"""Input formats of `hindsight ingest`: exported logs of every supported shape -> `LogEvent`s.

`read_events` reads one `InputFile` in the named format (or detects it, `auto`) and yields a
canonical `LogEvent` per record, or a `Rejected` (file, line, reason) for each record or stretch of
the file that cannot be read; a bad record never stops the rest of the file. See docs/ingest.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.archive.event import EventError, LogEvent
from engine.archive.formats import (
    cloudtrail,
    datadog_archive,
    generic_json,
    intake,
    logs_api,
    ndjson,
)
from engine.archive.formats.detect import detect_format, resolve
from engine.archive.formats.mapping import Format, build_event
from engine.archive.formats.records import Rejected, Value, iter_values
from engine.archive.sources import InputFile
from engine.errors import IngestError

__all__ = ["FORMATS", "Rejected", "detect_format", "read_events"]

#: Every accepted `--format` name; `auto` detects the format per file.
FORMATS: tuple[str, ...] = (
    "auto",
    "datadog-archive",
    "ndjson",
    "logs-api",
    "intake",
    "cloudtrail",
    "json",
)

FORMAT_TABLE: dict[str, Format] = {
    module.FORMAT.name: module.FORMAT
    for module in (datadog_archive, ndjson, logs_api, intake, cloudtrail, generic_json)
}


def read_events(
    file: InputFile, *, format: str = "auto", timestamp_field: str | None = None
) -> Iterator[LogEvent | Rejected]:
    """Every event of `file` in `format`, or a `Rejected` for what cannot be read.

    `timestamp_field` (a dotted path into the record) overrides where the timestamp is read.
    Raises `IngestError` at once for an unknown format name, and on first iteration when the
    file cannot be opened.
    """
    if format not in FORMATS:
        raise IngestError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    return _events(file, format, timestamp_field)


def _events(
    file: InputFile, name: str, timestamp_field: str | None
) -> Iterator[LogEvent | Rejected]:
    values = iter_values(file)
    if name == "auto":
        name, values = resolve(values)
    format = FORMAT_TABLE[name]
    for item in values:
        if isinstance(item, Rejected):
            yield item
            continue
        for number, record in _records(format, item):
            try:
                event = build_event(format, record, timestamp_field)
            except EventError as exc:
                yield Rejected(file.name, number, str(exc))
                continue
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                yield Rejected(file.name, number, f"cannot read the record: {exc}")
                continue
            yield event


def _records(format: Format, item: Value) -> Iterator[tuple[int, object]]:
    """The records of one value, unwrapping a container (`Records`, `data`) of the format.

    Records of a container in a whole document are numbered by their 1-based index; in JSON lines
    they share the line number.
    """
    value = item.value
    if isinstance(value, dict):
        for key in format.containers:
            inner = value.get(key)
            if isinstance(inner, list):
                for index, record in enumerate(inner, start=1):
                    yield (index if item.whole_document else item.line), record
                return
    yield item.line, value
