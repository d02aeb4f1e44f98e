"""The `hindsight` command. Thin: every subcommand calls the same functions as the Python API.

User errors (a bad query, rule, file, option) print one clear message, never a traceback, and exit
with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from engine.cli import (
    diff,
    explain,
    ingest,
    lint,
    replay,
    report,
    run,
    score,
    search,
    service,
    sigma,
    test,
)
from engine.cli.common import EXIT_USER_ERROR, cli, show_warnings
from engine.core.errors import HindsightError

__all__ = [
    "cli",
    "diff",
    "explain",
    "ingest",
    "lint",
    "main",
    "replay",
    "report",
    "run",
    "score",
    "search",
    "service",
    "sigma",
    "test",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print a message (no traceback) and return 2."""
    show_warnings()
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
