"""Signals (converted job results) and notification delivery records in the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.store.database import Database
from engine.store.pages import (
    RawPage,
    keyset_page,
    raw_documents,
    searchable_rows,
    time_bounds,
)
from engine.store.search import searchable
from engine.store.tables import deliveries, signals


@dataclass(frozen=True)
class SignalRecord:
    """One signal as stored."""

    id: str
    result_id: str
    job_id: str | None
    timestamp_ms: int
    severity: str
    document: dict[str, Any]
    notifications: list[str]
    created_ms: int


@dataclass(frozen=True)
class DeliveryRecord:
    """One notification attempt (or undelivered target) as stored."""

    target: str
    channel: str
    attempt: int
    outcome: str
    status_code: int | None
    detail: str
    at_ms: int
    signal_id: str | None = None
    job_id: str | None = None


def _signal(row: sa.Row[Any]) -> SignalRecord:
    fields = row._asdict()
    fields.pop("search", None)  # the searchable copy stays in the store
    return SignalRecord(**fields)


class SignalStore:
    """Reads and writes signals and delivery records."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def insert(self, signal: SignalRecord) -> bool:
        """Store a signal; False when one already exists for its result (idempotent convert)."""
        with self.db.begin() as connection:
            exists = connection.execute(
                sa.select(signals.c.id).where(signals.c.result_id == signal.result_id)
            ).first()
            if exists is not None:
                return False
            search = searchable(signal.document, timestamp_ms=signal.timestamp_ms)
            connection.execute(signals.insert().values(**signal.__dict__, search=search))
        return True

    def get(self, signal_id: str) -> SignalRecord | None:
        """A signal by id."""
        with self.db.begin() as connection:
            row = connection.execute(signals.select().where(signals.c.id == signal_id)).first()
        return None if row is None else _signal(row)

    def for_result(self, result_id: str) -> SignalRecord | None:
        """The signal a result was converted to, if any."""
        with self.db.begin() as connection:
            row = connection.execute(
                signals.select().where(signals.c.result_id == result_id)
            ).first()
        return None if row is None else _signal(row)

    def all(self, *, start_ms: int | None = None, end_ms: int | None = None) -> list[SignalRecord]:
        """Signals with `start_ms <= timestamp <= end_ms`."""
        query = signals.select()
        if start_ms is not None:
            query = query.where(signals.c.timestamp_ms >= start_ms)
        if end_ms is not None:
            query = query.where(signals.c.timestamp_ms <= end_ms)
        with self.db.begin() as connection:
            return [_signal(row) for row in connection.execute(query)]

    def searchable(
        self, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """`(timestamp_ms, id, searchable event)` of the signals in a range."""
        return searchable_rows(self.db, signals, time_bounds(signals, start_ms, end_ms))

    def raw_documents(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored JSON text of signals, by id."""
        return raw_documents(self.db, signals, ids)

    def page(
        self,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        descending: bool = True,
        after: tuple[int, str] | None = None,
        limit: int = 10,
    ) -> RawPage:
        """A keyset page of signals as stored JSON text."""
        where = time_bounds(signals, start_ms, end_ms)
        return keyset_page(self.db, signals, where, descending=descending, after=after, limit=limit)

    def record_deliveries(self, records: Sequence[DeliveryRecord]) -> None:
        """Store notification attempts."""
        if records:
            with self.db.begin() as connection:
                connection.execute(deliveries.insert(), [record.__dict__ for record in records])

    def delete_pending(
        self, target: str, *, signal_id: str | None = None, job_id: str | None = None
    ) -> None:
        """Remove the `pending` record of a target of a signal's (or job's) notification."""
        query = deliveries.delete().where(
            deliveries.c.outcome == "pending",
            deliveries.c.target == target,
            deliveries.c.signal_id.is_(None)
            if signal_id is None
            else deliveries.c.signal_id == signal_id,
            deliveries.c.job_id.is_(None) if job_id is None else deliveries.c.job_id == job_id,
        )
        with self.db.begin() as connection:
            connection.execute(query)

    def deliveries(
        self, *, signal_id: str | None = None, job_id: str | None = None
    ) -> list[DeliveryRecord]:
        """Delivery records of a signal or of a job, oldest first."""
        query = deliveries.select().order_by(deliveries.c.id)
        if signal_id is not None:
            query = query.where(deliveries.c.signal_id == signal_id)
        if job_id is not None:
            query = query.where(deliveries.c.job_id == job_id)
        with self.db.begin() as connection:
            rows = connection.execute(query)
            return [
                DeliveryRecord(**{k: v for k, v in row._asdict().items() if k != "id"})
                for row in rows
            ]
