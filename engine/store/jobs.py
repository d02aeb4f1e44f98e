"""Jobs and their results in the store.

Status changes are single conditional UPDATEs (`pending -> running` only if still pending,
`-> cancelled` only if pending or running), so the runner, cancel and delete never race.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.core.times import parse_timestamp
from engine.results import export
from engine.store.database import Database
from engine.store.pages import (
    RawPage,
    keyset_page,
    raw_documents,
    searchable_rows,
    time_bounds,
)
from engine.store.search import searchable
from engine.store.tables import jobs, results

PENDING, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "pending",
    "running",
    "completed",
    "failed",
    "cancelled",
)
ACTIVE = (PENDING, RUNNING)
FINISHED = (COMPLETED, FAILED, CANCELLED)


def now_us() -> int:
    """The current time in epoch microseconds."""
    return time.time_ns() // 1000


@dataclass
class JobRecord:
    """One historical job as stored."""

    id: str
    name: str
    status: str
    definition: dict[str, Any]
    index_name: str
    from_ms: int
    to_ms: int
    created_from_rule_id: str | None = None
    notifications: list[str] = field(default_factory=list)
    signal_output: bool = False
    created_by_handle: str = ""
    created_by_name: str = ""
    created_us: int = 0
    modified_us: int = 0
    progress_rate: float | None = None
    failure: str | None = None
    truncated: bool = False
    statistics: dict[str, Any] | None = None


@dataclass(frozen=True)
class ResultRecord:
    """One job result (histsignal) as stored."""

    id: str
    job_id: str
    timestamp_ms: int
    severity: str
    rule_name: str
    document: dict[str, Any]
    signal_id: str | None


def _job(row: sa.Row[Any]) -> JobRecord:
    return JobRecord(**row._asdict())


def _result_row(job_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """The row of a job result (its document marked not converted)."""
    document["attributes"]["attributes"].setdefault("converted", False)
    timestamp_ms = parse_timestamp(document["attributes"]["timestamp"])
    return {
        "id": document["id"],
        "job_id": job_id,
        "timestamp_ms": timestamp_ms,
        "severity": document["attributes"]["status"],
        "rule_name": document["attributes"]["attributes"]["workflow"]["rule"]["name"],
        "document": document,
        "search": searchable(document, timestamp_ms=timestamp_ms),
        "signal_id": None,
    }


def _result(row: sa.Row[Any]) -> ResultRecord:
    fields = row._asdict()
    fields.pop("search", None)  # the searchable copy stays in the store
    return ResultRecord(**fields)


class JobStore:
    """Reads and writes jobs and job results."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def insert(self, job: JobRecord) -> None:
        """Store a new job (its times are set here)."""
        job.created_us = job.modified_us = now_us()
        with self.db.begin() as connection:
            connection.execute(jobs.insert().values(**job.__dict__))

    def get(self, job_id: str) -> JobRecord | None:
        """A job by id."""
        with self.db.begin() as connection:
            row = connection.execute(jobs.select().where(jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def all(self, statuses: Sequence[str] | None = None) -> list[JobRecord]:
        """Every job (optionally with one of `statuses`), newest first."""
        query = jobs.select().order_by(jobs.c.created_us.desc(), jobs.c.id)
        if statuses is not None:
            query = query.where(jobs.c.status.in_(statuses))
        with self.db.begin() as connection:
            return [_job(row) for row in connection.execute(query)]

    def _transition(self, job_id: str, allowed: Iterable[str], **values: Any) -> bool:
        update = (
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status.in_(list(allowed)))
            .values(modified_us=now_us(), **values)
        )
        with self.db.begin() as connection:
            return connection.execute(update).rowcount > 0

    def start(self, job_id: str) -> bool:
        """`pending -> running`; False when the job is no longer pending (e.g. cancelled)."""
        return self._transition(job_id, [PENDING], status=RUNNING, progress_rate=0.0)

    def progress(self, job_id: str, rate: float) -> None:
        """Record how far a running job's scan is (0..1)."""
        update = (
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == RUNNING)
            .values(progress_rate=max(0.0, min(1.0, rate)))
        )
        with self.db.begin() as connection:
            connection.execute(update)

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        failure: str | None = None,
        truncated: bool = False,
        statistics: dict[str, Any] | None = None,
    ) -> bool:
        """`running -> completed | failed`; False if it was cancelled meanwhile."""
        return self._transition(
            job_id,
            [RUNNING],
            status=status,
            failure=failure,
            truncated=truncated,
            statistics=statistics,
            progress_rate=1.0 if status == COMPLETED else None,
        )

    def cancel(self, job_id: str) -> bool:
        """`pending | running -> cancelled`; False when the job had already finished."""
        return self._transition(job_id, ACTIVE, status=CANCELLED)

    def delete(self, job_id: str) -> bool:
        """Delete a finished job and its results; False when it is pending or running."""
        with self.db.begin() as connection:
            deleted = connection.execute(
                jobs.delete().where(jobs.c.id == job_id, jobs.c.status.in_(FINISHED))
            ).rowcount
            if deleted:
                connection.execute(results.delete().where(results.c.job_id == job_id))
        return deleted > 0

    def fail_interrupted(self, reason: str) -> list[str]:
        """Mark jobs left `running` (by a crash or restart) failed; their ids."""
        with self.db.begin() as connection:
            ids = [
                row.id
                for row in connection.execute(sa.select(jobs.c.id).where(jobs.c.status == RUNNING))
            ]
            if ids:
                connection.execute(
                    jobs.update()
                    .where(jobs.c.id.in_(ids))
                    .values(status=FAILED, failure=reason, progress_rate=None, modified_us=now_us())
                )
        return ids

    def add_results(self, job_id: str, documents: Iterable[dict[str, Any]]) -> None:
        """Store job results (histsignal documents, SPEC §4.3 list form), read `RESULT_BATCH`
        at a time and inserted batch by batch in one transaction: a reader sees all or none."""
        with self.db.begin() as connection:
            for chunk in export.batched(documents, export.RESULT_BATCH):
                connection.execute(results.insert(), [_result_row(job_id, item) for item in chunk])

    def results(
        self,
        job_id: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[ResultRecord]:
        """Results of one job (or of every job) with `start_ms <= timestamp <= end_ms`."""
        query = results.select()
        if job_id is not None:
            query = query.where(results.c.job_id == job_id)
        if start_ms is not None:
            query = query.where(results.c.timestamp_ms >= start_ms)
        if end_ms is not None:
            query = query.where(results.c.timestamp_ms <= end_ms)
        with self.db.begin() as connection:
            return [_result(row) for row in connection.execute(query)]

    def result(self, result_id: str) -> ResultRecord | None:
        """One result by id."""
        with self.db.begin() as connection:
            row = connection.execute(results.select().where(results.c.id == result_id)).first()
        return None if row is None else _result(row)

    def mark_converted(self, result_id: str, signal_id: str) -> None:
        """Record that a result was converted to a signal (its document says so too)."""
        with self.db.begin() as connection:
            row = connection.execute(
                sa.select(results.c.document, results.c.timestamp_ms).where(
                    results.c.id == result_id
                )
            ).first()
            if row is None:
                return
            document = row.document
            document["attributes"]["attributes"].update(converted=True, signal_id=signal_id)
            search = searchable(document, timestamp_ms=row.timestamp_ms)
            connection.execute(
                results.update()
                .where(results.c.id == result_id)
                .values(signal_id=signal_id, document=document, search=search)
            )

    def severity_counts(self, job_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """How many results of each severity each of these jobs has (jobs without any: absent)."""
        if not job_ids:
            return {}
        query = (
            sa.select(results.c.job_id, results.c.severity, sa.func.count())
            .where(results.c.job_id.in_(list(job_ids)))
            .group_by(results.c.job_id, results.c.severity)
        )
        counts: dict[str, dict[str, int]] = {}
        with self.db.begin() as connection:
            for job_id, severity, count in connection.execute(query):
                counts.setdefault(str(job_id), {})[str(severity)] = int(count)
        return counts

    def searchable(
        self, job_id: str | None = None, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """`(timestamp_ms, id, searchable event)` of results (of one job, or all) in a range."""
        where = time_bounds(results, start_ms, end_ms)
        if job_id is not None:
            where.append(results.c.job_id == job_id)
        return searchable_rows(self.db, results, where)

    def raw_documents(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored JSON text of results, by id."""
        return raw_documents(self.db, results, ids)

    def page(
        self,
        job_id: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        descending: bool = True,
        after: tuple[int, str] | None = None,
        limit: int = 10,
    ) -> RawPage:
        """A keyset page of results (of one job, or all) as stored JSON text."""
        where = time_bounds(results, start_ms, end_ms)
        if job_id is not None:
            where.append(results.c.job_id == job_id)
        return keyset_page(self.db, results, where, descending=descending, after=after, limit=limit)
