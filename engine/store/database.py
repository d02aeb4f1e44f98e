"""Connecting to the store: a SQLite file (WAL mode) or any SQLAlchemy URL.

A database that cannot do its work right now (a full disk, a read-only file, a lost connection)
raises `StoreUnavailableError` from every read and write: the API answers 503, the job runner
retries (`retried`). `Database.read_only()` says at start-up whether writes can succeed at all.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event

from engine.core.errors import StoreError, StoreUnavailableError
from engine.core.json import json_text
from engine.store.tables import jobs, metadata

#: DB-API errors that mean "the database cannot do it now", not "this request is wrong".
_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InternalError)
#: The first wait before a refused store call is tried again; waits double up to the maximum.
RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0

log = logging.getLogger("hindsight.store")
T = TypeVar("T")


class StoppedError(Exception):
    """The caller was stopped while it waited for the store (see `retried`)."""


def retried(call: Callable[[], T], *, stop: threading.Event, action: str) -> T:
    """`call()`, tried again while the store is unavailable, until it succeeds or `stop` is set.

    Each refusal logs `action`, the database and the cause; the waits double from
    `RETRY_SECONDS` up to `MAX_RETRY_SECONDS`. Raises `StoppedError` once `stop` is set.
    """
    delay = RETRY_SECONDS
    while True:
        try:
            return call()
        except StoreUnavailableError as exc:
            log.warning(
                "%s: the database at %s refused it (%s); retrying in %g s",
                action,
                exc.url,
                exc.cause,
                delay,
            )
        if stop.wait(delay):
            raise StoppedError
        delay = min(delay * 2, MAX_RETRY_SECONDS)


class Database:
    """A connection pool to the store, with the tables created."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        url = engine.url
        #: Where the database is, for messages: a SQLite file's path, else the URL (no password).
        self.url = (
            url.database
            if url.get_backend_name() == "sqlite" and url.database
            else url.render_as_string(hide_password=True)
        )

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection inside a transaction (committed on success, rolled back on error).

        Raises `StoreUnavailableError` when the database cannot do the work right now.
        """
        try:
            with self.engine.begin() as connection:
                yield connection
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(self.url, _cause(exc)) from exc

    def read_only(self) -> str | None:
        """Why writes fail (e.g. "attempt to write a readonly database"), or None if they work.

        Probes with an UPDATE that changes no row, inside a transaction that is rolled back.
        """
        try:
            with self.engine.connect() as connection, connection.begin() as transaction:
                connection.execute(jobs.update().where(sa.false()).values(status=jobs.c.status))
                transaction.rollback()
        except sa.exc.DBAPIError as exc:
            return _cause(exc)
        return None

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def _cause(exc: sa.exc.DBAPIError) -> str:
    """The database's own words for an error (the first line of the driver's message)."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc.orig).__name__


def _load_json(text: str | bytes) -> Any:
    """orjson where it can (documents are large), the standard library beyond its range."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def connect(target: str | Path) -> Database:
    """Open (and create) the store: a file path means SQLite, `scheme://...` any SQLAlchemy URL."""
    text = str(target)
    if "://" in text:
        url = text
    else:
        path = Path(text).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    try:
        codec: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": _load_json}
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"check_same_thread": False}, **codec)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True, **codec)
        metadata.create_all(engine)
    except (sa.exc.SQLAlchemyError, ImportError, OSError) as exc:
        if "://" not in text and _unwritable(Path(text).expanduser()):
            raise StoreError(read_only_message(text, str(exc).splitlines()[0])) from None
        raise StoreError(f"cannot open the database {text}: {exc}") from None
    return Database(engine)


def read_only_message(where: str, cause: str) -> str:
    """How a read-only database is reported (at start-up, and when a file cannot be opened)."""
    return f"the database at {where} is read-only; jobs cannot be stored ({cause})"


def _unwritable(path: Path) -> bool:
    """Whether a SQLite file (or its folder, which holds the WAL files) cannot be written."""
    return (path.exists() and not os.access(path, os.W_OK)) or not os.access(path.parent, os.W_OK)
