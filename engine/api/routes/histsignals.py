"""Histsignals (job results): of one job, of every job, searched, and one by id (SPEC §4, §5.2).

Lists page with `page[limit]` (≤ 1000, default 10) and an opaque cursor, sort by `-timestamp`
(default) or `timestamp`, bound `timestamp` with `filter[from]` / `filter[to]` and select with
`filter[query]` over the result document. `GET /histsignals/{id}` shows the inner attribute map
under `custom`. Served under both path families by `create_app`.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from engine.api.auth import SIGNALS_READ, ScopedRoute
from engine.api.auth import scoped as needs
from engine.api.documents import Timer, result_document, single_form
from engine.api.errors import ApiError, JsonResponse, error_object, responses
from engine.api.guards import checked_id, checked_job_id
from engine.api.models import SignalListRequest
from engine.api.paging import SignalListParams
from engine.api.routes.jobs import job_not_found
from engine.api.signal_lists import Documents, list_signals, search_params, signal_query
from engine.service.jobs import JobService


def histsignals_router(service: JobService) -> APIRouter:
    """The histsignal endpoints (paths relative to a job path family)."""
    router = APIRouter(route_class=ScopedRoute, default_response_class=JsonResponse)

    def results_of(job_id: str | None) -> Documents:
        return Documents(
            partial(service.jobs.page, job_id),
            partial(service.jobs.searchable, job_id),
            service.jobs.raw_documents,
        )

    @router.get(
        "/jobs/{job_id}/histsignals",
        summary="Get a job's histsignals",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403, 404),
    )
    def get_security_monitoring_histsignals_by_job_id(
        job_id: str,
        request: Request,
        params: Annotated[SignalListParams, Depends(signal_query)],
    ) -> Response:
        """The results of one job."""
        timer = Timer()
        job_id = checked_job_id(job_id)
        if service.jobs.get(job_id) is None:
            raise job_not_found(job_id)
        return list_signals(results_of(job_id), params, request, timer)

    @router.get(
        "/histsignals",
        summary="List histsignals",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403),
    )
    def list_security_monitoring_histsignals(
        request: Request, params: Annotated[SignalListParams, Depends(signal_query)]
    ) -> Response:
        """The results of every job."""
        timer = Timer()
        return list_signals(results_of(None), params, request, timer)

    @router.post(
        "/histsignals/search",
        summary="Search histsignals",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403),
    )
    def search_security_monitoring_histsignals(
        request: Request, body: SignalListRequest | None = None
    ) -> Response:
        """The results of every job, with the parameters in an (optional) body."""
        timer = Timer()
        params = search_params(body)
        return list_signals(results_of(None), params, request, timer, searched=True)

    @router.get(
        "/histsignals/{histsignal_id}",
        summary="Get a histsignal's details",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403, 404),
    )
    def get_security_monitoring_histsignal(histsignal_id: str) -> JsonResponse:
        """One result, its attribute map under `custom`."""
        histsignal_id = checked_id("histsignal_id", histsignal_id)
        found = service.jobs.result(histsignal_id)
        if found is None:
            raise ApiError(404, [error_object(404, f"histsignal {histsignal_id} was not found")])
        return JsonResponse({"data": single_form(result_document(found))})

    return router
