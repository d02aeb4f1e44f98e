"""The job panel: summary, timeline, and the results list (sortable, paged, multi-select).

The summary shows what the run did (events scanned, events matched per query, time taken, a
failure's reason, truncation, who was notified); while the job runs, a live part asks the server
every second and the page reloads itself once the job ends. The timeline is drawn on its own
request (`/jobs/{id}/timeline`, loaded by htmx) because counting matched events reads the archive.
The results list reads the compact searchable copy of each result, so sorting and filtering a
large job never loads whole documents.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from engine.core.errors import HindsightError
from engine.core.severity import SEVERITIES_DESCENDING as SEVERITIES
from engine.service.jobs import JobService, job_manifest
from engine.store.jobs import JobRecord
from engine.web.access import RULES_READ, RULES_WRITE, SIGNALS_READ, SIGNALS_WRITE, Viewing
from engine.web.jobs import job_rows
from engine.web.lists import Paged, filter_searchable, page_of, paged
from engine.web.matched import matched_event_counts
from engine.web.render import page, parse_iso, render_fragment
from engine.web.report import manifest_input, render_report
from engine.web.rules import service_of
from engine.web.timeline import Timeline

router = APIRouter(include_in_schema=False)

RESULTS_PER_PAGE = 25
_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}
EVENT_CACHE_SIZE = 64


@dataclass(frozen=True)
class ResultRow:
    """One result as the results list shows it."""

    id: str
    timestamp_ms: int
    severity: str
    title: str
    group_by: dict[str, Any]
    first_seen_ms: int | None
    last_seen_ms: int | None
    events: int
    case: str
    signal_id: str | None

    @classmethod
    def of(cls, timestamp_ms: int, result_id: str, event: dict[str, Any]) -> ResultRow:
        """The row of a result's searchable event (`store/search.py`)."""
        inner = event.get("attributes") or {}
        workflow = inner.get("workflow") or {}
        case = inner.get("triggeringRuleCase") or {}
        events = workflow.get("events_matched")
        signal_id = inner.get("signal_id")
        return cls(
            id=result_id,
            timestamp_ms=timestamp_ms,
            severity=str(event.get("status") or "info"),
            title=str(inner.get("title") or ""),
            group_by=dict(inner.get("group_by") or {}),
            first_seen_ms=parse_iso(workflow.get("first_seen")),
            last_seen_ms=parse_iso(workflow.get("last_seen")),
            events=events if isinstance(events, int) else 0,
            case=str(case.get("name") or case.get("condition") or ""),
            signal_id=signal_id if isinstance(signal_id, str) else None,
        )


def _group_text(row: ResultRow) -> str:
    return " ".join(f"{key}:{value}" for key, value in row.group_by.items()).casefold()


#: Sort name -> key of a row (ties by time, then id).
SORTS: dict[str, Callable[[ResultRow], Any]] = {
    "timestamp": lambda row: row.timestamp_ms,
    "severity": lambda row: -_RANK.get(row.severity, len(SEVERITIES)),
    "title": lambda row: row.title.casefold(),
    "group": _group_text,
    "first_seen": lambda row: row.first_seen_ms or 0,
    "last_seen": lambda row: row.last_seen_ms or 0,
    "events": lambda row: row.events,
}
DEFAULT_SORT = "-timestamp"


def sort_rows(rows: list[ResultRow], sort: str) -> list[ResultRow]:
    """Rows sorted by `sort` (a `SORTS` name, `-` first for descending)."""
    name = sort.lstrip("-")
    key = SORTS.get(name, SORTS["timestamp"])
    descending = sort.startswith("-") if name in SORTS else True
    return sorted(rows, key=lambda row: (key(row), row.timestamp_ms, row.id), reverse=descending)


@dataclass(frozen=True)
class ResultPage:
    """The results list's page and the parameters that made it."""

    shown: Paged[ResultRow]
    total: int  # every result of the job
    sort: str
    q: str
    query_error: str = ""

    def link(self, **changes: str | int) -> str:
        """The panel's query string with `changes`."""
        values: dict[str, str | int] = {"sort": self.sort, "q": self.q, "page": self.shown.number}
        values.update(changes)
        kept = {k: v for k, v in values.items() if v not in ("", 1) and v != DEFAULT_SORT}
        return urlencode(kept)

    def sort_link(self, name: str) -> str:
        """The link sorting by `name`: descending first, then ascending."""
        return self.link(sort=name if self.sort == f"-{name}" else f"-{name}", page=1)

    def sorted_by(self, name: str) -> str:
        """`descending`, `ascending` or `none`: how the list is sorted by `name` (aria-sort)."""
        if self.sort == f"-{name}":
            return "descending"
        return "ascending" if self.sort == name else "none"


def result_page(service: JobService, job_id: str, *, sort: str, q: str, number: int) -> ResultPage:
    """The results of a job, filtered by `q` (the query language), sorted and paged."""
    searchable = service.jobs.searchable(job_id)
    selected, query_error = filter_searchable(q, searchable)
    rows = sort_rows([ResultRow.of(*item) for item in selected], sort or DEFAULT_SORT)
    shown = paged(rows, number, RESULTS_PER_PAGE)
    return ResultPage(shown, len(searchable), sort or DEFAULT_SORT, q, query_error)


@router.get("/jobs/{job_id}")
def job_panel(
    request: Request,
    viewer: Viewing,
    job_id: str,
    sort: str = DEFAULT_SORT,
    q: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> Response:
    """The panel of one job."""
    viewer.require(RULES_READ)
    service = service_of(request)
    record = service.get(job_id)
    can_results = viewer.can(SIGNALS_READ)
    results = (
        result_page(service, job_id, sort=sort, q=q.strip(), number=page_of(page_number))
        if can_results
        else None
    )
    context = {
        "job": record,
        "row": job_rows(service, [record], counted=can_results)[0],
        "stats": record.statistics or {},
        "deliveries": service.signals.deliveries(job_id=job_id),
        "results": results,
        "can_write": viewer.can(RULES_WRITE),
        "can_convert": viewer.can(SIGNALS_WRITE),
        "can_results": can_results,
        "webhooks": sorted(service.settings.notifications.webhooks),
    }
    return page(request, "panel.html", context, viewer=viewer)


@router.get("/jobs/{job_id}/report")
def job_report(request: Request, viewer: Viewing, job_id: str) -> HTMLResponse:
    """The job's self-contained HTML report (`engine.web.report`), as `hindsight report --job`."""
    viewer.require(SIGNALS_READ)
    service = service_of(request)
    record = service.get(job_id)
    stored = [result.document for result in service.jobs.results(job_id)]
    data = manifest_input(job_manifest(record), f"Hindsight job {record.name}", documents=stored)
    return HTMLResponse(render_report(data))


@router.get("/jobs/{job_id}/live")
def job_live(request: Request, viewer: Viewing, job_id: str) -> HTMLResponse:
    """The live part of a running job's panel; once the job has ended, a reload."""
    viewer.require(RULES_READ)
    service = service_of(request)
    record = service.get(job_id)
    (row,) = job_rows(service, [record], counted=viewer.can(SIGNALS_READ))
    body = render_fragment("panel_live.html", {"job": record, "row": row})
    headers = {} if row.active else {"HX-Refresh": "true"}
    return HTMLResponse(body, headers=headers)


class EventCounts:
    """Matched events per bucket of finished jobs, computed once (a small LRU cache)."""

    def __init__(self, size: int = EVENT_CACHE_SIZE) -> None:
        self.size = size
        self._cache: OrderedDict[tuple[str, int], list[int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, service: JobService, job: JobRecord, bucket_ms: int, buckets: int) -> list[int]:
        """The counts of `job` (recomputed while it runs)."""
        key = (job.id, bucket_ms)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        counts = matched_event_counts(service, job, bucket_ms=bucket_ms, buckets=buckets)
        if job.status not in ("pending", "running"):
            with self._lock:
                self._cache[key] = counts
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return counts


@router.get("/jobs/{job_id}/timeline")
def job_timeline(request: Request, viewer: Viewing, job_id: str) -> HTMLResponse:
    """The timeline chart of a job (an HTML fragment)."""
    viewer.require(RULES_READ)
    service = service_of(request)
    record = service.get(job_id)
    results: list[tuple[int, str]] = []
    if viewer.can(SIGNALS_READ):
        results = [
            (timestamp, str(event.get("status") or "info"))
            for timestamp, _, event in service.jobs.searchable(job_id)
        ]
    draft = Timeline.build(record.from_ms, record.to_ms, results)
    error = ""
    events: list[int] | None = None
    try:
        cache = request.app.state.event_counts
        assert isinstance(cache, EventCounts)
        events = cache.get(service, record, draft.bucket_ms, len(draft.results))
    except HindsightError as exc:
        error = f"Matched events could not be counted: {exc}"
    chart = Timeline.build(record.from_ms, record.to_ms, results, events, bucket_ms=draft.bucket_ms)
    context = {"chart": chart, "error": error, "show_results": viewer.can(SIGNALS_READ)}
    return HTMLResponse(render_fragment("timeline.html", context))
