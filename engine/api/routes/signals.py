"""Signals (converted job results): list, search, and one by id (SPEC §4.1).

The signals API of Datadog (`/api/v2/security_monitoring/signals`) over the signals this server
created by converting job results: the same parameters, paging and query as histsignal lists. One
signal fetched by id also lists its notification `deliveries` (sent in the background).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from engine.api.auth import SIGNALS_READ, ScopedRoute
from engine.api.auth import scoped as needs
from engine.api.documents import Timer, delivery_document, single_form
from engine.api.errors import ApiError, JsonResponse, error_object, responses
from engine.api.guards import checked_id
from engine.api.models import SignalListRequest
from engine.api.paging import SignalListParams
from engine.api.signal_lists import Documents, list_signals, search_params, signal_query
from engine.service.jobs import JobService

SIGNALS_PATH = "/api/v2/security_monitoring/signals"


def signals_router(service: JobService) -> APIRouter:
    """The signal endpoints (absolute paths)."""
    router = APIRouter(
        prefix=SIGNALS_PATH, route_class=ScopedRoute, default_response_class=JsonResponse
    )

    all_signals = Documents(
        service.signals.page, service.signals.searchable, service.signals.raw_documents
    )

    @router.get(
        "",
        summary="Get a quick list of security signals",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403),
    )
    def list_security_monitoring_signals(
        request: Request, params: Annotated[SignalListParams, Depends(signal_query)]
    ) -> Response:
        """The signals."""
        timer = Timer()
        return list_signals(all_signals, params, request, timer)

    @router.post(
        "/search",
        summary="Get a list of security signals",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403),
    )
    def search_security_monitoring_signals(
        request: Request, body: SignalListRequest | None = None
    ) -> Response:
        """The signals, with the parameters in an (optional) body."""
        timer = Timer()
        params = search_params(body)
        return list_signals(all_signals, params, request, timer, searched=True)

    @router.get(
        "/{signal_id}",
        summary="Get a signal's details",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403, 404),
    )
    def get_security_monitoring_signal(signal_id: str) -> JsonResponse:
        """One signal, its attribute map under `custom`, and its notification deliveries."""
        signal_id = checked_id("signal_id", signal_id)
        found = service.signals.get(signal_id)
        if found is None:
            raise ApiError(404, [error_object(404, f"signal {signal_id} was not found")])
        data = single_form(found.document)
        data["attributes"]["deliveries"] = [
            delivery_document(record) for record in service.signals.deliveries(signal_id=signal_id)
        ]
        return JsonResponse({"data": data})

    return router
