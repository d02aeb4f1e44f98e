"""`hindsight run`: detection rules over the archive, results and a per-rule summary.

Every valid rule runs; a rule file that cannot be loaded, or a rule the engine cannot run (an
unsupported type or detection method), is skipped and reported with its file and reason, unless
`--strict`. The exit status tells the outcomes apart (`EXIT_*`, docs/cli.md).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from engine.archive.reader import open_archive
from engine.cli.common import (
    EXIT_USER_ERROR,
    archive_option,
    cli,
    end_option,
    err_console,
    index_option,
    number,
    start_option,
)
from engine.cli.outputs import (
    chosen_format,
    format_option,
    output_option,
    write_manifest,
    write_matched,
    write_results,
)
from engine.core.errors import RuleSetValidationError, RuleValidationError
from engine.core.severity import SEVERITIES_DESCENDING
from engine.results.outcome import JobRun
from engine.rules.loader import RuleEntry, rule_entries
from engine.run import run
from engine.workflow.lint import preflight

#: Exit statuses of `hindsight run` (user errors exit with `EXIT_USER_ERROR` too).
EXIT_RAN = 0  # every selected rule ran, with or without results
EXIT_RESULTS_FOUND = 1  # only with --fail-on-results: results were found
EXIT_RULES_SKIPPED = EXIT_USER_ERROR  # some rule could not be loaded or run (reported)


@dataclass(frozen=True)
class Skipped:
    """A rule that did not run: where it comes from and why."""

    source: str
    reason: str


@cli.command("run")
@click.argument("rules", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_option
@index_option
@start_option
@end_option
@output_option
@format_option
@click.option(
    "--matched-logs",
    "matched_logs",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every matched log of every result to this file (format: its extension, "
    "else --format).",
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the run manifest (what `hindsight rerun` reproduces) to this JSON file.",
)
@click.option(
    "--rule",
    "selectors",
    multiple=True,
    metavar="NAME|ID|GLOB",
    help="Run only the rules with this name or id, or whose file matches this glob (repeatable).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Stop at the first rule that cannot be loaded or run, and run nothing.",
)
@click.option(
    "--sigma-pipeline",
    "sigma_pipelines",
    multiple=True,
    metavar="NAME|FILE",
    help="Field-mapping pipeline for Sigma rules (as `hindsight sigma convert --pipeline`).",
)
@click.option(
    "--tables",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Folder of reference tables (<tableName>.csv or .parquet) for the rules' referenceTables.",
)
@click.option(
    "--fail-on-results",
    is_flag=True,
    help=f"Exit with status {EXIT_RESULTS_FOUND} when the rules produced results.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the job on the Dask cluster of this scheduler (tcp://host:8786); its workers "
    "read the archive at the same path (docs/distributed.md).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Run the job on a Dask LocalCluster of this many worker processes, started for it.",
)
def run_command(
    rules: tuple[Path, ...],
    archive: str,
    index: str,
    start: str | None,
    end: str | None,
    output: Path | None,
    output_format: str | None,
    matched_logs: Path | None,
    manifest_path: Path | None,
    selectors: tuple[str, ...],
    strict: bool,
    sigma_pipelines: tuple[str, ...],
    tables: Path | None,
    fail_on_results: bool,
    scheduler: str | None,
    workers: int | None,
) -> int:
    """Run detection RULES (files or folders of rule JSON and Sigma YAML) over an archive."""
    results_format = chosen_format(output, output_format)
    matched_format = chosen_format(matched_logs, output_format, extension_first=True)
    if results_format == "parquet" and output is None:
        raise click.UsageError("--format parquet needs --output FILE")
    if scheduler is not None and workers is not None:
        raise click.UsageError("--scheduler and --workers are exclusive")
    cluster = scheduler if workers is None else f"local:{workers}"
    pipeline = list(sigma_pipelines) or None
    found = [entry for path in rules for entry in rule_entries(path, sigma_pipeline=pipeline)]
    entries = _select(found, selectors)
    loaded = [entry for entry in entries if entry.rule is not None]
    refused = [entry.error for entry in entries if entry.error is not None]
    if refused and (strict or not loaded):
        raise refused[0] if len(refused) == 1 else RuleSetValidationError(refused)
    opened = open_archive(archive)
    selected = [entry.rule for entry in loaded if entry.rule is not None]
    warnings = preflight(selected, opened, start=start, end=end, index=index)
    for warning in warnings:
        err_console.print(
            "lint: {rule}: {severity}: {where}: {message}".format(**warning), markup=False
        )

    def run_job(progress: Callable[[float], None] | None = None) -> JobRun:
        return run(
            selected,
            opened,
            start=start,
            end=end,
            index=index,
            strict=strict,
            progress=progress,
            tables=tables,
            cluster=cluster,
        )

    if err_console.is_terminal:
        with Progress(
            TextColumn("[bold]run[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=1.0)
            outcome = run_job(lambda done: bar.update(task, completed=done))
    else:
        outcome = run_job()
    skipped = [_load_failure(error) for error in refused] + [
        Skipped(entry.source, stat.error)
        for entry, stat in zip(loaded, outcome.stats, strict=True)
        if stat.error is not None
    ]
    write_results(outcome, results_format, output, lint=warnings)
    if matched_logs is not None:
        write_matched(outcome.matched_logs(), matched_format, matched_logs)
    if manifest_path is not None:
        write_manifest(outcome.manifest, manifest_path)
    _print_summary(outcome, skipped)
    if skipped:
        return EXIT_RULES_SKIPPED
    return EXIT_RESULTS_FOUND if fail_on_results and outcome.results else EXIT_RAN


def _select(entries: list[RuleEntry], selectors: tuple[str, ...]) -> list[RuleEntry]:
    """The entries `--rule` selects (all without it); a selector that matches none is an error."""
    if not selectors:
        return entries
    chosen: set[int] = set()
    for selector in selectors:
        matched = {number for number, entry in enumerate(entries) if _selects(selector, entry)}
        if not matched:
            raise click.UsageError(
                f"--rule {selector!r} matches no rule: it is compared with each rule's name and "
                f"id, and matched as a glob against its file ({len(entries)} rule(s) given)"
            )
        chosen |= matched
    return [entry for number, entry in enumerate(entries) if number in chosen]


def _selects(selector: str, entry: RuleEntry) -> bool:
    """Whether `--rule selector` names the rule, its id, or matches its file (name or path)."""
    if entry.rule is not None and selector in (entry.rule.name, entry.rule.id):
        return True
    return fnmatch.fnmatchcase(entry.file.name, selector) or fnmatch.fnmatchcase(
        str(entry.file), selector
    )


def _load_failure(error: RuleValidationError) -> Skipped:
    problems = "; ".join(
        f"{path}: {message}" if path else message for path, message in error.problems
    )
    return Skipped(error.source or "rule", problems)


def _print_summary(outcome: JobRun, skipped: list[Skipped]) -> None:
    table = Table("rule", "results", *SEVERITIES_DESCENDING, "events scanned", "matched", "time")
    for stat in outcome.stats:
        severities = [
            number(stat.results_by_severity.get(name, 0)) for name in SEVERITIES_DESCENDING
        ]
        matched = sum(stat.events_matched.values())
        table.add_row(
            stat.rule,
            number(stat.results) if stat.error is None else "[red]skipped[/]",
            *severities,
            number(stat.events_scanned),
            number(matched),
            f"{stat.seconds:.2f} s",
        )
    err_console.print(table)
    for item in skipped:
        err_console.print(f"skipped {item.source}: {item.reason}", markup=False, highlight=False)
    ran = len(outcome.stats) - sum(1 for stat in outcome.stats if stat.error is not None)
    rate = outcome.events_scanned / outcome.seconds if outcome.seconds else 0.0
    err_console.print(
        f"{number(len(outcome.results))} result(s) from {number(ran)} rule(s) over "
        f"{number(outcome.events_scanned)} events in {outcome.seconds:.2f} s "
        f"({number(rate)} events/s)" + (f"; {len(skipped)} rule(s) skipped" if skipped else "")
    )
