"""`hindsight diff OLD NEW`: two versions of rules on the same data (table, JSON, Markdown)."""

from __future__ import annotations

from collections.abc import Sequence

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
    start_option,
)
from engine.core.times import format_timestamp
from engine.workflow.diff import ChangedResult, DiffReport, ResultSummary, diff

#: Rows per section of the Markdown summary (a pull-request comment stays readable).
MARKDOWN_ROWS = 25


@cli.command("diff")
@click.argument("old")
@click.argument("new")
@archive_option
@index_option
@start_option
@end_option
@format_option("table", "json", "markdown")
@click.option("--fail-on-change", is_flag=True, help="Exit with status 1 when anything differs.")
def diff_command(
    old: str,
    new: str,
    archive: str,
    index: str,
    start: str | None,
    end: str | None,
    output_format: str,
    fail_on_change: bool,
) -> int:
    """Compare OLD and NEW rules (files, folders, or PATH@GITREV) on the same archive scan."""
    report = diff(old, new, archive, start=start, end=end, index=index)
    if output_format == "json":
        click.echo(report.to_json())
    elif output_format == "markdown":
        click.echo(markdown(report))
    else:
        _print_tables(report)
    return 1 if fail_on_change and report.has_changes else 0


def headline(report: DiffReport) -> str:
    """One line: how many results each version has and how they differ."""
    return (
        f"OLD {report.old}: {report.old_results} result(s); NEW {report.new}: "
        f"{report.new_results} result(s); {len(report.only_old)} only in OLD, "
        f"{len(report.only_new)} only in NEW, {len(report.changed)} changed, "
        f"{report.unchanged} unchanged (over {number(report.events_scanned)} events)"
    )


def _group(summary: ResultSummary) -> str:
    return ", ".join(f"{k}:{v}" for k, v in summary.group_by.items())


def _result_row(summary: ResultSummary) -> list[str]:
    return [
        summary.rule,
        _group(summary),
        summary.severity,
        format_timestamp(summary.first_seen),
        format_timestamp(summary.last_seen),
        str(summary.events_matched),
    ]


def _change_text(change: ChangedResult) -> str:
    parts = []
    for item in change.changes:
        old, new = item.old, item.new
        if hasattr(old, "isoformat"):
            old, new = format_timestamp(old), format_timestamp(new)
        parts.append(f"{item.field}: {old} → {new}")
    if change.events_only_old or change.events_only_new:
        parts.append(f"events -{change.events_only_old} +{change.events_only_new}")
    return "; ".join(parts)


_RESULT_HEADERS = ["rule", "group", "severity", "first seen", "last seen", "events"]


def _print_tables(report: DiffReport) -> None:
    out_console.print(escape(headline(report)))
    for pair in report.rules:
        for side, error in (("OLD", pair.old_error), ("NEW", pair.new_error)):
            if error:
                out_console.print(f"[red]{side} {escape(pair.identity)}: {escape(error)}[/]")
    for title, rows in (("Only in OLD", report.only_old), ("Only in NEW", report.only_new)):
        if rows:
            table = Table(*_RESULT_HEADERS, title=title)
            for summary in rows:
                table.add_row(*map(escape, _result_row(summary)))
            out_console.print(table)
    if report.changed:
        table = Table("rule", "group", "first seen (OLD)", "what changed", title="Changed")
        for change in report.changed:
            table.add_row(
                *map(
                    escape,
                    [
                        change.old.rule,
                        _group(change.old),
                        format_timestamp(change.old.first_seen),
                        _change_text(change),
                    ],
                )
            )
        out_console.print(table)
    queries = Table(
        "rule", "query", "OLD events", "NEW events", "only OLD", "only NEW", title="Matched events"
    )
    for item in report.queries:
        queries.add_row(
            *map(
                escape,
                [
                    item.rule,
                    item.query,
                    number(item.old_events),
                    number(item.new_events),
                    number(item.only_old),
                    number(item.only_new),
                ],
            )
        )
    out_console.print(queries)
    days = Table("day", "OLD results", "NEW results", "OLD events", "NEW events", title="Per day")
    for day in report.per_day:
        days.add_row(
            day.day,
            *(
                number(v)
                for v in (day.old_results, day.new_results, day.old_events, day.new_events)
            ),
        )
    out_console.print(days)


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows[:MARKDOWN_ROWS]]
    if len(rows) > MARKDOWN_ROWS:
        lines.append(f"\n… and {len(rows) - MARKDOWN_ROWS} more")
    return lines


def markdown(report: DiffReport) -> str:
    """A Markdown summary of the report, fit for a pull-request comment."""
    verdict = "changes" if report.has_changes else "no change"
    lines = [f"### Hindsight rule diff: {verdict}", "", headline(report), ""]
    sections: list[tuple[str, Sequence[str], list[list[str]]]] = [
        ("Only in OLD", _RESULT_HEADERS, [_result_row(s) for s in report.only_old]),
        ("Only in NEW", _RESULT_HEADERS, [_result_row(s) for s in report.only_new]),
        (
            "Changed",
            ["rule", "group", "what changed"],
            [[c.old.rule, _group(c.old), _change_text(c)] for c in report.changed],
        ),
        (
            "Matched events that differ",
            ["rule", "query", "OLD", "NEW", "only OLD", "only NEW"],
            [
                [q.rule, q.query, *map(str, (q.old_events, q.new_events, q.only_old, q.only_new))]
                for q in report.queries
                if q.only_old or q.only_new
            ],
        ),
    ]
    for title, headers, rows in sections:
        if rows:
            lines += [f"**{title}**", "", *_markdown_table(headers, rows), ""]
    day_rows = [
        [d.day, *map(str, (d.old_results, d.new_results, d.old_events, d.new_events))]
        for d in report.per_day
    ]
    if day_rows:
        headers = ["day", "OLD results", "NEW results", "OLD events", "NEW events"]
        lines += ["**Per day**", "", *_markdown_table(headers, day_rows)]
    return "\n".join(lines)
