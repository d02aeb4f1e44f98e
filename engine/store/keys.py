"""API and application keys: generated once, stored as SHA-256 digests, with Datadog scopes."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from engine.store.database import Database
from engine.store.tables import api_keys

#: The Datadog permission scopes the job service checks (SPEC §5.1).
SCOPES: tuple[str, ...] = (
    "security_monitoring_rules_read",
    "security_monitoring_rules_write",
    "security_monitoring_signals_read",
    "security_monitoring_signals_write",
)


@dataclass(frozen=True)
class KeyPair:
    """A new API key and application key, shown once."""

    api_key: str
    application_key: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ApplicationKey:
    """What a known application key stands for: its name (the caller) and its scopes."""

    name: str
    scopes: tuple[str, ...]


def digest(key: str) -> str:
    """The stored form of a key (keys are random, so a plain SHA-256 is enough)."""
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """Creates and checks keys."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def create(self, *, name: str = "default", scopes: Sequence[str] = SCOPES) -> KeyPair:
        """A new key pair; the application key carries `scopes` (each one of `SCOPES`)."""
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
        pair = KeyPair(secrets.token_hex(16), secrets.token_hex(20), tuple(scopes))
        now = int(time.time() * 1000)
        rows = [
            {
                "id": secrets.token_hex(8),
                "kind": "api",
                "digest": digest(pair.api_key),
                "name": name,
                "scopes": [],
                "created_ms": now,
            },
            {
                "id": secrets.token_hex(8),
                "kind": "application",
                "digest": digest(pair.application_key),
                "name": name,
                "scopes": list(scopes),
                "created_ms": now,
            },
        ]
        with self.db.begin() as connection:
            connection.execute(api_keys.insert(), rows)
        return pair

    def count(self) -> int:
        """How many keys exist (the server creates a first pair when there are none)."""
        with self.db.begin() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one()
            )

    def api_key_valid(self, key: str) -> bool:
        """Whether `key` is a known API key."""
        return self._scopes("api", key) is not None

    def application_scopes(self, key: str) -> tuple[str, ...] | None:
        """The scopes of an application key, or None when the key is unknown."""
        return self._scopes("application", key)

    def application_key(self, key: str) -> ApplicationKey | None:
        """The name and scopes of an application key, or None when the key is unknown."""
        query = sa.select(api_keys.c.name, api_keys.c.scopes).where(
            api_keys.c.kind == "application", api_keys.c.digest == digest(key)
        )
        with self.db.begin() as connection:
            row = connection.execute(query).first()
        return None if row is None else ApplicationKey(row.name, tuple(row.scopes))

    def _scopes(self, kind: str, key: str) -> tuple[str, ...] | None:
        query = sa.select(api_keys.c.scopes).where(
            api_keys.c.kind == kind, api_keys.c.digest == digest(key)
        )
        with self.db.begin() as connection:
            row = connection.execute(query).first()
        return None if row is None else tuple(row.scopes)
