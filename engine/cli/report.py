"""`hindsight report RUN.json | --job ID -o report.html`: one self-contained HTML run report."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.common import cli, err_console
from engine.cli.replay import job_option, stored_manifest
from engine.cli.service import config_option, db_option


@cli.command("report")
@click.argument("run_path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@job_option
@db_option
@config_option
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write.",
)
@click.option(
    "--labels",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Labelled attack windows (as `hindsight score --labels`): adds the score table.",
)
def report_command(
    run_path: Path | None,
    job_id: str | None,
    database: str | None,
    config: Path | None,
    output: Path,
    labels: Path | None,
) -> None:
    """Write one self-contained HTML report (no network needed to open it) of a run: RUN_PATH, a
    run file of `hindsight run --output run.json`, or a job (--job ID)."""
    from engine.web.report import manifest_input, render_report, run_file_input  # noqa: PLC0415

    if (run_path is None) == (job_id is None):
        raise click.UsageError("name the run: RUN.json (a run file) or --job ID")
    if run_path is not None:
        data = run_file_input(run_path, labels=labels)
    else:
        assert job_id is not None
        manifest = stored_manifest(job_id, database, config)
        data = manifest_input(manifest, f"Hindsight job {job_id}", labels=labels)
    output.write_text(render_report(data))
    err_console.print(
        f"wrote {output} ({len(data.run.documents)} result(s))", markup=False, highlight=False
    )
