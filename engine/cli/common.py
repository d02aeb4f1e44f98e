"""Shared pieces of the `hindsight` command: consoles, number formats, common options."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

EXIT_USER_ERROR = 2

PIPE_WIDTH = 160  # tables written to a file or a pipe are not wrapped to 80 columns


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPE_WIDTH)


err_console = _console(stderr=True)
out_console = _console(stderr=False)


class WarningEcho(logging.Handler):
    """Shows the engine's warnings on stderr as `warning: ...` lines (no traceback)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Print one record (the stream is looked up now, so redirected stderr works)."""
        click.echo(f"{record.levelname.lower()}: {record.getMessage()}", err=True)


def show_warnings() -> None:
    """Print the `hindsight.*` loggers' warnings and errors on stderr (once per process)."""
    logger = logging.getLogger("hindsight")
    if not any(isinstance(handler, WarningEcho) for handler in logger.handlers):
        handler = WarningEcho(logging.WARNING)
        logger.addHandler(handler)


def number(value: float) -> str:
    """A count with thousands separators."""
    return f"{value:,.0f}"


def size(value: float) -> str:
    """A byte count in B, KB, MB or GB."""
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1024
    return f"{value:.1f} GB"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hindsight", prog_name="hindsight")
def cli() -> None:
    """Hindsight: backtest Datadog Cloud SIEM detection rules over archived logs."""


def archive_root(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An archive root as given: an `s3://bucket/prefix` URL, or a folder (not a file)."""
    if value is None or "://" in value:
        return value
    folder: Path = click.Path(file_okay=False, path_type=Path).convert(value, param, ctx)
    return str(folder)


#: The archive option's help and metavar.
ARCHIVE_HELP = "The Parquet log archive: a folder or s3://bucket/prefix (docs/distributed.md)."
ARCHIVE_METAVAR = "FOLDER|S3_URL"

archive_option = click.option(
    "--archive",
    "archive",
    required=True,
    callback=archive_root,
    metavar=ARCHIVE_METAVAR,
    help=ARCHIVE_HELP,
)
index_option = click.option("--index", default="main", show_default=True, help="Archive index.")

start_option = click.option(
    "--from", "start", default=None, help="Start (RFC 3339, epoch ms, or e.g. 7d)."
)
end_option = click.option(
    "--to", "end", default=None, help="End, exclusive (same forms as --from)."
)


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format` (into `output_format`), the first choice being the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
    )
