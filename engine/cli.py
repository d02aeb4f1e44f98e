"""The `hindsight` command. Thin: every subcommand calls the same functions as the Python API.

User errors (a bad query, rule, file, option) print one clear message, never a traceback, and exit
with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import orjson
import polars as pl
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.archive.event import format_timestamp
from engine.archive.formats import FORMATS
from engine.archive.frame import frame_to_events
from engine.archive.ingest import IngestProgress, IngestReport, ingest
from engine.archive.reader import open_archive
from engine.errors import HindsightError
from engine.jobs.run import JobRun, run
from engine.search import count, search

EXIT_USER_ERROR = 2
_SHOWN_REJECTIONS = 20

PIPE_WIDTH = 160  # tables written to a file or a pipe are not wrapped to 80 columns


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPE_WIDTH)


err_console = _console(stderr=True)
out_console = _console(stderr=False)


def _number(value: float) -> str:
    return f"{value:,.0f}"


def _size(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1024
    return f"{value:.1f} GB"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hindsight", prog_name="hindsight")
def cli() -> None:
    """Hindsight: backtest Datadog Cloud SIEM detection rules over archived logs."""


archive_option = click.option(
    "--archive",
    "archive",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the Parquet log archive.",
)
index_option = click.option("--index", default="main", show_default=True, help="Archive index.")


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
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest_command(
    sources: tuple[Path, ...],
    archive: Path,
    index: str,
    input_format: str,
    timestamp_field: str | None,
    as_json: bool,
) -> None:
    """Ingest exported logs (files, folders, .gz/.zst/.zip) into an archive index."""
    if err_console.is_terminal and not as_json:
        with Progress(
            TextColumn("[bold]ingest[/]"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[events]} events"),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=None, events="0")

            def advance(state: IngestProgress) -> None:
                bar.update(
                    task,
                    total=state.bytes_total,
                    completed=state.bytes_done,
                    events=_number(state.events_read),
                    description=Path(state.current).name,
                )

            report = ingest(
                sources,
                archive,
                index=index,
                format=input_format,
                timestamp_field=timestamp_field,
                progress=advance,
            )
    else:
        report = ingest(
            sources, archive, index=index, format=input_format, timestamp_field=timestamp_field
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
        f"Ingested {_number(report.files)} file(s) ({_size(report.bytes_read)}) into "
        f"{report.archive} index {report.index} in {report.seconds:.1f} s"
    )
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row(
        "events read", _number(report.events_read), f"{_number(report.events_per_second)}/s"
    )
    table.add_row("events written", _number(report.events_written), "")
    table.add_row("duplicates skipped", _number(report.duplicates), "")
    table.add_row("rejected lines", _number(report.rejected), "")
    table.add_row(
        "partitions written",
        _number(report.partitions),
        f"{_number(report.files_written)} files, {_size(report.bytes_written)}",
    )
    out_console.print(table)
    if report.rejections:
        out_console.print("Rejected lines:")
        for item in report.rejections[:_SHOWN_REJECTIONS]:
            out_console.print(f"  {item.source}:{item.line}: {item.reason}", markup=False)
        hidden = report.rejected - min(len(report.rejections), _SHOWN_REJECTIONS)
        if hidden > 0:
            out_console.print(f"  ... and {_number(hidden)} more (use --json for the first 1000)")


@cli.command("search")
@click.argument("query")
@archive_option
@index_option
@click.option("--from", "start", default=None, help="Start (RFC 3339, epoch ms, or e.g. 7d).")
@click.option("--to", "end", default=None, help="End, exclusive (same forms as --from).")
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


SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@cli.command("run")
@click.argument("rules", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_option
@index_option
@click.option("--from", "start", default=None, help="Start (RFC 3339, epoch ms, or e.g. 7d).")
@click.option("--to", "end", default=None, help="End, exclusive (same forms as --from).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the results to this file instead of standard output.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "jsonl", "json", "csv", "parquet"]),
    default="table",
    show_default=True,
    help="Results format: json/jsonl write histsignal documents, csv/parquet one row each.",
)
def run_command(
    rules: tuple[Path, ...],
    archive: Path,
    index: str,
    start: str | None,
    end: str | None,
    output: Path | None,
    output_format: str,
) -> int:
    """Run detection RULES (files or folders of rule JSON) over an archive."""
    if output_format == "parquet" and output is None:
        raise click.UsageError("--format parquet needs --output FILE")
    opened = open_archive(archive)
    if err_console.is_terminal:
        with Progress(
            TextColumn("[bold]scan[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=1.0)
            outcome = run(
                list(rules),
                opened,
                start=start,
                end=end,
                index=index,
                progress=lambda done: bar.update(task, completed=done),
            )
    else:
        outcome = run(list(rules), opened, start=start, end=end, index=index)
    _write_results(outcome, output_format, output)
    _print_summary(outcome)
    return 1 if any(stat.error for stat in outcome.stats) else 0


def _write_results(outcome: JobRun, output_format: str, output: Path | None) -> None:
    if output_format == "table":
        table = Table("triggered", "rule", "severity", "group", "events", "last seen")
        for result in outcome.results:
            table.add_row(
                format_timestamp(int(result.timestamp.timestamp() * 1000)),
                result.title,
                result.severity,
                ", ".join(f"{k}:{v}" for k, v in result.group_by.items()),
                _number(result.events_matched),
                format_timestamp(int(result.last_seen.timestamp() * 1000)),
            )
        if output is None:
            out_console.print(table)
        else:
            with output.open("w") as handle:
                Console(file=handle, width=200).print(table)
        return
    if output_format in ("json", "jsonl"):
        documents = [result.to_histsignal() for result in outcome.results]
        text = (
            orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n"
            if output_format == "json"
            else "".join(orjson.dumps(document).decode() + "\n" for document in documents)
        )
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text)
        return
    frame = outcome.to_polars()
    if output_format == "parquet":
        assert output is not None
        frame.write_parquet(output)
        return
    flat = frame.with_columns(pl.col("tags", "log_ids").list.join(","))
    if output is None:
        click.echo(flat.write_csv(), nl=False)
    else:
        flat.write_csv(output)


def _print_summary(outcome: JobRun) -> None:
    table = Table("rule", "results", *SEVERITY_ORDER, "events scanned", "matched", "time")
    for stat in outcome.stats:
        severities = [_number(stat.results_by_severity.get(name, 0)) for name in SEVERITY_ORDER]
        matched = sum(stat.events_matched.values())
        table.add_row(
            stat.rule,
            _number(stat.results) if stat.error is None else "[red]error[/]",
            *severities,
            _number(stat.events_scanned),
            _number(matched),
            f"{stat.seconds:.2f} s",
        )
    err_console.print(table)
    for stat in outcome.stats:
        if stat.error:
            err_console.print(f"error in rule {stat.rule!r}: {stat.error}", markup=False)
    rate = outcome.events_scanned / outcome.seconds if outcome.seconds else 0.0
    err_console.print(
        f"{_number(len(outcome.results))} result(s) from {len(outcome.stats)} rule(s) over "
        f"{_number(outcome.events_scanned)} events in {outcome.seconds:.2f} s "
        f"({_number(rate)} events/s)"
    )


@cli.command("info")
@archive_option
def info_command(archive: Path) -> None:
    """Show the indexes of an archive: events, files, size, time range, columns."""
    opened = open_archive(archive)
    table = Table("index", "events", "files", "size", "from", "to", "columns")
    for name in opened.indexes():
        info = opened.info(name)
        table.add_row(
            name,
            _number(info.events),
            _number(info.files),
            _size(info.bytes),
            format_timestamp(info.min_ts) if info.min_ts is not None else "-",
            format_timestamp(info.max_ts) if info.max_ts is not None else "-",
            _number(info.columns),
        )
    out_console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print a message (no traceback) and return 2."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except HindsightError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_USER_ERROR
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return EXIT_USER_ERROR
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
