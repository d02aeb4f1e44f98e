"""The job service: historical jobs submitted, run in the background, cancelled, deleted, kept.

It owns the store, the background runner, the rule library (`rules.py`) and the notifier
(`signals.py`). The HTTP API, the web app and the CLI call it; it knows nothing of HTTP. Refusals
are `ServiceError`s, which the API maps to statuses and Datadog's error bodies.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from engine.archive.reader import Archive, open_archive
from engine.core.errors import (
    ArchiveError,
    ConflictError,
    HindsightError,
    InvalidDefinitionError,
    InvalidRequestError,
    NotFoundError,
    ReferenceTableError,
    RuleValidationError,
    StoreUnavailableError,
    UnavailableError,
    UnknownIndexError,
)
from engine.detect.base import runnable_methods, runnable_types
from engine.detect.tables import ReferenceTables
from engine.notify.delivery import DeliveryQueue, Notice
from engine.results.manifest import RunManifest
from engine.results.result import JobResult
from engine.results.stored import from_histsignal
from engine.rules import JobDefinition
from engine.rules.models import Rule
from engine.rules.validation import validate_from_rule, validate_job_definition
from engine.run import run
from engine.service.rules import Caller, RuleService, library_of
from engine.service.runner import Runner
from engine.service.settings import ServiceSettings
from engine.service.signals import SignalService
from engine.store import Database, connect
from engine.store.database import StoppedError, read_only_message, retried
from engine.store.jobs import COMPLETED, FAILED, JobRecord, JobStore, ResultRecord
from engine.store.rules import RuleStore
from engine.store.signals import SignalStore

T = TypeVar("T")

log = logging.getLogger("hindsight.service")

INTERRUPTED = "the server stopped while the job was running"


def job_manifest(record: JobRecord) -> RunManifest:
    """The run manifest a finished job recorded (`NotFoundError` when it has none)."""
    data = (record.statistics or {}).get("manifest")
    if data is None:
        raise NotFoundError(
            f"job {record.id} has no run manifest (it is {record.status}, or it ran before "
            "manifests were recorded)"
        )
    return RunManifest.from_json(data)


class JobService(RuleService, SignalService):
    """Historical jobs over one archive, persisted in one database (with its rules and signals)."""

    def __init__(
        self, settings: ServiceSettings, *, database: Database | None = None, start: bool = True
    ) -> None:
        self.settings = settings
        if settings.archive is None:
            raise InvalidRequestError("an archive is required: give --archive or `archive = ...`")
        self.archive: Archive = open_archive(settings.archive)
        self.db = database or connect(settings.database)
        self.jobs = JobStore(self.db)
        self.signals = SignalStore(self.db)
        self.rules = RuleStore(self.db)
        self.deliveries = DeliveryQueue(settings.notifications, self.signals)
        self.library = library_of(settings)
        self.runner = Runner(self.execute, workers=settings.max_concurrent_jobs)
        #: Why the database refuses writes (None when it accepts them), checked at start-up.
        self.read_only = self.db.read_only()
        if self.read_only is not None:
            log.warning(read_only_message(self.db.url, self.read_only))
        if start:
            self.resume()

    def resume(self) -> None:
        """After a start: fail the jobs a stop interrupted, queue the jobs still pending.

        With a read-only database nothing can run: the jobs wait for a start that can write.
        """
        if self.read_only is not None:
            return
        for job_id in self.jobs.fail_interrupted(INTERRUPTED):
            log.warning("job %s was interrupted by a server stop", job_id)
        for record in reversed(self.jobs.all(["pending"])):
            self.runner.submit(record.id)

    def close(self) -> None:
        """Stop the running jobs and the deliveries (recording what is left), release the store."""
        self.runner.shutdown()
        self.deliveries.close()
        try:
            self.jobs.fail_interrupted(INTERRUPTED)
        except StoreUnavailableError as exc:
            log.warning(
                "could not mark the interrupted jobs failed in %s (%s): the next start does",
                exc.url,
                exc.cause,
            )
        self.db.close()

    # --- indexes --------------------------------------------------------------------

    def archive_index(self, index: str) -> str:
        """The archive index a job's index name reads (raises `UnknownIndexError`, or
        `UnavailableError` when the archive cannot be listed, e.g. its object store is down)."""
        name = self.settings.indexes.get(index, index)
        try:
            present = self.archive.indexes()
        except ArchiveError as exc:
            raise UnavailableError(f"the archive cannot be read now: {exc}") from None
        if name not in present:
            raise UnknownIndexError(
                "input_validation_error(Field 'index' is invalid: Invalid index): Index must exist"
            )
        return name

    # --- jobs ---------------------------------------------------------------------------------

    def submit(self, attributes: Any, *, caller: Caller | None = None) -> JobRecord:
        """Create a job from `data.attributes` of a run request and queue it."""
        if not isinstance(attributes, Mapping):
            raise InvalidRequestError("data.attributes must be an object")
        definition_data = attributes.get("jobDefinition")
        from_rule_data = attributes.get("fromRule")
        if (definition_data is None) == (from_rule_data is None):
            raise InvalidRequestError("exactly one of jobDefinition and fromRule is required")
        signal_output = attributes.get("signalOutput", False)
        if not isinstance(signal_output, bool):
            raise InvalidRequestError("signalOutput must be a boolean")
        rule_id: str | None = None
        notifications: list[str] = []
        try:
            if definition_data is not None:
                definition = validate_job_definition(definition_data)
            else:
                from_rule = validate_from_rule(from_rule_data)
                rule = self.find_rule(from_rule.id)
                if rule is None:
                    raise NotFoundError(f"rule {from_rule.id} was not found")
                definition = from_rule.to_job_definition(rule)
                rule_id, notifications = from_rule.id, list(from_rule.notifications or [])
        except RuleValidationError as exc:
            raise InvalidDefinitionError.of(exc) from None
        _check_runnable(definition)
        self._check_tables(definition)
        self.archive_index(definition.index)
        self._check_range(definition)
        who = caller or Caller()
        record = JobRecord(
            id=str(uuid.uuid4()),
            name=definition.name,
            status="pending",
            definition=definition.normalized_json(),
            index_name=definition.index,
            from_ms=definition.from_,
            to_ms=definition.to,
            created_from_rule_id=rule_id,
            notifications=notifications,
            signal_output=signal_output,
            created_by_handle=who.handle,
            created_by_name=who.name,
        )
        self.jobs.insert(record)
        self.runner.submit(record.id)
        return record

    def _check_tables(self, definition: JobDefinition) -> None:
        """Refuse a job whose reference tables or columns the service does not have."""
        try:
            tables = ReferenceTables.of(self.settings.tables)
            for table in definition.referenceTables or []:
                tables.values(table.tableName, table.columnName)
        except ReferenceTableError as exc:
            raise InvalidRequestError(str(exc)) from None

    def _earlier_results(self, rule: Rule, record: JobRecord) -> list[JobResult]:
        """For a signal_correlation job: the stored results of other jobs in its range."""
        if rule.type != "signal_correlation":
            return []
        stored = self.jobs.results(None, start_ms=record.from_ms, end_ms=record.to_ms)
        return [from_histsignal(item.document) for item in stored if item.job_id != record.id]

    def _check_range(self, definition: JobDefinition) -> None:
        limit = self.settings.max_range_days
        if limit is not None and definition.to - definition.from_ > limit * 86_400_000:
            raise InvalidRequestError(f"the job's time range exceeds the maximum of {limit:g} days")

    def get(self, job_id: str) -> JobRecord:
        """A job (raises `NotFoundError`)."""
        record = self.jobs.get(job_id)
        if record is None:
            raise NotFoundError(f"Job {job_id} was not found.")
        return record

    def cancel(self, job_id: str) -> None:
        """Cancel a pending or running job (409 when it has finished)."""
        record = self.get(job_id)
        if not self.jobs.cancel(job_id):
            raise ConflictError(f"job {job_id} is already {self.get(job_id).status}")
        self.runner.cancel(record.id)

    def delete(self, job_id: str) -> None:
        """Delete a finished job and its results (409 while it is pending or running)."""
        record = self.get(job_id)
        if not self.jobs.delete(job_id):
            raise ConflictError(f"job {job_id} is {record.status}: cancel it before deleting it")

    def results(
        self, job_id: str | None = None, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[ResultRecord]:
        """Job results (of one job, or all), optionally bounded by trigger time."""
        if job_id is not None:
            self.get(job_id)
        return self.jobs.results(job_id, start_ms=start_ms, end_ms=end_ms)

    def result(self, result_id: str) -> ResultRecord:
        """One job result (raises `NotFoundError`)."""
        found = self.jobs.result(result_id)
        if found is None:
            raise NotFoundError(f"job result {result_id} was not found")
        return found

    # --- execution ----------------------------------------------------------------------------

    def execute(self, job_id: str, stop: threading.Event) -> None:
        """Run one job (called by the runner in a worker thread).

        Every store write is retried while the store cannot write (`_stored`), so a full disk
        leaves the job pending or running, never stuck: it goes on once the write succeeds, and
        a job a server stop leaves running is marked failed at the next start.
        """
        try:
            self._execute(job_id, stop)
        except StoppedError:
            log.warning("job %s: stopped while waiting for the store", job_id)

    def _execute(self, job_id: str, stop: threading.Event) -> None:
        record = self._stored(job_id, stop, "read the job", lambda: self.jobs.get(job_id))
        if record is None or not self._stored(
            job_id, stop, "start the job", lambda: self.jobs.start(job_id)
        ):
            return
        failure: str | None = None
        try:
            rule = JobDefinition.model_validate(record.definition).to_rule()
            rule = rule.model_copy(update={"id": record.created_from_rule_id})
            outcome = run(
                rule,
                self.archive,
                start=record.from_ms,
                end=record.to_ms,
                index=self.archive_index(record.index_name),
                job_id=job_id,
                progress=lambda rate: self._progress(job_id, rate),
                should_stop=stop.is_set,
                max_results=self.settings.max_results_per_job,
                cluster=self.settings.scheduler,
                tables=self.settings.tables,
                results=self._earlier_results(rule, record),
            )
        except HindsightError as exc:
            failure = str(exc)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            failure = f"internal error: {type(exc).__name__}: {exc}"
        if failure is not None:
            self._finish(record, stop, FAILED, failure=failure)
            return
        self._stored(
            job_id,
            stop,
            "store its results",
            # read from the run's results batch by batch (again if the store refuses a write)
            lambda: self.jobs.add_results(job_id, (r.to_histsignal() for r in outcome.results)),
        )
        if outcome.cancelled:
            return
        (stat,) = outcome.stats
        statistics = {
            "events_scanned": stat.events_scanned,
            "events_matched": stat.events_matched,
            "results": len(outcome.results),
            "seconds": round(outcome.seconds, 3),
            "manifest": outcome.manifest.to_json() if outcome.manifest is not None else None,
        }
        if stat.error is not None:
            self._finish(record, stop, FAILED, failure=stat.error, statistics=statistics)
        else:
            self._finish(
                record, stop, COMPLETED, truncated=outcome.truncated, statistics=statistics
            )

    def _stored(self, job_id: str, stop: threading.Event, action: str, write: Callable[[], T]) -> T:
        """`write()`, retried while the store cannot do it (`StoppedError` if the job stops)."""
        return retried(write, stop=stop, action=f"job {job_id}: cannot {action}")

    def _progress(self, job_id: str, rate: float) -> None:
        """Record a job's progress; a store that cannot write it only delays the figure."""
        try:
            self.jobs.progress(job_id, rate)
        except StoreUnavailableError as exc:
            log.warning("job %s: progress not recorded (%s)", job_id, exc.cause)

    def _finish(
        self,
        record: JobRecord,
        stop: threading.Event,
        status: str,
        *,
        failure: str | None = None,
        truncated: bool = False,
        statistics: dict[str, Any] | None = None,
    ) -> None:
        finished = self._stored(
            record.id,
            stop,
            f"record that it {status}",
            lambda: self.jobs.finish(
                record.id, status, failure=failure, truncated=truncated, statistics=statistics
            ),
        )
        if finished and record.notifications:  # not when cancelled meanwhile
            self._notify_completion(record.id)

    def _notify_completion(self, job_id: str) -> None:
        record = self.get(job_id)
        count = (record.statistics or {}).get("results", 0)  # no need to load every result
        payload = {
            "event": "historical_job_finished",
            "job": {
                "id": record.id,
                "name": record.name,
                "status": record.status,
                "createdFromRuleId": record.created_from_rule_id,
                "results": count,
                "failure": record.failure,
                "truncated": record.truncated,
            },
        }
        text = f"Historical job {record.name!r} ({record.id}) {record.status}: {count} result(s)."
        if record.failure:
            text += f"\nReason: {record.failure}"
        subject = f"[Hindsight] job {record.status}"
        self.deliveries.submit(Notice(record.notifications, payload, subject, text, job_id=job_id))


def _check_runnable(definition: JobDefinition) -> None:
    """Refuse a job the engine cannot run (its rule type or detection method), naming it."""
    rule_type = definition.type or "log_detection"
    if rule_type not in runnable_types():
        runs = ", ".join(runnable_types())
        raise InvalidRequestError(
            f"type: {rule_type!r} rules cannot run yet (the engine runs {runs})"
        )
    method = definition.detection_method
    if method not in runnable_methods():
        runs = ", ".join(runnable_methods())
        raise InvalidRequestError(
            f"options.detectionMethod: {method!r} cannot run yet (the engine runs {runs})"
        )
