"""`hindsight search` and `hindsight info`: query the archive and describe it."""

from __future__ import annotations

import click
import orjson
import polars as pl
from rich.table import Table

from engine.archive.frame import frame_to_events
from engine.archive.reader import open_archive
from engine.cli.common import (
    archive_option,
    cli,
    end_option,
    err_console,
    index_option,
    number,
    out_console,
    size,
    start_option,
)
from engine.core.times import format_timestamp
from engine.search import count, search, tag_named_like_a_field

#: The table's columns unless `--columns` says otherwise.
DEFAULT_COLUMNS: tuple[str, ...] = ("timestamp", "host", "service", "source", "status", "message")
#: What the `message` cell shows for an event without a message: the fields that identify it, by
#: source (the first present of `IDENTIFYING_FIELDS` for other sources).
IDENTIFYING_FIELDS_BY_SOURCE: dict[str, tuple[str, ...]] = {
    "cloudtrail": ("@evt.name", "@userIdentity.arn"),
}
IDENTIFYING_FIELDS: tuple[str, ...] = (
    "@evt.name",
    "@evt.outcome",
    "@usr.id",
    "@usr.email",
    "@network.client.ip",
    "@http.method",
    "@http.url",
    "@http.status_code",
    "@title",
)
MAX_IDENTIFYING = 3
CELL_WIDTH = 120


@cli.command("search")
@click.argument("query", required=False)
@archive_option
@index_option
@start_option
@end_option
@click.option(
    "--id",
    "ids",
    multiple=True,
    help="Only the log with this id (repeatable); QUERY may then be omitted.",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0))
@click.option("--count", "count_only", is_flag=True, help="Print only the number of matches.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "jsonl", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--columns",
    default=None,
    help="Columns of the table or csv, comma-separated (e.g. timestamp,@evt.name,@usr.id).",
)
def search_command(
    query: str | None,
    archive: str,
    index: str,
    start: str | None,
    end: str | None,
    ids: tuple[str, ...],
    limit: int,
    count_only: bool,
    output_format: str,
    columns: str | None,
) -> None:
    """Print the archived events that match a log search QUERY (and `--id`, when given)."""
    if query is None and not ids:
        raise click.UsageError("give a QUERY, or --id ID to look logs up by id")
    if columns is not None and output_format in ("json", "jsonl"):
        raise click.UsageError("--columns applies to the table and csv formats")
    text = "*" if query is None else query
    opened = open_archive(archive)
    wanted = list(ids) or None
    if count_only:
        found = count(text, opened, index=index, start=start, end=end, ids=wanted)
        click.echo(found)
    else:
        frame = search(text, opened, index=index, start=start, end=end, limit=limit, ids=wanted)
        chosen = _columns(columns, frame)
        _print_events(frame, output_format, chosen)
        found = frame.height
    hint = tag_named_like_a_field(text) if found == 0 else None
    if hint is not None:
        err_console.print(f"note: {hint}", markup=False, highlight=False)


def _columns(columns: str | None, frame: pl.DataFrame) -> tuple[str, ...] | None:
    """The `--columns` list, each checked against the index's columns."""
    if columns is None:
        return None
    names = tuple(name.strip() for name in columns.split(",") if name.strip())
    unknown = [name for name in names if name not in frame.columns or name == "_raw"]
    if not names or unknown:
        raise click.UsageError(
            f"--columns: no field {', '.join(unknown) or '(none given)'} in this index "
            "(name fields as queries do: timestamp, host, message, @evt.name, ...)"
        )
    return names


def _print_events(found: pl.DataFrame, output_format: str, columns: tuple[str, ...] | None) -> None:
    if output_format in ("jsonl", "json"):
        events = frame_to_events(found)
        if output_format == "jsonl":
            for event in events:
                click.echo(orjson.dumps(event).decode())
        else:
            click.echo(orjson.dumps(events, option=orjson.OPT_INDENT_2).decode())
    elif output_format == "csv":
        chosen = found.select(columns) if columns is not None else found.drop("_raw")
        click.echo(_texts(chosen).write_csv(), nl=False)
    else:
        _print_table(found, columns)


def _texts(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text: epoch ms for the timestamp, lists joined with commas."""
    return frame.select(
        pl.col(name).dt.epoch("ms").cast(pl.String)
        if name == "timestamp"
        else pl.col(name).cast(pl.List(pl.String)).list.join(",")
        if isinstance(dtype, pl.List)
        else pl.col(name).cast(pl.String)
        for name, dtype in frame.schema.items()
    )


def _print_table(found: pl.DataFrame, columns: tuple[str, ...] | None) -> None:
    """The events as a table; without `--columns`, an event with no message shows the fields
    that identify it in the message column (`IDENTIFYING_FIELDS_BY_SOURCE`)."""
    shown = columns or DEFAULT_COLUMNS
    identifying = [] if columns is not None else _identifying_columns(found)
    texts = _texts(found.select(list(dict.fromkeys([*shown, "source", *identifying]))))
    table = Table(*shown)
    for row in texts.iter_rows(named=True):
        cells = []
        for name in shown:
            value = row[name]
            if name == "timestamp" and value is not None:
                value = format_timestamp(int(value))
            elif name == "message" and value is None and identifying:
                value = _identification(row)
            cells.append((value or "").replace("\n", " ")[:CELL_WIDTH])
        table.add_row(*cells)
    out_console.print(table)
    out_console.print(f"{found.height} event(s)")


def _identifying_columns(found: pl.DataFrame) -> list[str]:
    fields = [*IDENTIFYING_FIELDS, *(f for fs in IDENTIFYING_FIELDS_BY_SOURCE.values() for f in fs)]
    return [name for name in dict.fromkeys(fields) if name in found.columns]


def _identification(row: dict[str, str | None]) -> str:
    """`field:value` of the first identifying fields the event has."""
    fields = IDENTIFYING_FIELDS_BY_SOURCE.get(row["source"] or "", IDENTIFYING_FIELDS)
    present = [f"{name}:{row[name]}" for name in fields if row.get(name) is not None]
    return " ".join(present[:MAX_IDENTIFYING])


@cli.command("info")
@archive_option
def info_command(archive: str) -> None:
    """Show the indexes of an archive: events, files, size, time range, columns.

    Damaged files (skipped, each named in a warning) are counted in their own column.
    """
    opened = open_archive(archive)
    table = Table("index", "events", "files", "size", "from", "to", "columns", "damaged")
    for name in opened.indexes():
        info = opened.info(name)
        table.add_row(
            name,
            number(info.events),
            number(info.files),
            size(info.bytes),
            format_timestamp(info.min_ts) if info.min_ts is not None else "-",
            format_timestamp(info.max_ts) if info.max_ts is not None else "-",
            number(info.columns),
            number(len(info.damaged)),
        )
    out_console.print(table)
