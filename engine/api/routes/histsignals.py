"""Histsignals (job results): of one job, of every job, searched, and one by id (SPEC §4, §5.2).

Lists page with `page[limit]` (≤ 1000, default 10) and an opaque cursor, sort by `-timestamp`
(default) or `timestamp`, bound `timestamp` with `filter[from]` / `filter[to]` and select with
`filter[query]` over the result document. `GET /histsignals/{id}` shows the inner attribute map
under `custom`. `GET /jobs/{id}/histsignals/export?format=ndjson|csv` streams every result of a
job (bounded by `filter[from]` / `filter[to]`, sorted by `sort`), read from the store a page at a
time: NDJSON holds the stored documents, CSV one row per result (`engine.results.export`). Served
under both path families by `create_app`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from engine.api.auth import SIGNALS_READ, ScopedRoute
from engine.api.auth import scoped as needs
from engine.api.documents import Timer, result_document, single_form
from engine.api.errors import ApiError, JsonResponse, bad_parameter, error_object, responses
from engine.api.guards import checked_id, checked_job_id
from engine.api.models import SignalListRequest
from engine.api.paging import SignalListParams, signal_list_params
from engine.api.routes.jobs import job_not_found
from engine.api.signal_lists import (
    Documents,
    FilterFrom,
    FilterTo,
    list_signals,
    search_params,
    signal_query,
)
from engine.results.export import documents_csv
from engine.service.jobs import JobService

#: Results read from the store per step of an export.
EXPORT_PAGE = 500
#: The export formats and their media types.
EXPORT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
ExportSort = Literal["timestamp", "-timestamp"]


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

    def pages(job_id: str, params: SignalListParams) -> Iterator[list[str]]:
        """The stored documents of a job's results, a page at a time."""
        after = None
        while True:
            raw = service.jobs.page(
                job_id,
                start_ms=params.from_ms,
                end_ms=params.to_ms,
                descending=params.sort == "-timestamp",
                after=after,
                limit=EXPORT_PAGE,
            )
            if raw.rows:
                yield [row[2] for row in raw.rows]
            if not raw.more or not raw.rows:
                return
            after = raw.rows[-1][:2]

    def ndjson(job_id: str, params: SignalListParams) -> Iterator[bytes]:
        for texts in pages(job_id, params):
            yield "".join(text + "\n" for text in texts).encode()

    def csv(job_id: str, params: SignalListParams) -> Iterator[bytes]:
        columns: list[str] | None = None
        for texts in pages(job_id, params):
            text, columns = documents_csv([orjson.loads(item) for item in texts], columns)
            yield text.encode()
        if columns is None:  # no result: the header alone
            yield documents_csv([])[0].encode()

    @router.get(
        "/jobs/{job_id}/histsignals/export",
        summary="Export a job's histsignals",
        openapi_extra=needs(SIGNALS_READ),
        responses=responses(400, 403, 404),
        response_class=StreamingResponse,
    )
    def export_security_monitoring_histsignals(
        job_id: str,
        export_format: Annotated[
            str, Query(alias="format", description="`ndjson` (default) or `csv`.")
        ] = "ndjson",
        filter_from: FilterFrom = None,
        filter_to: FilterTo = None,
        sort: Annotated[
            ExportSort | None, Query(description="`timestamp` (default) or `-timestamp`.")
        ] = None,
    ) -> StreamingResponse:
        """Every result of one job, streamed as NDJSON or CSV."""
        job_id = checked_job_id(job_id)
        if export_format not in EXPORT_TYPES:
            raise bad_parameter(
                "format", f"must be one of {', '.join(EXPORT_TYPES)} (got {export_format!r})"
            )
        params = signal_list_params(
            query=None,
            from_value=filter_from,
            to_value=filter_to,
            sort=sort or "timestamp",
            cursor=None,
            limit=None,
        )
        if service.jobs.get(job_id) is None:
            raise job_not_found(job_id)
        body = ndjson if export_format == "ndjson" else csv
        return StreamingResponse(
            body(job_id, params),
            media_type=EXPORT_TYPES[export_format],
            headers={"Content-Disposition": f'attachment; filename="{job_id}.{export_format}"'},
        )

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
