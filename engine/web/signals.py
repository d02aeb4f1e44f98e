"""The signals pages: converted signals, and one signal with its notification deliveries.

A signal's page lists each notification target with its delivery: channel, outcome of the last
attempt, how many attempts, the last HTTP status and the last error. A target with no delivery
record yet is `pending`; while one is (shortly after conversion), the deliveries part asks the
server again every second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from engine.core.errors import NotFoundError
from engine.core.severity import SEVERITIES_DESCENDING as SEVERITIES
from engine.rules.template import unwrap_message
from engine.store.signals import DeliveryRecord, SignalRecord
from engine.web.access import SIGNALS_READ, Viewing
from engine.web.lists import filter_searchable, page_of, paged
from engine.web.render import page, parse_iso, render_fragment
from engine.web.rules import service_of

router = APIRouter(include_in_schema=False)

SIGNALS_PER_PAGE = 25
PENDING_WINDOW_MS = 120_000


@dataclass
class TargetDelivery:
    """What happened to one notification target of a signal."""

    target: str
    records: list[DeliveryRecord] = field(default_factory=list)

    @property
    def last(self) -> DeliveryRecord | None:
        """The latest record."""
        return self.records[-1] if self.records else None

    @property
    def outcome(self) -> str:
        """`delivered`, `failed`, `undelivered`, or `pending` (nothing recorded yet)."""
        return self.last.outcome if self.last else "pending"

    @property
    def attempts(self) -> int:
        """Attempts made (an undelivered target was never tried: 0)."""
        return max((record.attempt for record in self.records), default=0)

    @property
    def last_error(self) -> str:
        """The latest non-empty error detail."""
        return next((r.detail for r in reversed(self.records) if r.detail), "")


def group_deliveries(targets: list[str], records: list[DeliveryRecord]) -> list[TargetDelivery]:
    """One entry per target (in the signal's order, then any other recorded target)."""
    grouped: dict[str, TargetDelivery] = {target: TargetDelivery(target) for target in targets}
    for record in records:
        grouped.setdefault(record.target, TargetDelivery(record.target)).records.append(record)
    return list(grouped.values())


@dataclass(frozen=True)
class SignalRow:
    """One signal as the list shows it."""

    id: str
    severity: str
    title: str
    timestamp_ms: int
    converted_ms: int | None
    rule: str
    result_id: str

    @classmethod
    def of(cls, timestamp_ms: int, signal_id: str, event: dict[str, Any]) -> SignalRow:
        """The row of a signal's searchable event."""
        inner = event.get("attributes") or {}
        workflow = inner.get("workflow") or {}
        converted = workflow.get("converted_at")
        return cls(
            id=signal_id,
            severity=str(event.get("status") or "info"),
            title=str(inner.get("title") or ""),
            timestamp_ms=timestamp_ms,
            converted_ms=converted if isinstance(converted, int) else None,
            rule=str((workflow.get("rule") or {}).get("name") or ""),
            result_id=str(inner.get("histsignal_id") or ""),
        )


@router.get("/signals")
def signal_list(
    request: Request,
    viewer: Viewing,
    severity: str = "",
    q: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> Response:
    """The signals, newest conversion first."""
    viewer.require(SIGNALS_READ)
    service = service_of(request)
    searchable = service.signals.searchable()
    selected, query_error = filter_searchable(q, searchable)
    rows = [SignalRow.of(*item) for item in selected]
    if severity in SEVERITIES:
        rows = [row for row in rows if row.severity == severity]
    rows.sort(key=lambda row: (row.converted_ms or 0, row.timestamp_ms, row.id), reverse=True)
    shown = paged(rows, page_of(page_number), SIGNALS_PER_PAGE)
    outcomes = {
        row.id: group_deliveries([], service.signals.deliveries(signal_id=row.id))
        for row in shown.items
    }
    context = {
        "shown": shown,
        "outcomes": outcomes,
        "total": len(searchable),
        "severity": severity,
        "q": q,
        "query_error": query_error,
        "link": lambda **changes: urlencode(
            {k: v for k, v in {"severity": severity, "q": q, **changes}.items() if v}
        ),
    }
    return page(request, "signals.html", context, viewer=viewer)


def _signal(request: Request, signal_id: str) -> SignalRecord:
    found = service_of(request).signals.get(signal_id)
    if found is None:
        raise NotFoundError(f"There is no signal {signal_id!r}.")
    return found


def _deliveries(request: Request, signal: SignalRecord) -> dict[str, Any]:
    records = service_of(request).signals.deliveries(signal_id=signal.id)
    targets = group_deliveries(list(signal.notifications), records)
    recent = signal.created_ms >= int(time.time() * 1000) - PENDING_WINDOW_MS
    waiting = recent and any(item.outcome == "pending" for item in targets)
    return {"signal": signal, "targets": targets, "waiting": waiting}


@router.get("/signals/{signal_id}")
def signal_page(request: Request, viewer: Viewing, signal_id: str) -> Response:
    """One signal: severity, message, where it came from, and its deliveries."""
    viewer.require(SIGNALS_READ)
    signal = _signal(request, signal_id)
    outer = signal.document["attributes"]
    inner = outer["attributes"]
    workflow = inner.get("workflow") or {}
    context = {
        **_deliveries(request, signal),
        "outer": outer,
        "inner": inner,
        "workflow": workflow,
        "message": unwrap_message(str(outer.get("message") or "")),
        "first_ms": parse_iso(workflow.get("first_seen")),
        "last_ms": parse_iso(workflow.get("last_seen")),
        "job": service_of(request).jobs.get(signal.job_id) if signal.job_id else None,
    }
    return page(request, "signal.html", context, viewer=viewer)


@router.get("/signals/{signal_id}/deliveries")
def signal_deliveries(request: Request, viewer: Viewing, signal_id: str) -> HTMLResponse:
    """The deliveries part of a signal's page (htmx, while some are pending)."""
    viewer.require(SIGNALS_READ)
    context = _deliveries(request, _signal(request, signal_id))
    return HTMLResponse(render_fragment("deliveries.html", context))
