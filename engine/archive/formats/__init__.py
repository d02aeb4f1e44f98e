"""Input formats of `hindsight ingest`: exported logs of every supported shape -> `LogEvent`s.

`read_events` reads one `InputFile` in the named format (or detects it, `auto`) and yields a
canonical `LogEvent` per record, or a `Rejected` (file, line, reason) for each record or stretch of
the file that cannot be read; a bad record never stops the rest of the file. `read_records` reads
records already in memory (parsed JSON values) the same way. See docs/ingest.md.

Every module of this package is imported here, so each format module's `register` call has run
before the formats are listed: a new format is one new module (`registry.py` says how).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import polars as pl

from engine.archive.blocks import block_frame
from engine.archive.columnar import records_frame
from engine.archive.event import LogEvent, is_engine_event
from engine.archive.formats.detect import detect_format, resolve
from engine.archive.formats.lines import Block, block_values, is_json_lines, iter_blocks
from engine.archive.formats.mapping import Format, build_event
from engine.archive.formats.records import DECOMPRESSION_ERRORS, Rejected, Value, iter_values
from engine.archive.formats.registry import format_named, registered
from engine.archive.sources import InputFile
from engine.core.errors import EventError, IngestError

__all__ = [
    "FORMATS",
    "Layout",
    "Rejected",
    "detect_format",
    "lay_out_blocks",
    "read_batches",
    "read_events",
    "read_records",
    "records_to_events",
]

#: How many consecutive canonical records `read_batches` lays out as one frame.
BATCH_RECORDS = 20_000

#: The `Rejected.source` of records given in memory.
MEMORY_SOURCE = "logs"

#: Lays out blocks in order: each block with its frame, or `None` when not covered.
Layout = Callable[[Iterator[Block]], Iterator[tuple[Block, pl.DataFrame | None]]]


def lay_out_blocks(blocks: Iterator[Block]) -> Iterator[tuple[Block, pl.DataFrame | None]]:
    """The `Layout` of this process: each block laid out in turn (`blocks.block_frame`)."""
    for block in blocks:
        yield block, block_frame(block.data)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

#: Every accepted `--format` name; `auto` detects the format per file.
FORMATS: tuple[str, ...] = ("auto", *(format.name for format in registered()))


def read_events(
    file: InputFile, *, format: str = "auto", timestamp_field: str | None = None
) -> Iterator[LogEvent | Rejected]:
    """Every event of `file` in `format`, or a `Rejected` for what cannot be read.

    `timestamp_field` (a dotted path into the record) overrides where the timestamp is read.
    Raises `IngestError` at once for an unknown format name, and on first iteration when the
    file cannot be opened.
    """
    _check_format(format)
    return _events(file.name, iter_values(file), format, timestamp_field)


def read_batches(
    file: InputFile,
    *,
    format: str = "auto",
    timestamp_field: str | None = None,
    layout: Layout = lay_out_blocks,
) -> Iterator[pl.DataFrame | LogEvent | Rejected]:
    """`read_events`, with runs of simple canonical records given as archive frames.

    A JSON-lines file of the `ndjson` format is read in blocks of whole lines, each laid out in
    native code (`blocks.block_frame`, through `layout`, which may spread blocks over processes);
    a block it does not cover, and any other input of that format, is read record by record, with
    runs of up to `BATCH_RECORDS` records laid out in bulk (`columnar.records_frame`).
    """
    _check_format(format)
    return _batches(file, format, timestamp_field, layout)


def read_records(
    records: Iterable[Any], *, format: str = "auto", timestamp_field: str | None = None
) -> Iterator[LogEvent | Rejected]:
    """Every event of in-memory `records` (parsed JSON values), read as a file of them would be.

    `auto` detects the format from the first object, as for a file; a record that wraps others
    (`{"Records": [...]}`) is unwrapped. Events the engine itself built (`make_event`) are passed
    through as they are. A `Rejected` names the record by its 1-based position.
    """
    _check_format(format)
    values = (
        Value(number, dict(record) if _other_mapping(record) else record, True)
        for number, record in enumerate(records, start=1)
    )
    return _events(MEMORY_SOURCE, values, format, timestamp_field)


def records_to_events(
    records: Iterable[Any], *, format: str = "auto", timestamp_field: str | None = None
) -> list[LogEvent]:
    """`read_records` for callers that need every record: an `EventError` names the first one
    that cannot be read (`log 3: the record has no timestamp`)."""
    events: list[LogEvent] = []
    for item in read_records(records, format=format, timestamp_field=timestamp_field):
        if isinstance(item, Rejected):
            raise EventError(f"log {item.line}: {item.reason}")
        events.append(item)
    return events


def _other_mapping(record: Any) -> bool:
    """A mapping that is not a dict (read as the dict it holds)."""
    return isinstance(record, Mapping) and not isinstance(record, dict)


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise IngestError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")


def _batches(
    file: InputFile, format: str, timestamp_field: str | None, layout: Layout
) -> Iterator[Any]:
    in_blocks = BATCH_RECORDS and timestamp_field is None and format in ("auto", "ndjson")
    if (
        in_blocks
        and is_json_lines(file)
        and (format == "ndjson" or detect_format(file) == "ndjson")
    ):
        yield from _block_events(file, format_named("ndjson"), layout)
        return
    yield from _events(file.name, iter_values(file), format, timestamp_field, batch=BATCH_RECORDS)


def _block_events(file: InputFile, format: Format, layout: Layout) -> Iterator[Any]:
    """The events of a JSON-lines file read in blocks; after a decompression failure, the rest
    is read (and the damage reported) by `iter_values` as for any file."""
    done = 0
    try:
        for block, frame in layout(iter_blocks(file)):
            if frame is not None:
                yield frame
            else:
                yield from _batched(file.name, format, block_values(file, block))
            done = block.first_line + block.lines - 1
    except DECOMPRESSION_ERRORS:
        rest = (item for item in iter_values(file) if item.line > done)
        yield from _batched(file.name, format, rest)


def _events(
    source: str,
    values: Iterator[Value | Rejected],
    name: str,
    timestamp_field: str | None,
    *,
    batch: int = 0,
) -> Iterator[Any]:
    if name == "auto":
        name, values = resolve(values)
    format = format_named(name)
    if not batch or name != "ndjson" or timestamp_field is not None:
        for item in values:
            yield from _item_events(source, format, item, timestamp_field)
        return
    yield from _batched(source, format, values)


def _batched(source: str, format: Format, values: Iterator[Value | Rejected]) -> Iterator[Any]:
    """The events of `ndjson` values, runs of up to `BATCH_RECORDS` objects laid out in bulk."""
    pending: list[Value] = []
    for item in values:
        if isinstance(item, Value) and type(item.value) is dict:
            pending.append(item)
            if len(pending) < BATCH_RECORDS:
                continue
        yield from _pending_events(source, format, pending)
        pending = []
        if not isinstance(item, Value) or type(item.value) is not dict:
            yield from _item_events(source, format, item, None)
    yield from _pending_events(source, format, pending)


def _pending_events(source: str, format: Format, pending: list[Value]) -> Iterator[Any]:
    """A run of records as one frame when `records_frame` covers it, else event by event."""
    if not pending:
        return
    frame = records_frame([item.value for item in pending])
    if frame is not None:
        yield frame
        return
    for item in pending:
        yield from _item_events(source, format, item, None)


def _item_events(
    source: str, format: Format, item: Value | Rejected, timestamp_field: str | None
) -> Iterator[LogEvent | Rejected]:
    """The events of one value read from an input (or the `Rejected` it is)."""
    if isinstance(item, Rejected):
        yield item
        return
    if is_engine_event(item.value):
        yield item.value
        return
    for number, record in _records(format, item):
        try:
            event = build_event(format, record, timestamp_field)
        except EventError as exc:
            yield Rejected(source, number, str(exc))
            continue
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            yield Rejected(source, number, f"cannot read the record: {exc}")
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
