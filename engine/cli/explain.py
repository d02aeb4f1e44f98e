"""`hindsight explain` and `hindsight explain-query`: why a rule or a query fired, or did not."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from engine.archive.frame import events_to_frame
from engine.cli.common import (
    archive_option,
    cli,
    end_option,
    format_option,
    index_option,
    out_console,
    start_option,
)
from engine.workflow.clauses import evaluate_clauses
from engine.workflow.examples import file_events
from engine.workflow.explain import Explanation, InstantExplanation, explain


@cli.command("explain")
@click.argument("rule", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@archive_option
@click.option(
    "--group",
    default="",
    help="The group's values of the rule's group-by fields, comma-separated, in order.",
)
@click.option("--at", "at", required=True, help="The time to explain (RFC 3339 or epoch ms).")
@click.option("--around", default="30m", show_default=True, help="Span on each side of --at.")
@index_option
@start_option
@end_option
@format_option("table", "json")
def explain_command(
    rule: Path,
    archive: str,
    group: str,
    at: str,
    around: str,
    index: str,
    start: str | None,
    end: str | None,
    output_format: str,
) -> int:
    """Explain why RULE fired, or not, for one group around a time."""
    values = [value for value in group.split(",")] if group else []
    report = explain(
        rule, archive, group=values, at=at, around=around, start=start, end=end, index=index
    )
    if output_format == "json":
        click.echo(report.to_json())
    else:
        print_explanation(report)
    return 0


def _case_text(instant: InstantExplanation) -> str:
    if instant.matched_case is not None:
        check = instant.cases[instant.matched_case]
        label = check.name or f"case {check.case}"
        return f"[green]{escape(label)}[/] ({check.status}): {escape(check.why)}"
    return "[red]none[/]: " + escape("; ".join(check.why for check in instant.cases))


def print_explanation(report: Explanation) -> None:
    """The instants table, the results' stories and the unmatched events."""
    group = ", ".join(f"{k}:{v}" for k, v in report.group_by.items()) or "(no group-by)"
    out_console.print(
        f"[bold]{escape(report.rule)}[/] for {escape(group)}, "
        f"{report.span_start} to {report.span_end}"
    )
    out_console.print(
        f"evaluationWindow {report.evaluation_window} s, keepAlive {report.keep_alive} s, "
        f"maxSignalDuration {report.max_signal_duration} s"
    )
    if report.instants:
        names = [f"{q.query} ({q.aggregation})" for q in report.instants[0].queries]
        found = any(instant.found for instant in report.instants)
        table = Table(
            "instant",
            *names,
            "case",
            *(["found"] if found else []),
            "lifecycle",
            title="Evaluation instants",
        )
        for instant in report.instants:
            cells = [
                f"{_value(q.value)} ({q.events} event{'s' if q.events != 1 else ''})"
                for q in instant.queries
            ]
            what = [escape(instant.found)] if found else []
            table.add_row(
                instant.time, *cells, _case_text(instant), *what, escape(instant.lifecycle)
            )
        out_console.print(table)
    else:
        out_console.print("No evaluation instant of this group in the span: no query matched.")
    if report.results:
        table = Table(
            "#", "opened", "first seen", "last seen", "severity", "events", "ended", title="Results"
        )
        for story in report.results:
            table.add_row(
                str(story.number),
                story.opened_at,
                story.first_seen,
                story.last_seen,
                story.severity,
                str(story.events_matched),
                escape(story.ended),
            )
        out_console.print(table)
    if report.unmatched:
        out_console.print(
            f"[bold]Events of the group that no query matched[/] "
            f"({len(report.unmatched)} of {report.unmatched_total}):"
        )
        for event in report.unmatched:
            out_console.print(f"  {event.timestamp} {escape(event.id)}")
            for query, failures in event.failures.items():
                for failure in failures:
                    clause, reason = escape(failure.clause), escape(failure.reason)
                    out_console.print(f"    {escape(query)}: ✗ {clause} — {reason}")


def _value(value: float | None) -> str:
    if value is None:
        return "no value"
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


@cli.command("explain-query")
@click.argument("query")
@click.argument("event", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def explain_query_command(query: str, event: Path) -> int:
    """Evaluate QUERY clause by clause on the log(s) of EVENT (a JSON file, any ingest format).

    Exits 0 when the query matches every log of the file, 1 otherwise.
    """
    events = file_events(event, "auto", 0)
    if not events:
        raise click.BadParameter(f"{event} holds no log", param_hint="EVENT")
    verdicts = evaluate_clauses(query, events_to_frame(events))
    for number, verdict in enumerate(verdicts, start=1):
        if len(verdicts) > 1:
            out_console.print(f"[bold]log {number}[/] ({escape(events[number - 1]['id'])})")
        for line in verdict.lines():
            colour = "green" if line.lstrip().startswith("✓") else "red"
            out_console.print(f"[{colour}]{escape(line)}[/]")
    return 0 if all(verdict.holds for verdict in verdicts) else 1
