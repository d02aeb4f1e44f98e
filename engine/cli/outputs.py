"""Where `hindsight run` and `hindsight events` write what they found, in one of the formats.

Results (`run --output`): `table` (trigger time, title, severity, group, events, last seen),
`jsonl` (one histsignal document a line), `json` (the run file, `engine.results.runfile`),
`csv` / `parquet` (one row per result, a `group.<field>` column per group-by field; parquet keeps
lists and times typed and holds the run manifest in its metadata, `MANIFEST_KEY`).

Matched logs (`run --matched-logs`, `events`): `table` (result, rule, time, host, service,
message), `jsonl` / `json` (one object per log, with its `result_id`, `rule` and `group_by`),
`csv` / `parquet` (one row per log, the same `group.<field>` columns, `attributes` as JSON text).

A file's format is `--format` when given for `--output`, else its extension (`FORMAT_OF`);
`--matched-logs` goes by its extension first, then `--format`; then `table`.

Results are written as they are read from the run (`JobRun.results`, a lazy sequence over
temporary files when the run was detected in several partitions): `jsonl` and `json` one result at
a time, `csv` and `parquet` in batches of `RESULT_BATCH` results, so writing holds one batch.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal, assert_never, get_args

import click
import orjson
import polars as pl
from rich.console import Console
from rich.table import Table

from engine.cli.common import number, out_console
from engine.core.times import format_timestamp
from engine.results.export import (
    TIME_FORMAT,
    csv_frame,
    matched_csv_frame,
    matched_text,
    results_batches,
    write_csv,
    write_documents,
    write_parquet,
)
from engine.results.manifest import RunManifest
from engine.results.outcome import JobRun
from engine.results.runfile import MANIFEST_KEY, write_run_file

OutputFormat = Literal["table", "jsonl", "json", "csv", "parquet"]
FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)
#: The format a file extension stands for.
FORMAT_OF: dict[str, OutputFormat] = {
    ".txt": "table",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
_NAMED: dict[str, OutputFormat] = {name: name for name in FORMATS}
#: Wide enough for a results table written to a file.
FILE_TABLE_WIDTH = 200

output_option = click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default=None,
    help="table, jsonl, json (a run file: results, statistics, manifest), csv or parquet "
    "(default: from the file's extension, else table).",
)


def chosen_format(
    path: Path | None, given: str | None, *, extension_first: bool = False
) -> OutputFormat:
    """The format of a file: `given` or its extension (in the order asked), else `table`."""
    by_extension = FORMAT_OF.get(path.suffix.lower()) if path is not None else None
    named = _NAMED.get(given) if given is not None else None
    ordered = (by_extension, named) if extension_first else (named, by_extension)
    return next((item for item in ordered if item is not None), "table")


def write_results(
    outcome: JobRun,
    output_format: OutputFormat,
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
            with _opened(output) as handle:
                write_documents(outcome.results, handle)
        case "json":
            with _opened(output) as handle:
                write_run_file(outcome, handle, lint=lint)
        case "csv" | "parquet":
            batches = results_batches(outcome.results)
            _frames(batches, csv_frame, output_format, output, outcome.manifest)
        case _:
            assert_never(output_format)


def write_matched(frame: pl.DataFrame, output_format: OutputFormat, output: Path | None) -> None:
    """Matched logs (`matched_frame`) in `output_format`, to `output` (or standard output)."""
    match output_format:
        case "table":
            table = Table("result", "rule", "timestamp", "host", "service", "message")
            shown = frame.select(
                "result_id",
                "rule",
                pl.col("timestamp").dt.strftime(TIME_FORMAT),
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
            _frames([frame], matched_csv_frame, output_format, output, None)
        case _:
            assert_never(output_format)


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


@contextlib.contextmanager
def _opened(output: Path | None) -> Iterator[IO[bytes]]:
    """`output` opened for writing bytes, or standard output."""
    if output is None:
        sys.stdout.flush()  # what was printed before comes first
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with output.open("wb") as handle:
        yield handle


def _frames(
    frames: Iterable[pl.DataFrame],
    for_csv: Callable[[pl.DataFrame], pl.DataFrame],
    output_format: Literal["csv", "parquet"],
    output: Path | None,
    manifest: RunManifest | None,
) -> None:
    """Frames of the same columns, one after the other, as one CSV or Parquet file."""
    if output_format == "parquet":
        if output is None:
            raise click.UsageError("--format parquet needs a file (--output, --matched-logs)")
        metadata = None
        if manifest is not None:
            metadata = {MANIFEST_KEY: orjson.dumps(manifest.to_json()).decode()}
        write_parquet(frames, output, metadata)
        return
    with _opened(output) as handle:
        write_csv((for_csv(frame) for frame in frames), handle)
