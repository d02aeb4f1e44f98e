"""Connecting to the store: a SQLite file (WAL mode) or any SQLAlchemy URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event

from engine.archive.event import json_text
from engine.errors import HindsightError
from engine.store.tables import metadata


class StoreError(HindsightError):
    """The database cannot be opened or used (names the database)."""


class Database:
    """A connection pool to the store, with the tables created."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection inside a transaction (committed on success, rolled back on error)."""
        with self.engine.begin() as connection:
            yield connection

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


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
        raise StoreError(f"cannot open the database {text}: {exc}") from None
    return Database(engine)
