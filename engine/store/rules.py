"""Detection rules created through the rules API (`/api/v2/security_monitoring/rules`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from engine.store.database import Database
from engine.store.tables import rules


@dataclass(frozen=True)
class StoredRule:
    """A rule document as the rules API returns it."""

    id: str
    document: dict[str, Any]
    created_ms: int
    updated_ms: int


class RuleStore:
    """Reads and writes API-created rules."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def put(self, rule_id: str, document: dict[str, Any]) -> StoredRule:
        """Create or replace a rule."""
        now = int(time.time() * 1000)
        with self.db.begin() as connection:
            existing = connection.execute(rules.select().where(rules.c.id == rule_id)).first()
            if existing is None:
                connection.execute(
                    rules.insert().values(
                        id=rule_id, document=document, created_ms=now, updated_ms=now
                    )
                )
                return StoredRule(rule_id, document, now, now)
            connection.execute(
                rules.update()
                .where(rules.c.id == rule_id)
                .values(document=document, updated_ms=now)
            )
            return StoredRule(rule_id, document, existing.created_ms, now)

    def get(self, rule_id: str) -> StoredRule | None:
        """A rule by id."""
        with self.db.begin() as connection:
            row = connection.execute(rules.select().where(rules.c.id == rule_id)).first()
        return None if row is None else StoredRule(**row._asdict())

    def all(self) -> list[StoredRule]:
        """Every API-created rule, oldest first."""
        with self.db.begin() as connection:
            rows = connection.execute(rules.select().order_by(rules.c.created_ms, rules.c.id))
            return [StoredRule(**row._asdict()) for row in rows]

    def delete(self, rule_id: str) -> bool:
        """Delete a rule; False when unknown."""
        with self.db.begin() as connection:
            return connection.execute(rules.delete().where(rules.c.id == rule_id)).rowcount > 0
