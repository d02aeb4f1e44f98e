"""Converting job results to signals (SPEC §4.5): the mission's signal promotion.

The user picks results and gives the signal its severity, message and notification targets. A
signal is the result's document with those applied, a new id and an open triage state; the result
is marked converted. Converting a result again returns the same signal (idempotent) and notifies
nobody twice. Every id is checked before anything is converted. The notification is handed to a
sender once the signal is stored: the job service queues it (`DeliveryQueue`), the CLI and the
Python API send it at once (`deliver_now`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

from engine.core.errors import InvalidRequestError, NotFoundError
from engine.core.severity import SEVERITIES
from engine.notify.delivery import Notice, Send, deliver_now
from engine.notify.notifier import NotificationSettings, Notifier
from engine.rules.template import wrap_message
from engine.store import Database, connect
from engine.store.jobs import JobStore, ResultRecord
from engine.store.signals import SignalRecord, SignalStore


def signal_id_for(result_id: str) -> str:
    """The id of the signal a result converts to (stable, so conversion is idempotent)."""
    return "sig-" + hashlib.blake2b(result_id.encode(), digest_size=12).hexdigest()


def signal_document(
    result: ResultRecord,
    *,
    severity: str,
    message: str,
    notifications: Sequence[str],
    created_ms: int,
) -> dict[str, Any]:
    """The signal built from a job result: its histsignal with the chosen severity and message."""
    document = deepcopy(result.document)
    document["id"] = signal_id_for(result.id)
    outer = document["attributes"]
    outer["status"] = severity
    outer["message"] = wrap_message(message)
    inner = outer["attributes"]
    inner["status"] = severity
    inner["histsignal_id"] = result.id
    inner["triggeringRuleCase"] = {
        **inner.get("triggeringRuleCase", {}),
        "notifications": list(notifications),
    }
    inner["workflow"]["triage"] = {"state": "open", "assignee": {}, "incidentIds": []}
    inner["workflow"]["converted_at"] = created_ms
    return document


def convert(
    jobs: JobStore,
    signals: SignalStore,
    send: Send,
    result_ids: Sequence[str],
    *,
    severity: str,
    message: str,
    notifications: Sequence[str],
) -> list[SignalRecord]:
    """Convert job results to signals and `send` each new signal's notice; returns the signals."""
    if severity not in SEVERITIES:
        raise InvalidRequestError(f"signalSeverity must be one of {', '.join(SEVERITIES)}")
    if not result_ids or any(not rid for rid in result_ids):
        raise InvalidRequestError("empty jobResultId provided")
    found: list[ResultRecord] = []
    for result_id in dict.fromkeys(result_ids):
        result = jobs.result(result_id)
        if result is None:
            raise NotFoundError(f"job result {result_id} was not found")
        found.append(result)
    converted: list[SignalRecord] = []
    for result in found:
        existing = signals.for_result(result.id)
        if existing is not None:
            converted.append(existing)
            continue
        now = int(time.time() * 1000)
        signal = SignalRecord(
            id=signal_id_for(result.id),
            result_id=result.id,
            job_id=result.job_id,
            timestamp_ms=result.timestamp_ms,
            severity=severity,
            document=signal_document(
                result,
                severity=severity,
                message=message,
                notifications=notifications,
                created_ms=now,
            ),
            notifications=list(notifications),
            created_ms=now,
        )
        if not signals.insert(signal):  # converted concurrently: keep the first
            existing = signals.for_result(result.id)
            assert existing is not None
            converted.append(existing)
            continue
        jobs.mark_converted(result.id, signal.id)
        converted.append(signal)
        title = signal.document["attributes"]["attributes"].get("title", "")
        if notifications:
            send(
                Notice(
                    targets=list(notifications),
                    payload={"event": "signal", "signal": signal.document},
                    subject=f"[Hindsight] [{severity}] {title}",
                    text=message,
                    signal_id=signal.id,
                )
            )
    return converted


def convert_results(
    database: str | Path | Database,
    result_ids: Sequence[str],
    *,
    severity: str,
    message: str,
    notifications: Sequence[str] = (),
    settings: NotificationSettings | None = None,
) -> list[SignalRecord]:
    """Convert job results stored in a job-service database to signals (`engine.convert`).

    `database` is the job service's database (a SQLite path or a SQLAlchemy URL); `settings`
    configures webhook and email delivery (without it, every target is recorded undelivered).
    """
    store = database if isinstance(database, Database) else connect(database)
    try:
        signals = SignalStore(store)
        return convert(
            JobStore(store),
            signals,
            deliver_now(Notifier(settings or NotificationSettings()), signals),
            result_ids,
            severity=severity,
            message=message,
            notifications=notifications,
        )
    finally:
        if store is not database:
            store.close()
