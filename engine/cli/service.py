"""`hindsight serve`, `hindsight keys` and `hindsight convert`: the job service from the shell."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from engine.cli.common import (
    ARCHIVE_HELP,
    ARCHIVE_METAVAR,
    archive_root,
    cli,
    err_console,
    out_console,
)
from engine.core.errors import StoreError
from engine.core.severity import SEVERITIES
from engine.notify.convert import convert_results
from engine.service.settings import load_settings
from engine.store import connect
from engine.store.database import read_only_message
from engine.store.keys import SCOPES, KeyStore

LOOPBACK = ("127.0.0.1", "localhost", "::1")

db_option = click.option(
    "--db",
    "database",
    default=None,
    help="The job service database: a SQLite file path or a SQLAlchemy URL "
    "(default: hindsight.db, or the config file's).",
)
config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A TOML settings file (see docs/api.md).",
)


@cli.command("serve")
@click.option(
    "--archive",
    default=None,
    callback=archive_root,
    metavar=ARCHIVE_METAVAR,
    help=ARCHIVE_HELP,
)
@db_option
@click.option(
    "--rules",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A rule library folder: its rules can be run with fromRule.",
)
@click.option(
    "--tables",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of reference tables (<tableName>.csv or .parquet) the jobs' rules read.",
)
@config_option
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1: loopback only).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (default 8080).")
@click.option("--max-concurrent-jobs", type=click.IntRange(1, 64), default=None)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the jobs on the Dask cluster of this scheduler (tcp://host:8786).",
)
def serve_command(
    archive: str | None,
    database: str | None,
    rules: Path | None,
    tables: Path | None,
    config: Path | None,
    host: str | None,
    port: int | None,
    max_concurrent_jobs: int | None,
    scheduler: str | None,
) -> None:
    """Serve the web app and the Datadog-compatible Historical Jobs API over an archive."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from engine.api.protocol import DatadogH11Protocol  # noqa: PLC0415
    from engine.service.jobs import JobService  # noqa: PLC0415
    from engine.web import create_server_app  # noqa: PLC0415

    settings = load_settings(
        config,
        archive=archive,
        database=database,
        rules=rules,
        tables=tables,
        host=host,
        port=port,
        max_concurrent_jobs=max_concurrent_jobs,
        scheduler=scheduler,
    )
    store = connect(settings.database)
    keys = KeyStore(store)
    if keys.count() == 0:
        reason = store.read_only()
        if reason is not None:  # no key could ever be made: nothing could use the server
            raise StoreError(read_only_message(store.url, reason) + ", nor API keys created")
        pair = keys.create(name="default")
        err_console.print(
            "No API keys yet: created a key pair (shown once; keep it):", markup=False
        )
        err_console.print(f"  DD-API-KEY:         {pair.api_key}", markup=False, highlight=False)
        err_console.print(
            f"  DD-APPLICATION-KEY: {pair.application_key}", markup=False, highlight=False
        )
    if settings.host not in LOOPBACK:
        err_console.print(f"warning: listening on {settings.host}, not only on loopback")
    service = JobService(settings, database=store)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    err_console.print(
        f"Web app: http://{host}:{settings.port}/  (API docs: /docs)", markup=False, highlight=False
    )
    try:
        uvicorn.run(
            create_server_app(service, keys, settings),
            host=settings.host,
            port=settings.port,
            log_level="info",
            http=DatadogH11Protocol,
        )
    finally:
        service.close()


@cli.group("keys")
def keys_group() -> None:
    """Manage the API and application keys of the job service."""


@keys_group.command("create")
@db_option
@config_option
@click.option("--name", default="default", show_default=True, help="A name for the key pair.")
@click.option(
    "--scopes",
    multiple=True,
    help="Scopes of the application key (repeat or comma-separate; default: all of "
    + ", ".join(SCOPES)
    + ").",
)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"api_key": ..., "application_key": ...}.'
)
def keys_create_command(
    database: str | None, config: Path | None, name: str, scopes: tuple[str, ...], as_json: bool
) -> None:
    """Create an API key and an application key (printed once, stored hashed)."""
    chosen = [item.strip() for group in scopes for item in group.split(",") if item.strip()]
    unknown = sorted(set(chosen) - set(SCOPES))
    if unknown:
        raise click.BadParameter(
            f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}",
            param_hint="--scopes",
        )
    target = database or load_settings(config).database
    store = connect(target)
    try:
        pair = KeyStore(store).create(name=name, scopes=chosen or SCOPES)
    finally:
        store.close()
    if as_json:
        click.echo(
            orjson.dumps(
                {"api_key": pair.api_key, "application_key": pair.application_key}
            ).decode()
        )
        return
    out_console.print(f"DD-API-KEY:         {pair.api_key}", markup=False, highlight=False)
    out_console.print(f"DD-APPLICATION-KEY: {pair.application_key}", markup=False, highlight=False)
    out_console.print(f"scopes: {', '.join(pair.scopes)}", markup=False)


@cli.command("convert")
@click.argument("result_ids", nargs=-1, required=True)
@db_option
@config_option
@click.option("--severity", type=click.Choice(SEVERITIES), required=True)
@click.option("--message", required=True, help="The signal message (markdown).")
@click.option(
    "--notify",
    "notifications",
    multiple=True,
    help="A notification target (@webhook-NAME, @user@example.com, ...); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the signal documents as JSON.")
def convert_command(
    result_ids: tuple[str, ...],
    database: str | None,
    config: Path | None,
    severity: str,
    message: str,
    notifications: tuple[str, ...],
    as_json: bool,
) -> None:
    """Convert job results (by id) into signals with a severity, message and notifications."""
    settings = load_settings(config)
    target = database or settings.database
    converted = convert_results(
        target,
        list(result_ids),
        severity=severity,
        message=message,
        notifications=list(notifications),
        settings=settings.notifications,
    )
    if as_json:
        click.echo(
            orjson.dumps(
                [signal.document for signal in converted], option=orjson.OPT_INDENT_2
            ).decode()
        )
        return
    for signal in converted:
        out_console.print(
            f"{signal.result_id} -> signal {signal.id} ({signal.severity})", markup=False
        )
