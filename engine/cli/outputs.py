"""Where `hindsight run` and `hindsight events` write what they found, in one of the formats.

| format | results (`run`) | matched logs (`run --matched-logs`, `events`) |
|---|---|---|
| `table` | trigger time, title, severity, group, events, last seen | result, rule, time, host, service, message |
| `jsonl` | one histsignal document a line | one matched log a line, with `result_id`, `rule`, `group_by` |
| `json` | the run file (`engine.results.runfile`) | an array of the same objects |
| `csv` | one row per result, a `group.<field>` column per group-by field | one row per log, the same group columns, `attributes` as JSON |
| `parquet` | as csv, lists and times typed | as csv, lists and times typed |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, assert_never

import click
import orjson
import polars as pl
from rich.console import Console
from rich.table import Table

from engine.cli.common import number, out_console
from engine.core.times import format_timestamp
from engine.results.export import (
    csv_frame,
    documents_text,
    matched_csv_frame,
    matched_text,
)
from engine.results.manifest import RunManifest
from engine.results.outcome import JobRun
from engine.results.runfile import run_text

FORMATS = ("table", "jsonl", "json", "csv", "parquet")
#: Wide enough for a results table written to a file.
FILE_TABLE_WIDTH = 200


def write_results(
    outcome: JobRun,
    output_format: str,
    output: Path | None,
    *,
    lint: Sequence[Mapping[str, Any]] = (),
) -> None:
    """The results of a run in `output_format`, to `output` (standard output when None)."""
    match output_format:
        case "table":
            table = Table("triggered", "rule", "severity", "group", "events", "last seen")
            for result in outcome.results:
                table.add_row(
                    format_timestamp(result.timestamp),
                    result.title,
                    result.severity,
                    ", ".join(f"{k}:{v}" for k, v in result.group_by.items()),
                    number(result.events_matched),
                    format_timestamp(result.last_seen),
                )
            _table(table, output)
        case "jsonl":
            _text(documents_text(outcome.results, lines=True), output)
        case "json":
            _text(run_text(outcome, lint=lint), output)
        case "csv" | "parquet":
            _frame(outcome.to_polars(), csv_frame, output_format, output)
        case _:
            raise click.UsageError(f"unknown format {output_format!r}")


def write_matched(frame: pl.DataFrame, output_format: str, output: Path | None) -> None:
    """Matched logs (`matched_frame`) in `output_format`, to `output` (or standard output)."""
    match output_format:
        case "table":
            table = Table("result", "rule", "timestamp", "host", "service", "message")
            shown = frame.select(
                "result_id",
                "rule",
                pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
                "host",
                "service",
                pl.coalesce("message", pl.col("attributes").str.slice(0, 120)),
            )
            for row in shown.iter_rows():
                table.add_row(*(cell or "" for cell in row))
            _table(table, output)
        case "jsonl" | "json":
            _text(matched_text(frame, lines=output_format == "jsonl"), output)
        case "csv" | "parquet":
            _frame(frame, matched_csv_frame, output_format, output)
        case _:
            raise click.UsageError(f"unknown format {output_format!r}")


def write_manifest(manifest: RunManifest | None, output: Path) -> None:
    """The run manifest as indented JSON."""
    data = manifest.to_json() if manifest is not None else None
    output.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def _table(table: Table, output: Path | None) -> None:
    if output is None:
        out_console.print(table)
        return
    with output.open("w") as handle:
        Console(file=handle, width=FILE_TABLE_WIDTH).print(table)


def _text(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


def _frame(
    frame: pl.DataFrame,
    for_csv: Any,
    output_format: str,
    output: Path | None,
) -> None:
    if output_format == "parquet":
        if output is None:
            raise click.UsageError("--format parquet needs a file (--output, --matched-logs)")
        frame.write_parquet(output)
        return
    flat = for_csv(frame)
    if output is None:
        click.echo(flat.write_csv(), nl=False)
    else:
        flat.write_csv(output)


def check_format(output_format: str) -> str:
    """`output_format` if it is one of `FORMATS` (exhaustive dispatch above)."""
    if output_format not in FORMATS:
        assert_never(output_format)  # type: ignore[arg-type]
    return output_format
