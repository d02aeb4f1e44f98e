"""The documents the API returns: historical jobs, histsignals and signals, and their lists.

A job is `HistoricalJobResponseData` (SPEC §5.2) with `createdAt` / `modifiedAt` in PostgreSQL's
text form (`2025-11-11 21:36:57.303304+00`), plus `failureReason` when it failed and
`truncated: true` when its result cap was hit (the client keeps unknown attributes). A histsignal
or signal is stored in its list form (inner map under `attributes`); fetched alone, the inner map
moves to `custom` (SPEC §4.1, §4.3), and a signal shows its notification `deliveries` (progress of
the background delivery: `pending`, then each attempt, docs/notifications.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.api.errors import JSON_API, JsonResponse
from engine.api.paging import Listed
from engine.core.times import format_timestamp
from engine.store.jobs import COMPLETED, FAILED, RUNNING, JobRecord, ResultRecord
from engine.store.signals import DeliveryRecord

JOB_TYPE = "historicalDetectionsJob"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JsonApiResponse(JsonResponse):
    """A JSON:API response (`application/vnd.api+json`, as the job endpoints answer)."""

    media_type = JSON_API


def postgres_time(epoch_us: int) -> str:
    """PostgreSQL's text form of a UTC timestamp: `2025-11-11 21:36:57.303304+00`."""
    moment = _EPOCH + timedelta(microseconds=epoch_us)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"


def job_document(record: JobRecord) -> dict[str, Any]:
    """A job as `HistoricalJobResponseData`."""
    attributes: dict[str, Any] = {
        "createdAt": postgres_time(record.created_us),
        "modifiedAt": postgres_time(record.modified_us),
        "createdByHandle": record.created_by_handle,
        "createdByName": record.created_by_name,
        "jobDefinition": record.definition,
        "jobName": record.name,
        "jobStatus": record.status,
        "signalOutput": record.signal_output,
    }
    if record.created_from_rule_id is not None:
        attributes["createdFromRuleId"] = record.created_from_rule_id
    if record.status == RUNNING:
        attributes["progressRate"] = float(record.progress_rate or 0.0)
    elif record.status == COMPLETED:
        attributes["progressRate"] = 1.0
    if record.status == FAILED and record.failure:
        attributes["failureReason"] = record.failure
    if record.truncated:
        attributes["truncated"] = True
    return {"id": record.id, "type": JOB_TYPE, "attributes": attributes}


def created_job(record: JobRecord) -> dict[str, Any]:
    """The body of `POST /jobs` (`JobCreateResponse`)."""
    return {"data": {"id": record.id, "type": JOB_TYPE}}


def result_document(result: ResultRecord) -> dict[str, Any]:
    """A job result (histsignal) in list form, saying whether it was converted."""
    document = dict(result.document)
    outer = dict(document["attributes"])
    inner = dict(outer["attributes"])
    inner["converted"] = result.signal_id is not None
    if result.signal_id is not None:
        inner["signal_id"] = result.signal_id
    outer["attributes"] = inner
    document["attributes"] = outer
    return document


def single_form(document: dict[str, Any]) -> dict[str, Any]:
    """A histsignal or signal as `GET .../{id}` shows it: the inner map under `custom`."""
    outer = {key: value for key, value in document["attributes"].items() if key != "attributes"}
    outer["custom"] = document["attributes"].get("attributes", {})
    return {**document, "attributes": outer}


def delivery_document(record: DeliveryRecord) -> dict[str, Any]:
    """A stored delivery record as `Delivery.to_json()` writes it."""
    return {
        "target": record.target,
        "channel": record.channel,
        "attempt": record.attempt,
        "outcome": record.outcome,
        "statusCode": record.status_code,
        "detail": record.detail,
        "at": format_timestamp(record.at_ms),
    }


class Timer:
    """Measures a list request for `meta.elapsed` and names it for `meta.request_id`."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.request_id = uuid.uuid4().hex

    def meta(self, after: str | None) -> dict[str, Any]:
        """`SecurityMonitoringSignalsListResponseMeta`."""
        page: dict[str, Any] = {} if after is None else {"after": after}
        return {
            "page": page,
            "elapsed": round((time.perf_counter() - self.started) * 1000),
            "request_id": self.request_id,
            "status": "done",
        }


def signal_list(
    page: Sequence[Listed], after: str | None, next_url: str | None, timer: Timer
) -> dict[str, Any]:
    """`SecurityMonitoringSignalsListResponse`: data, links (when there is more), meta."""
    body: dict[str, Any] = {"data": [item.document for item in page]}
    if next_url is not None:
        body["links"] = {"next": next_url}
    body["meta"] = timer.meta(after)
    return body
