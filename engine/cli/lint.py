"""`hindsight lint RULES --archive A`: preflight rules against an archive (no full scan)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from engine.cli.common import (
    archive_option,
    cli,
    end_option,
    format_option,
    index_option,
    number,
    out_console,
    size,
    start_option,
)
from engine.workflow.lint import LintReport, lint
from engine.workflow.lint_query import SEVERITIES

_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


@cli.command("lint")
@click.argument("rules", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_option
@index_option
@start_option
@end_option
@format_option("table", "json")
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="error",
    show_default=True,
    help="Exit with status 1 when a finding is at least this severe.",
)
def lint_command(
    rules: tuple[Path, ...],
    archive: str,
    index: str,
    start: str | None,
    end: str | None,
    output_format: str,
    fail_on: str,
) -> int:
    """Check RULES (files or folders) against an archive's schema and a sample of its rows."""
    for path in rules:
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="RULES")
    report = lint(list(rules), archive, start=start, end=end, index=index)
    if output_format == "json":
        click.echo(report.to_json())
    else:
        print_lint(report)
    threshold = next(severity for severity in SEVERITIES if severity == fail_on)
    return 1 if report.fails(threshold) else 0


def print_lint(report: LintReport) -> None:
    """Findings per rule, then the estimated cost per rule."""
    findings = Table("rule", "severity", "check", "where", "finding", title="Findings")
    for rule in report.rules:
        for item in rule.findings:
            colour = _COLOURS[item.severity]
            findings.add_row(
                escape(rule.rule),
                f"[{colour}]{item.severity}[/]",
                item.check,
                escape(item.where),
                escape(item.message),
            )
    if findings.row_count:
        out_console.print(findings)
    costs = Table("rule", "columns read", "estimated matches", title="Estimated cost")
    for rule in report.rules:
        if rule.cost is not None:
            matches = ", ".join(f"{k}: {number(v)}" for k, v in rule.cost.estimated_matches.items())
            costs.add_row(escape(rule.rule), str(len(rule.cost.columns)), escape(matches))
    out_console.print(costs)
    sample = (
        "every row" if report.sample_complete else f"a sample of {number(report.sample_rows)} rows"
    )
    out_console.print(
        f"{len(report.rules)} rule(s): {report.count('error')} error(s), "
        f"{report.count('warning')} warning(s), {report.count('info')} info; a scan reads "
        f"{number(report.rows_in_range)} rows in {report.files_in_range} files "
        f"({size(report.bytes_in_range)}) after partition pruning; checked on {sample}"
    )
