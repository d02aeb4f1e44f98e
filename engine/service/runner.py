"""The background runner: jobs execute in worker threads, a bounded number at once.

Each running job has a stop event; `cancel` sets it and the job's scan notices between time
slices, so a cancel takes effect promptly. A job that raises does not take the runner down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger("hindsight.runner")

Execute = Callable[[str, threading.Event], None]


class Runner:
    """Runs `execute(job_id, stop_event)` for submitted jobs, at most `workers` at once."""

    def __init__(self, execute: Execute, *, workers: int = 2) -> None:
        self._execute = execute
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="job")
        self._stops: dict[str, threading.Event] = {}
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def submit(self, job_id: str) -> None:
        """Queue a job; it starts when a worker is free."""
        with self._lock:
            stop = self._stops.setdefault(job_id, threading.Event())
            self._futures[job_id] = self._pool.submit(self._run, job_id, stop)

    def _run(self, job_id: str, stop: threading.Event) -> None:
        try:
            self._execute(job_id, stop)
        except Exception:  # a job must never take a worker down
            log.exception("job %s raised", job_id)
        finally:
            with self._lock:
                self._stops.pop(job_id, None)
                self._futures.pop(job_id, None)

    def cancel(self, job_id: str) -> None:
        """Ask a queued or running job to stop."""
        with self._lock:
            stop = self._stops.get(job_id)
        if stop is not None:
            stop.set()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a job's execution ends (returns at once when it is not queued)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.exception(timeout=timeout)

    def shutdown(self) -> None:
        """Stop every job and wait for the workers to finish."""
        with self._lock:
            for stop in self._stops.values():
                stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
