"""Sending notifications and keeping their delivery records: at once, or in the background.

A `Notice` is one notification: its targets, the payload, and the signal or job it is about.
`deliver_now(notifier, signals)` sends a notice and stores every record before it returns (the
CLI and the Python API convert this way). The job service uses a `DeliveryQueue`, so that
converting results answers at once (204, as Datadog does) while slow webhooks are retried:

- `submit` stores a `pending` record per target at once and queues the notice; one worker thread
  sends queued notices in order, stores each attempt as soon as it ends, and removes a target's
  `pending` record when the target is done. The records show the progress of a slow webhook.
- `close` stops the worker: waits between retries end early, no new attempt starts, and every
  target not done gets an `undelivered` record saying the server stopped. A process killed
  outright leaves `pending` records behind. No notification is ever lost silently.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.core.errors import StoreUnavailableError
from engine.notify.notifier import Delivery, NotificationSettings, Notifier, distinct_targets
from engine.store.signals import DeliveryRecord, SignalStore

log = logging.getLogger("hindsight.notifications")

#: The outcome of a target's record while it waits for (or is in) delivery.
PENDING = "pending"
QUEUED = "queued for delivery"


@dataclass(frozen=True)
class Notice:
    """One notification: targets, the JSON payload, the email subject and text, its subject."""

    targets: Sequence[str]
    payload: Mapping[str, Any]
    subject: str
    text: str
    signal_id: str | None = None
    job_id: str | None = None

    def record(self, delivery: Delivery) -> DeliveryRecord:
        """A notifier record as the store keeps it, tied to this notice's signal or job."""
        return DeliveryRecord(
            target=delivery.target,
            channel=delivery.channel,
            attempt=delivery.attempt,
            outcome=delivery.outcome,
            status_code=delivery.status_code,
            detail=delivery.detail,
            at_ms=int(delivery.at.timestamp() * 1000),
            signal_id=self.signal_id,
            job_id=self.job_id,
        )


Send = Callable[[Notice], None]


def deliver_now(notifier: Notifier, signals: SignalStore) -> Send:
    """A sender that delivers a notice and stores its records before returning."""

    def send(notice: Notice) -> None:
        deliveries = notifier.notify(
            notice.targets, notice.payload, subject=notice.subject, text=notice.text
        )
        signals.record_deliveries([notice.record(delivery) for delivery in deliveries])

    return send


class DeliveryQueue:
    """Delivers notices in a background thread, storing progress as it goes (see above)."""

    def __init__(self, settings: NotificationSettings, signals: SignalStore) -> None:
        self.signals = signals
        self._stop = threading.Event()
        self.notifier = Notifier(settings, sleep=self._stop.wait, stopped=self._stop.is_set)
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="deliveries", daemon=True)
        self._worker.start()

    def submit(self, notice: Notice) -> None:
        """Store a `pending` record per target, then queue the notice for the worker."""
        now = int(time.time() * 1000)
        pending = [
            DeliveryRecord(
                target=target.text,
                channel=target.channel,
                attempt=0,
                outcome=PENDING,
                status_code=None,
                detail=QUEUED,
                at_ms=now,
                signal_id=notice.signal_id,
                job_id=notice.job_id,
            )
            for target in distinct_targets(notice.targets)
        ]
        self._store(pending)
        self._queue.put(notice)

    def join(self) -> None:
        """Wait until every queued notice has been sent (or given up on)."""
        self._queue.join()

    def close(self) -> None:
        """Stop: end the waits, record what is not done as undelivered, stop the worker."""
        self._stop.set()
        self._queue.put(None)
        self._worker.join()

    def _work(self) -> None:
        while (notice := self._queue.get()) is not None:
            try:
                self._send(notice)
            except Exception:  # a bug must not stop the deliveries that follow
                log.exception("notification of %s failed", notice.signal_id or notice.job_id)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _send(self, notice: Notice) -> None:
        for target in distinct_targets(notice.targets):
            self.notifier.notify(
                [target.text],
                notice.payload,
                subject=notice.subject,
                text=notice.text,
                on_delivery=lambda delivery: self._store([notice.record(delivery)]),
            )
            try:
                self.signals.delete_pending(
                    target.text, signal_id=notice.signal_id, job_id=notice.job_id
                )
            except StoreUnavailableError as exc:
                log.warning("the pending record of %s stays: %s", target.text, exc.cause)

    def _store(self, records: list[DeliveryRecord]) -> None:
        try:
            self.signals.record_deliveries(records)
        except StoreUnavailableError as exc:
            for record in records:
                log.warning(
                    "delivery record not stored (%s): %s attempt %d %s %s",
                    exc.cause,
                    record.target,
                    record.attempt,
                    record.outcome,
                    record.detail,
                )
