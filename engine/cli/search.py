"""`hindsight search` and `hindsight info`: query the archive and describe it."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
import polars as pl
from rich.table import Table

from engine.archive.event import format_timestamp
from engine.archive.frame import frame_to_events
from engine.archive.reader import open_archive
from engine.cli.common import (
    archive_option,
    cli,
    end_option,
    index_option,
    number,
    out_console,
    size,
    start_option,
)
from engine.search import count, search


@cli.command("search")
@click.argument("query")
@archive_option
@index_option
@start_option
@end_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0))
@click.option("--count", "count_only", is_flag=True, help="Print only the number of matches.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "jsonl", "json", "csv"]),
    default="table",
    show_default=True,
)
def search_command(
    query: str,
    archive: Path,
    index: str,
    start: str | None,
    end: str | None,
    limit: int,
    count_only: bool,
    output_format: str,
) -> None:
    """Print the archived events that match a log search QUERY."""
    opened = open_archive(archive)
    if count_only:
        click.echo(count(query, opened, index=index, start=start, end=end))
        return
    found = search(query, opened, index=index, start=start, end=end, limit=limit)
    _print_events(found, output_format)


def _print_events(found: pl.DataFrame, output_format: str) -> None:
    events = frame_to_events(found)
    if output_format == "jsonl":
        for event in events:
            click.echo(orjson.dumps(event).decode())
    elif output_format == "json":
        click.echo(orjson.dumps(events, option=orjson.OPT_INDENT_2).decode())
    elif output_format == "csv":
        flat = found.select(
            pl.col("timestamp").dt.epoch("ms"),
            pl.exclude("timestamp", "tags", "_raw").cast(pl.String),
            pl.col("tags").list.join(","),
        )
        order = [name for name in found.columns if name in flat.columns]
        click.echo(flat.select(order).write_csv(), nl=False)
    else:
        table = Table("timestamp", "host", "service", "source", "status", "message")
        for event in events:
            message = (event["message"] or "").replace("\n", " ")
            table.add_row(
                format_timestamp(event["timestamp"]),
                event["host"] or "",
                event["service"] or "",
                event["source"] or "",
                event["status"] or "",
                message[:120],
            )
        out_console.print(table)
        out_console.print(f"{len(events)} event(s)")


@cli.command("info")
@archive_option
def info_command(archive: Path) -> None:
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
