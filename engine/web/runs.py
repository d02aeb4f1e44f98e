"""Run as historical job: the form (index, time range, rule case, recipients) and its submission.

The submission builds the `POST /jobs` request body (`fromRule`), validates it with the API's own
request model and hands its attributes to `JobService.submit`, exactly as the API route does, then
lands on the new job's panel. A refused request shows the form again, with the reason.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from engine.api.models import RunJobRequest
from engine.core.errors import InvalidRequestError, UnknownIndexError
from engine.service.jobs import JobService
from engine.web.access import RULES_WRITE, Posting, Viewer, Viewing
from engine.web.render import page
from engine.web.rules import RuleEntry, rule_entry, service_of
from engine.web.timerange import (
    CUSTOM,
    PRESETS,
    SPAN,
    TimeRange,
    index_span,
    resolve,
    utc_ms_to_local,
    zone,
)

router = APIRouter(include_in_schema=False)

_SEPARATORS = re.compile(r"[\s,;]+")
WEEK_MS = PRESETS["7d"][1]


@dataclass(frozen=True)
class IndexChoice:
    """An index a job can read: its name, the archive index behind it, and its events."""

    name: str
    events: int
    span: TimeRange | None


def recipients(text: str) -> list[str]:
    """Notification targets typed in one field (separated by commas, spaces or new lines)."""
    return [item for item in _SEPARATORS.split(text) if item]


def index_choices(service: JobService) -> list[IndexChoice]:
    """The archive's indexes, and the configured job index names that map to one."""
    names = sorted(set(service.archive.indexes()) | set(service.settings.indexes))
    choices = []
    for name in names:
        try:
            info = service.archive.info(service.archive_index(name))
        except Exception:
            continue
        choices.append(IndexChoice(name, info.events, index_span(info.min_ts, info.max_ts)))
    return choices


@dataclass
class RunForm:
    """The values of the run form."""

    index: str = ""
    range: str = SPAN
    start: str = ""
    end: str = ""
    tz: str = "UTC"
    case: str = ""
    notifications: str = ""


def _default_form(choices: list[IndexChoice], now_ms: int) -> RunForm:
    chosen = next((choice for choice in choices if choice.name == "main"), None)
    chosen = chosen or (choices[0] if choices else None)
    form = RunForm(index=chosen.name if chosen else "")
    span = chosen.span if chosen else None
    recent = span is not None and span.to_ms >= now_ms - WEEK_MS
    form.range = "7d" if recent or span is None else SPAN
    low, high = (span.from_ms, span.to_ms) if span else (now_ms - WEEK_MS, now_ms)
    form.start, form.end = utc_ms_to_local(low, zone("UTC")), utc_ms_to_local(high, zone("UTC"))
    return form


def _run_page(
    request: Request,
    viewer: Viewer,
    entry: RuleEntry,
    form: RunForm,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    service = service_of(request)
    choices = index_choices(service)
    context = {
        "rule": entry,
        "form": form,
        "error": error,
        "indexes": choices,
        "presets": PRESETS,
        "webhooks": sorted(service.settings.notifications.webhooks),
        "email": service.settings.notifications.smtp is not None,
    }
    return page(request, "run.html", context, status=status, viewer=viewer)


@router.get("/rules/{rule_id}/run")
def run_form(request: Request, viewer: Viewing, rule_id: str, job: str | None = None) -> Response:
    """The form; `?job=ID` fills it in from an earlier job of the rule."""
    viewer.require(RULES_WRITE)
    service = service_of(request)
    entry = rule_entry(service, rule_id)
    now_ms = int(time.time() * 1000)
    form = _default_form(index_choices(service), now_ms)
    earlier = service.jobs.get(job) if job else None
    if earlier is not None and earlier.created_from_rule_id == rule_id:
        utc = zone("UTC")
        form = RunForm(
            index=earlier.index_name,
            range=CUSTOM,
            start=utc_ms_to_local(earlier.from_ms, utc),
            end=utc_ms_to_local(earlier.to_ms, utc),
            case=_case_of(entry, earlier.definition),
            notifications=" ".join(earlier.notifications),
        )
    return _run_page(request, viewer, entry, form)


def _case_of(entry: RuleEntry, definition: dict[str, Any]) -> str:
    """The case index a job ran alone ("" when it ran every case)."""
    cases = definition.get("cases") or []
    if len(cases) != 1 or len(entry.cases) == 1:
        return ""
    position = next((i for i, case in enumerate(entry.cases) if case == cases[0]), None)
    return "" if position is None else str(position)


@router.post("/rules/{rule_id}/run")
def submit_run(
    request: Request,
    viewer: Posting,
    rule_id: str,
    index: Annotated[str, Form()] = "",
    range_choice: Annotated[str, Form(alias="range")] = SPAN,
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    tz: Annotated[str, Form()] = "UTC",
    case: Annotated[str, Form()] = "",
    notifications: Annotated[str, Form()] = "",
) -> Response:
    """Create the job through the `POST /jobs` code path, then open its panel."""
    caller = viewer.require(RULES_WRITE)
    service = service_of(request)
    entry = rule_entry(service, rule_id)
    form = RunForm(index, range_choice, start, end, tz or "UTC", case, notifications)
    try:
        chosen = next((item for item in index_choices(service) if item.name == index), None)
        if chosen is None and range_choice == SPAN:
            raise InvalidRequestError(f"There is no index {index!r}: choose one of the list.")
        window = resolve(
            range_choice,
            now_ms=int(time.time() * 1000),
            span=chosen.span if chosen else None,
            start=start,
            end=end,
            tz_name=tz,
        )
        from_rule: dict[str, Any] = {
            "id": rule_id,
            "from": window.from_ms,
            "to": window.to_ms,
            "index": index,
        }
        if case.strip():
            if not case.strip().isdigit():
                raise InvalidRequestError(f"Unknown rule case {case!r}.")
            from_rule["caseIndex"] = int(case)
        targets = recipients(notifications)
        if targets:
            from_rule["notifications"] = targets
        body = RunJobRequest.model_validate(
            {
                "data": {
                    "type": "historicalDetectionsJobCreate",
                    "attributes": {"fromRule": from_rule},
                }
            }
        )
        record = service.submit(body.data.attributes.model_dump(exclude_none=True), caller=caller)
    except (InvalidRequestError, UnknownIndexError) as exc:
        return _run_page(request, viewer, entry, form, error=str(exc), status=400)
    viewer.session.flash(f"Started the historical job {record.name!r}.", "success")
    return RedirectResponse(f"/jobs/{record.id}", status_code=303)
