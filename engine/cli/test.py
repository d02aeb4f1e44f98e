"""`hindsight test`: run the rules' unit tests (pytest-like output, JUnit XML for CI)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from engine.cli.common import cli, format_option, out_console
from engine.workflow.junit import write_junit
from engine.workflow.tests import Mismatch, TestRunReport, run_tests

_MARKS = {"passed": "[green]PASSED[/]", "failed": "[red]FAILED[/]", "error": "[red]ERROR[/] "}


@cli.command("test")
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the outcome as JUnit XML to this file.",
)
@format_option("text", "json")
def test_command(rules: tuple[Path, ...], junit: Path | None, output_format: str) -> int:
    """Run the unit tests of RULES (rule files or folders; default rules/)."""
    paths = list(rules) or [Path("rules")]
    for path in paths:
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="RULES")
    report = run_tests(paths)
    if junit is not None:
        write_junit(report, junit)
    if output_format == "json":
        click.echo(report.to_json())
    else:
        _print(report)
    return 0 if report.ok else 1


def _print(report: TestRunReport) -> None:
    for rule in report.rules:
        where = rule.source or rule.tests_source or ""
        out_console.print(f"[bold]{escape(where)}[/] ({escape(rule.rule)})")
        if rule.error is not None:
            out_console.print("  [red]ERROR[/]  " + escape(rule.error))
        for outcome in rule.outcomes:
            out_console.print(f"  {_MARKS[outcome.status]} {escape(outcome.name)}")
            if outcome.error is not None:
                out_console.print("      " + escape(outcome.error).replace("\n", "\n      "))
            for mismatch in outcome.mismatches:
                _print_mismatch(mismatch)
    for file in report.untested:
        out_console.print(f"[yellow]no tests[/] {escape(file)}")
    failed, errors, passed = report.count("failed"), report.count("error"), report.count("passed")
    errors += sum(rule.error is not None for rule in report.rules)
    parts = [f"{failed} failed"] if failed else []
    parts += [f"{errors} error(s)"] if errors else []
    parts.append(f"{passed} passed")
    parts += [f"{len(report.untested)} rule(s) without tests"] if report.untested else []
    colour = "green" if report.ok else "red"
    summary = ", ".join(parts) + f" in {report.seconds:.2f}s"
    out_console.print(f"[{colour}]==== {summary} ====[/]")


def _print_mismatch(mismatch: Mismatch) -> None:
    out_console.print(f"      {escape(mismatch.what)}")
    out_console.print(f"        [green]expected:[/] {escape(_show(mismatch.expected))}")
    out_console.print(f"        [red]got:     [/] {escape(_show(mismatch.got))}")


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
