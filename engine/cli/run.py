"""`hindsight run`: detection rules over the archive, results and a per-rule summary."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
import polars as pl
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.archive.event import format_timestamp
from engine.archive.reader import open_archive
from engine.cli.common import (
    archive_option,
    cli,
    end_option,
    err_console,
    index_option,
    number,
    out_console,
    start_option,
)
from engine.jobs.run import JobRun, run
from engine.workflow.lint import preflight

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


@cli.command("run")
@click.argument("rules", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_option
@index_option
@start_option
@end_option
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
    for warning in preflight(list(rules), opened, start=start, end=end, index=index):
        err_console.print(
            "lint: {rule}: {severity}: {where}: {message}".format(**warning), markup=False
        )
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
                number(result.events_matched),
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
        severities = [number(stat.results_by_severity.get(name, 0)) for name in SEVERITY_ORDER]
        matched = sum(stat.events_matched.values())
        table.add_row(
            stat.rule,
            number(stat.results) if stat.error is None else "[red]error[/]",
            *severities,
            number(stat.events_scanned),
            number(matched),
            f"{stat.seconds:.2f} s",
        )
    err_console.print(table)
    for stat in outcome.stats:
        if stat.error:
            err_console.print(f"error in rule {stat.rule!r}: {stat.error}", markup=False)
    rate = outcome.events_scanned / outcome.seconds if outcome.seconds else 0.0
    err_console.print(
        f"{number(len(outcome.results))} result(s) from {len(outcome.stats)} rule(s) over "
        f"{number(outcome.events_scanned)} events in {outcome.seconds:.2f} s "
        f"({number(rate)} events/s)"
    )
