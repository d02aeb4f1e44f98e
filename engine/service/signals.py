"""The job service's signals: job results converted to signals, whose notices are delivered in
the background (`JobService` is a `SignalService`)."""

from __future__ import annotations

from engine.notify.convert import convert
from engine.notify.delivery import DeliveryQueue
from engine.store.jobs import JobStore
from engine.store.signals import SignalRecord, SignalStore


class SignalService:
    """Conversion of job results to signals (a part of `JobService`)."""

    jobs: JobStore
    signals: SignalStore
    deliveries: DeliveryQueue

    def convert(
        self,
        result_ids: list[str],
        *,
        severity: str,
        message: str,
        notifications: list[str],
    ) -> list[SignalRecord]:
        """Convert job results to signals (SPEC §4.5); idempotent."""
        return convert(
            self.jobs,
            self.signals,
            self.deliveries.submit,
            result_ids,
            severity=severity,
            message=message,
            notifications=notifications,
        )
