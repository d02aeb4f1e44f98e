"""`hindsight score RULES --labels FILE`: rules against labelled attack windows."""

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
    out_console,
    start_option,
)
from engine.workflow.report import duration_text
from engine.workflow.score import ScoreReport, score


@cli.command("score")
@click.argument("rules", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_option
@click.option(
    "--labels",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV or JSON file of labelled attack windows.",
)
@index_option
@start_option
@end_option
@format_option("table", "json")
def score_command(
    rules: tuple[Path, ...],
    archive: str,
    labels: Path,
    index: str,
    start: str | None,
    end: str | None,
    output_format: str,
) -> int:
    """Score RULES (files or folders) against the labelled attacks of an archive."""
    report = score(list(rules), archive, labels, start=start, end=end, index=index)
    if output_format == "json":
        click.echo(report.to_json())
    else:
        print_score(report)
    return 1 if any(rule.error for rule in report.rules) else 0


def _ratio(done: int, total: int) -> str:
    return f"{done}/{total}" if total else "-"


def _ttd(milliseconds: float | None) -> str:
    return "-" if milliseconds is None else duration_text(milliseconds)


def _per_day(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_score(report: ScoreReport) -> None:
    """The per-rule table, the per-label table and the missed labels."""
    table = Table(
        "rule", "results", "recall", "false pos.", "FP/day", "mean time to detect", title="Rules"
    )
    for rule in report.rules:
        table.add_row(
            escape(rule.rule),
            str(rule.results) if rule.error is None else "[red]error[/]",
            _ratio(rule.detected, rule.labels_in_scope),
            str(rule.false_positives),
            _per_day(rule.false_positives_per_day),
            _ttd(rule.mean_time_to_detect_ms),
        )
    total = report.overall
    table.add_row(
        "[bold]all rules[/]",
        str(total.results),
        _ratio(total.caught, total.labels),
        str(total.false_positives),
        _per_day(total.false_positives_per_day),
        _ttd(total.mean_time_to_detect_ms),
    )
    out_console.print(table)
    labels = Table("label", "window (UTC)", "entity", "caught by", "time to detect", title="Labels")
    for label in report.labels:
        labels.add_row(
            escape(label.label),
            f"{label.start[:19]} to {label.end[11:19]}",
            escape(label.entity or ""),
            escape(", ".join(label.caught_by)) or "[red]nothing[/]",
            _ttd(label.time_to_detect_ms),
        )
    out_console.print(labels)
    for rule in report.rules:
        if rule.error:
            out_console.print(f"[red]error in rule {escape(rule.rule)!r}: {escape(rule.error)}[/]")
    missed = ", ".join(report.missed) or "none"
    out_console.print(
        f"{total.caught}/{total.labels} labelled attacks caught over {report.days:.2f} days "
        f"({report.start} to {report.end}); not caught: {missed}"
    )
