"""`hindsight ingest`: exported logs into the archive, with a progress bar and a report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import orjson
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from engine.archive.formats import FORMATS
from engine.archive.ingest import IngestProgress, IngestReport, ingest
from engine.cli.common import (
    archive_option,
    cli,
    err_console,
    index_option,
    number,
    out_console,
    size,
)

_SHOWN_REJECTIONS = 20


@cli.command("ingest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_option
@index_option
@click.option(
    "--format",
    "input_format",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Input format; auto detects it per file.",
)
@click.option(
    "--timestamp-field",
    default=None,
    help="Path of the event time in generic JSON input (e.g. @timestamp, TimeCreated).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes laying out large NDJSON input [default: one per core].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest_command(
    sources: tuple[Path, ...],
    archive: str,
    index: str,
    input_format: str,
    timestamp_field: str | None,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Ingest exported logs (files, folders, .gz/.zst/.zip) into an archive index."""
    if err_console.is_terminal and not as_json:
        with Progress(
            TextColumn("[bold]ingest[/]"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[events]} events ({task.fields[rate]} events/s)"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=None, events="0", rate="0")
            began = time.perf_counter()

            def advance(state: IngestProgress) -> None:
                elapsed = time.perf_counter() - began
                bar.update(
                    task,
                    total=state.bytes_total,
                    completed=state.bytes_done,
                    events=number(state.events_read),
                    rate=number(int(state.events_read / elapsed)) if elapsed > 0 else "0",
                    description=Path(state.current).name,
                )

            report = ingest(
                sources,
                archive,
                index=index,
                format=input_format,
                timestamp_field=timestamp_field,
                progress=advance,
                jobs=jobs,
            )
    else:
        report = ingest(
            sources,
            archive,
            index=index,
            format=input_format,
            timestamp_field=timestamp_field,
            jobs=jobs,
        )
    if as_json:
        click.echo(orjson.dumps(_report_dict(report), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_report(report)


def _report_dict(report: IngestReport) -> dict[str, Any]:
    return {
        "archive": str(report.archive),
        "index": report.index,
        "files": report.files,
        "bytes_read": report.bytes_read,
        "events_read": report.events_read,
        "events_written": report.events_written,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "rejections": [
            {"file": item.source, "line": item.line, "reason": item.reason}
            for item in report.rejections
        ],
        "partitions": report.partitions,
        "files_written": report.files_written,
        "bytes_written": report.bytes_written,
        "seconds": round(report.seconds, 3),
        "events_per_second": round(report.events_per_second, 1),
    }


def _print_report(report: IngestReport) -> None:
    out_console.print(
        f"Ingested {number(report.files)} file(s) ({size(report.bytes_read)}) into "
        f"{report.archive} index {report.index} in {report.seconds:.1f} s"
    )
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row(
        "events read", number(report.events_read), f"{number(report.events_per_second)}/s"
    )
    table.add_row("events written", number(report.events_written), "")
    table.add_row("duplicates skipped", number(report.duplicates), "")
    table.add_row("rejected lines", number(report.rejected), "")
    table.add_row(
        "partitions written",
        number(report.partitions),
        f"{number(report.files_written)} files, {size(report.bytes_written)}",
    )
    out_console.print(table)
    if report.rejections:
        out_console.print("Rejected lines:")
        for item in report.rejections[:_SHOWN_REJECTIONS]:
            out_console.print(f"  {item.source}:{item.line}: {item.reason}", markup=False)
        hidden = report.rejected - min(len(report.rejections), _SHOWN_REJECTIONS)
        if hidden > 0:
            out_console.print(f"  ... and {number(hidden)} more (use --json for the first 1000)")
