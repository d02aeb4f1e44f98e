"""`hindsight events` and `hindsight rerun`: back to a run after it is over.

A run is named by its run file (`hindsight run --output run.json`), a manifest file
(`--manifest PATH`), Parquet results (their metadata holds the manifest), or a job of the job
service (`--job ID`, whose manifest the job store keeps). A run file also lists every matched log
id of each result, so `events --run` reads the logs in one pass; a job's results are found again
by rerunning it over the same snapshot (its result ids are stable).
"""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from engine.cli.common import cli, err_console, number, out_console
from engine.cli.outputs import chosen_format, format_option, output_option, write_matched
from engine.cli.service import config_option, db_option
from engine.core.errors import NotFoundError
from engine.results.manifest import RunManifest
from engine.results.matched import matched_frame
from engine.results.runfile import read_manifest, read_run_file
from engine.service.jobs import job_manifest
from engine.service.settings import load_settings
from engine.store import connect
from engine.store.jobs import JobStore
from engine.workflow.rerun import replay, rerun

#: `hindsight rerun` exit statuses (a changed snapshot is a user error: 2).
EXIT_IDENTICAL = 0
EXIT_DIFFERENT = 1

job_option = click.option(
    "--job", "job_id", default=None, help="A job of the job service (its manifest is in --db)."
)


def stored_manifest(job_id: str, database: str | None, config: Path | None) -> RunManifest:
    """The manifest the job store keeps for a job."""
    store = connect(database or load_settings(config).database)
    record = JobStore(store).get(job_id)
    if record is None:
        raise NotFoundError(f"job {job_id} was not found in {store.url}")
    return job_manifest(record)


@cli.command("events")
@click.argument("result_id")
@click.option(
    "--run",
    "run_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The run file the result comes from (`hindsight run --output run.json`).",
)
@job_option
@db_option
@config_option
@output_option
@format_option
def events_command(
    result_id: str,
    run_path: Path | None,
    job_id: str | None,
    database: str | None,
    config: Path | None,
    output: Path | None,
    output_format: str | None,
) -> None:
    """Every log a result matched (not only its samples), one row per log."""
    if (run_path is None) == (job_id is None):
        raise click.UsageError("name the run of the result: --run RUN.json or --job ID")
    frame: pl.DataFrame
    if run_path is not None:
        run_file = read_run_file(run_path)
        frame = matched_frame(run_file.logs(), run_file.result_logs(result_id))
    else:
        assert job_id is not None
        outcome = replay(stored_manifest(job_id, database, config))
        try:
            frame = outcome.matched_logs([outcome.result(result_id)])
        except KeyError:
            raise NotFoundError(f"job {job_id} has no result {result_id!r}") from None
    write_matched(frame, chosen_format(output, output_format), output)
    err_console.print(f"{number(frame.height)} matched log(s) of result {result_id}")


@cli.command("rerun")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False, path_type=Path))
@job_option
@db_option
@config_option
def rerun_command(
    manifest: Path | None, job_id: str | None, database: str | None, config: Path | None
) -> int:
    """Run a run's rules again over the same archive snapshot, and say whether the results are
    identical (exit 0) or how they differ (exit 1). MANIFEST: a manifest file, a run file or
    Parquet results of `hindsight run`. A snapshot file changed or gone: exit 2, naming it."""
    if (manifest is None) == (job_id is None):
        raise click.UsageError("name the run: MANIFEST (a file) or --job ID")
    recorded = read_manifest(manifest) if manifest is not None else None
    if recorded is None:
        assert job_id is not None
        recorded = stored_manifest(job_id, database, config)
    again = rerun(recorded)
    files = len(recorded.snapshot.files)
    summary = (
        f"{number(len(again.outcome.results))} result(s) of {number(len(recorded.rules))} "
        f"rule(s) over {number(again.outcome.events_scanned)} events "
        f"({number(files)} snapshot file(s) unchanged)"
    )
    if again.identical:
        out_console.print(f"identical: {summary}", markup=False, highlight=False)
        return EXIT_IDENTICAL
    out_console.print(f"different: {summary}", markup=False, highlight=False)
    for label, ids in (
        ("missing (recorded, not produced again)", again.missing),
        ("new (produced, not recorded)", again.new),
        ("changed (same id, different document)", again.changed),
    ):
        for result_id in ids:
            out_console.print(f"  {label}: {result_id}", markup=False, highlight=False)
    return EXIT_DIFFERENT
