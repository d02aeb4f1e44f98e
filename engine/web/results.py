"""Result details (message, group, case, matched logs) and converting results to signals.

Conversion goes through the API's request model (`ConvertRequest`) and `JobService.convert`, as
`POST /jobs/signal_convert` does: the same refusals, and converting a result twice gives the same
signal. The dialog is a `<dialog>` opened by script; without scripts the same form is a page
(`GET /convert?result=...`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from engine.api.models import ConvertRequest
from engine.core.errors import InvalidRequestError, NotFoundError
from engine.results.stored import method_attributes
from engine.rules.template import unwrap_message
from engine.service.jobs import JobService
from engine.store.jobs import JobRecord, ResultRecord
from engine.web.access import SIGNALS_READ, SIGNALS_WRITE, Posting, Viewer, Viewing
from engine.web.access import safe_next as local_path
from engine.web.lists import Paged, page_of
from engine.web.matched import MatchedLogs, matched_logs, result_window
from engine.web.render import page
from engine.web.rules import service_of
from engine.web.runs import recipients

router = APIRouter(include_in_schema=False)

LOGS_PER_PAGE = 25


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """`(dotted path, leaf value)` pairs of a JSON object, in order (arrays are leaves)."""
    if not isinstance(value, dict):
        return [(prefix, value)]
    pairs: list[tuple[str, Any]] = []
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, dict) and item:
            pairs += flatten(item, path)
        else:
            pairs.append((path, item))
    return pairs


@router.get("/results/{result_id}")
def result_page(
    request: Request,
    viewer: Viewing,
    result_id: str,
    logs_page: Annotated[str, Query(alias="logs")] = "1",
) -> Response:
    """One result: message, group, case, first and last seen, matched logs, conversion."""
    viewer.require(SIGNALS_READ)
    service = service_of(request)
    result = service.result(result_id)
    job = service.jobs.get(result.job_id)
    number = page_of(logs_page)
    logs, shown = _logs_page(service, job, result, number) if job else (None, None)
    inner = result.document["attributes"]["attributes"]
    first, last = result_window(result)
    signal = service.signals.get(result.signal_id) if result.signal_id else None
    context = {
        "result": result,
        "outer": result.document["attributes"],
        "inner": inner,
        "job": job,
        "first_ms": first,
        "last_ms": last,
        "logs": logs,
        "shown": shown,
        "samples": inner.get("samples") or [],
        "found": flatten(method_attributes(inner)),
        "signal": signal,
        "flatten": flatten,
        "can_convert": viewer.can(SIGNALS_WRITE) and signal is None,
        "webhooks": sorted(service.settings.notifications.webhooks),
        "message": unwrap_message(str(result.document["attributes"].get("message") or "")),
    }
    return page(request, "result.html", context, viewer=viewer)


def _logs_page(
    service: JobService, job: JobRecord, result: ResultRecord, number: int
) -> tuple[MatchedLogs, Paged[dict[str, Any]]]:
    """A page of matched logs (the last one when `number` is past it)."""
    logs = matched_logs(
        service, job, result, offset=(number - 1) * LOGS_PER_PAGE, limit=LOGS_PER_PAGE
    )
    pages = max(1, math.ceil(logs.total / LOGS_PER_PAGE))
    if number > pages and logs.total:
        return _logs_page(service, job, result, pages)
    return logs, Paged(logs.logs, number, pages, logs.total)


def _selected(request: Request, ids: list[str]) -> list[ResultRecord]:
    service = service_of(request)
    return [service.result(result_id) for result_id in dict.fromkeys(ids) if result_id]


def _convert_page(
    request: Request,
    viewer: Viewer,
    ids: list[str],
    back: str,
    *,
    error: str = "",
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    chosen = _selected(request, ids)
    message = ""
    if len(chosen) == 1:
        message = unwrap_message(str(chosen[0].document["attributes"].get("message") or ""))
    context = {
        "chosen": chosen if viewer.can(SIGNALS_READ) else [],
        "back": local_path(back),
        "error": error,
        "values": values or {"severity": "medium", "notifications": "", "message": message},
        "webhooks": sorted(service_of(request).settings.notifications.webhooks),
    }
    return page(request, "convert.html", context, status=status, viewer=viewer)


@router.get("/convert")
def convert_form(
    request: Request,
    viewer: Viewing,
    result: Annotated[list[str] | None, Query()] = None,
    back: str = "/jobs",
) -> Response:
    """The conversion form as a page (the dialog's form, when scripts are off)."""
    viewer.require(SIGNALS_WRITE)
    viewer.require(SIGNALS_READ)  # it shows the results
    return _convert_page(request, viewer, list(result or []), back)


@router.post("/convert")
def convert(
    request: Request,
    viewer: Posting,
    result: Annotated[list[str] | None, Form()] = None,
    severity: Annotated[str, Form()] = "",
    notifications: Annotated[str, Form()] = "",
    message: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/jobs",
) -> Response:
    """Convert the chosen results to signals, as `POST /jobs/signal_convert` does."""
    viewer.require(SIGNALS_WRITE)
    service = service_of(request)
    ids = [item for item in result or [] if item]
    values = {"severity": severity, "notifications": notifications, "message": message}
    try:
        if not ids:
            raise InvalidRequestError("Choose at least one result to convert.")
        body = ConvertRequest.model_validate(
            {
                "data": {
                    "type": "historicalDetectionsJobResultSignalConversion",
                    "attributes": {
                        "jobResultIds": ids,
                        "signalSeverity": severity,
                        "signalMessage": message,
                        "notifications": recipients(notifications),
                    },
                }
            }
        )
        attributes = body.data.attributes
        signals = service.convert(
            list(attributes.jobResultIds),
            severity=attributes.signalSeverity,
            message=attributes.signalMessage,
            notifications=list(attributes.notifications),
        )
    except NotFoundError as exc:
        return _convert_page(request, viewer, [], back, error=str(exc), status=404, values=values)
    except (InvalidRequestError, ValueError) as exc:
        error = str(exc) if isinstance(exc, InvalidRequestError) else "Choose a severity."
        return _convert_page(request, viewer, ids, back, error=error, status=400, values=values)
    count = len(signals)
    plural = "s" if count != 1 else ""
    viewer.session.flash(f"Converted {count} result{plural} to signal{plural}.", "success")
    if count == 1:
        return RedirectResponse(f"/signals/{signals[0].id}", status_code=303)
    return RedirectResponse(local_path(back), status_code=303)
