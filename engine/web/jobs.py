"""The historical jobs list (live while jobs run), and cancelling and deleting a job.

The list shows each job's rule, status and progress, creation time, range and result counts by
severity; it filters by status, by rule and by the API's `filter[query]` language, and pages.
While a job on the page is pending or running, the list asks the server again every second
(htmx); without scripts, the page refreshes itself. Cancel and delete call the service as
`PATCH /jobs/{id}/cancel` and `DELETE /jobs/{id}` do, with the same refusals (409), shown as a
message on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from engine.api.filters import select_jobs
from engine.core.errors import ConflictError, QuerySyntaxError
from engine.query import parse
from engine.service.jobs import JobService
from engine.store.jobs import ACTIVE, CANCELLED, COMPLETED, FAILED, PENDING, RUNNING, JobRecord
from engine.web.access import RULES_READ, RULES_WRITE, SIGNALS_READ, Posting, Viewing, safe_next
from engine.web.lists import page_of, paged
from engine.web.render import page
from engine.web.rules import service_of

router = APIRouter(include_in_schema=False)

STATUSES: tuple[str, ...] = (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED)
PAGE_SIZE = 20


@dataclass(frozen=True)
class JobRow:
    """A job as the lists show it, with its result counts by severity."""

    record: JobRecord
    counts: dict[str, int] = field(default_factory=dict)
    counted: bool = True  # False: the key may not read results (no counts shown)

    @property
    def active(self) -> bool:
        """Pending or running."""
        return self.record.status in ACTIVE

    @property
    def total(self) -> int:
        """Results found (so far)."""
        return sum(self.counts.values())

    @property
    def percent(self) -> int:
        """Progress through the job's range, in percent."""
        if self.record.status == COMPLETED:
            return 100
        return round(100 * float(self.record.progress_rate or 0.0))

    @property
    def rule_case(self) -> str:
        """The case the job evaluates (its name or condition), or how many cases it has."""
        cases = self.record.definition.get("cases") or []
        if len(cases) == 1:
            return str(cases[0].get("name") or cases[0].get("condition") or "one case")
        return f"all {len(cases)} cases"


@dataclass(frozen=True)
class JobFilters:
    """The filters of the jobs list."""

    status: str = ""
    rule: str = ""
    q: str = ""
    page: int = 1

    def query_string(self, **changes: str | int) -> str:
        """The list URL's query with `changes` applied (empty values left out)."""
        values = {"status": self.status, "rule": self.rule, "q": self.q, "page": self.page}
        values.update(changes)
        kept = {key: value for key, value in values.items() if value not in ("", None, 1)}
        return urlencode(kept)


def job_rows(service: JobService, records: list[JobRecord], *, counted: bool) -> list[JobRow]:
    """Rows of `records`, with their result counts when the key may read results."""
    counts = service.jobs.severity_counts([record.id for record in records]) if counted else {}
    return [JobRow(record, counts.get(record.id, {}), counted) for record in records]


@router.get("/jobs")
def job_list(
    request: Request,
    viewer: Viewing,
    status: str = "",
    rule: str = "",
    q: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> Response:
    """The jobs, newest first, filtered and paged."""
    viewer.require(RULES_READ)
    service = service_of(request)
    filters = JobFilters(
        status if status in STATUSES else "", rule, q.strip(), page_of(page_number)
    )
    every = service.jobs.all()
    records = every
    query_error = ""
    if filters.q:
        try:
            parse(filters.q)
            records = select_jobs(filters.q, records)
        except QuerySyntaxError as exc:
            query_error = exc.render()
    if filters.status:
        records = [job for job in records if job.status == filters.status]
    if filters.rule:
        records = [job for job in records if job.created_from_rule_id == filters.rule]
    shown = paged(records, filters.page, PAGE_SIZE)
    rows = job_rows(service, shown.items, counted=viewer.can(SIGNALS_READ))
    context = {
        "rows": rows,
        "filters": filters,
        "statuses": STATUSES,
        "rule_ids": sorted({job.created_from_rule_id for job in every if job.created_from_rule_id}),
        "shown": shown,
        "total": len(every),
        "query_error": query_error,
        "live": any(row.active for row in rows),
        "can_write": viewer.can(RULES_WRITE),
    }
    return page(request, "jobs.html", context, viewer=viewer)


def _back(back: str, job_id: str) -> RedirectResponse:
    return RedirectResponse(safe_next(back or f"/jobs/{job_id}"), status_code=303)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(
    request: Request, viewer: Posting, job_id: str, back: Annotated[str, Form()] = ""
) -> Response:
    """Cancel a pending or running job (the results found so far are kept)."""
    viewer.require(RULES_WRITE)
    service = service_of(request)
    name = service.get(job_id).name
    try:
        service.cancel(job_id)
    except ConflictError:
        status = service.get(job_id).status
        viewer.session.flash(f"The job {name!r} had already finished ({status}).", "error")
        return _back(back, job_id)
    viewer.session.flash(f"Cancelled the job {name!r}.", "success")
    return _back(back, job_id)


@router.post("/jobs/{job_id}/delete")
def delete_job(
    request: Request, viewer: Posting, job_id: str, back: Annotated[str, Form()] = ""
) -> Response:
    """Delete a finished job and its results (back to the list when `back` was its page)."""
    viewer.require(RULES_WRITE)
    service = service_of(request)
    record = service.get(job_id)
    try:
        service.delete(job_id)
    except ConflictError:
        message = f"The job {record.name!r} is {record.status}: cancel it before deleting it."
        viewer.session.flash(message, "error")
        return _back(back, job_id)
    viewer.session.flash(f"Deleted the job {record.name!r} and its results.", "success")
    return _back("/jobs" if not back or back.startswith(f"/jobs/{job_id}") else back, job_id)
