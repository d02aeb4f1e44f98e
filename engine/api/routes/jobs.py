"""Historical jobs: run, list, get, delete, cancel, and convert results to signals (SPEC §5.2).

Each endpoint answers the exact error bodies Datadog was recorded answering (SPEC §5.1): a job id
that is not a UUID is refused before any lookup, unknown jobs and rules have their own 404 forms,
an unknown index the string form. Served under both path families by `create_app`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from engine.api.auth import RULES_READ, RULES_WRITE, SIGNALS_WRITE, ScopedRoute, request_caller
from engine.api.auth import scoped as needs
from engine.api.bodies import INT64_MAX
from engine.api.documents import JsonApiResponse, created_job, job_document
from engine.api.errors import ApiError, error_object, responses
from engine.api.filters import select_jobs
from engine.api.guards import checked_job_id
from engine.api.models import ConvertRequest, RunJobRequest
from engine.core.errors import ConflictError, InvalidRequestError, NotFoundError
from engine.rules.models import JobDefinition
from engine.service.jobs import JobService
from engine.service.rules import Caller
from engine.store.jobs import JobRecord
from engine.workflow.lint import preflight

#: Job creation lints the rule on a small sample, so the request stays quick.
PREFLIGHT_SAMPLE_ROWS = 2_000

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
JobSort = Literal["createdAt", "-createdAt", "jobName", "-jobName"]


def job_not_found(job_id: str) -> ApiError:
    """The 404 of `GET /jobs/{id}` (and of the job's histsignals)."""
    return ApiError(404, [error_object(404, f"Job {job_id} was not found.")])


def _bare_not_found() -> ApiError:
    """The 404 of cancel and delete: `{"status":"404","detail":"Not Found"}`."""
    return ApiError(404, [error_object(404, "Not Found", title=None)])


def _sorted_jobs(records: list[JobRecord], sort: JobSort) -> list[JobRecord]:
    descending = sort.startswith("-")
    if sort.lstrip("-") == "jobName":
        return sorted(records, key=lambda job: (job.name.casefold(), job.id), reverse=descending)
    return sorted(records, key=lambda job: (job.created_us, job.id), reverse=descending)


def jobs_router(service: JobService) -> APIRouter:
    """The job endpoints (paths relative to a job path family)."""
    router = APIRouter(route_class=ScopedRoute, default_response_class=JsonApiResponse)

    @router.post(
        "/jobs",
        status_code=201,
        summary="Run a historical job",
        openapi_extra=needs(RULES_WRITE),
        responses=responses(400, 403, 404),
    )
    def run_historical_job(
        body: RunJobRequest, caller: Annotated[Caller, Depends(request_caller)]
    ) -> JsonApiResponse:
        """Create a job from a `jobDefinition` or `fromRule`; it runs in the background."""
        attributes = body.data.attributes.model_dump(exclude_none=True)
        try:
            record = service.submit(attributes, caller=caller)
        except NotFoundError:  # only a fromRule naming an unknown rule
            raise ApiError(404, [error_object(404)]) from None
        document = created_job(record)
        rule = JobDefinition.model_validate(record.definition).to_rule()
        index = service.archive_index(record.index_name)
        warnings = preflight(
            rule,
            service.archive,
            start=record.from_ms,
            end=record.to_ms,
            index=index,
            sample_rows=PREFLIGHT_SAMPLE_ROWS,
        )
        if warnings:  # lint errors and warnings of the job's rule (SPEC TC-30's body otherwise)
            document["meta"] = {"warnings": warnings}
        return JsonApiResponse(document, status_code=201)

    @router.get(
        "/jobs",
        summary="List historical jobs",
        openapi_extra=needs(RULES_READ),
        responses=responses(400, 403),
    )
    def list_historical_jobs(
        page_size: Annotated[
            int, Query(alias="page[size]", ge=1, le=MAX_PAGE_SIZE, description="Jobs per page.")
        ] = DEFAULT_PAGE_SIZE,
        page_number: Annotated[
            int, Query(alias="page[number]", ge=0, le=INT64_MAX, description="Page number, from 0.")
        ] = 0,
        sort: Annotated[JobSort, Query(description="Order of the jobs.")] = "-createdAt",
        filter_query: Annotated[
            str | None,
            Query(
                alias="filter[query]",
                description="Query on id, jobName, jobStatus, createdByHandle, "
                "createdFromRuleId and free text on the name.",
            ),
        ] = None,
    ) -> JsonApiResponse:
        """Jobs matching `filter[query]`, one page of them; `meta.totalCount` counts them all."""
        selected = _sorted_jobs(select_jobs(filter_query, service.jobs.all()), sort)
        start = page_number * page_size
        page = selected[start : start + page_size]
        return JsonApiResponse(
            {"data": [job_document(job) for job in page], "meta": {"totalCount": len(selected)}}
        )

    @router.get(
        "/jobs/{job_id}",
        summary="Get a job's details",
        openapi_extra=needs(RULES_READ),
        responses=responses(400, 403, 404),
    )
    def get_historical_job(job_id: str) -> JsonApiResponse:
        """One job."""
        job_id = checked_job_id(job_id)
        record = service.jobs.get(job_id)
        if record is None:
            raise job_not_found(job_id)
        return JsonApiResponse({"data": job_document(record)})

    @router.delete(
        "/jobs/{job_id}",
        status_code=204,
        summary="Delete an existing job",
        openapi_extra=needs(RULES_WRITE),
        responses=responses(400, 403, 404, 409),
    )
    def delete_historical_job(job_id: str) -> Response:
        """Delete a finished job and its results (409 while it is pending or running)."""
        job_id = checked_job_id(job_id, title="Generic Error")
        try:
            service.delete(job_id)
        except NotFoundError:
            raise _bare_not_found() from None
        except ConflictError as exc:
            raise ApiError(409, [error_object(409, str(exc))]) from None
        return Response(status_code=204)

    @router.patch(
        "/jobs/{job_id}/cancel",
        status_code=204,
        summary="Cancel a historical job",
        openapi_extra=needs(RULES_WRITE),
        responses=responses(400, 403, 404, 409),
    )
    def cancel_historical_job(job_id: str) -> Response:
        """Cancel a pending or running job (409 once it has finished)."""
        job_id = checked_job_id(job_id)
        try:
            service.cancel(job_id)
        except NotFoundError:
            raise _bare_not_found() from None
        except ConflictError as exc:
            raise ApiError(409, [error_object(409, str(exc))]) from None
        return Response(status_code=204)

    @router.post(
        "/jobs/signal_convert",
        status_code=204,
        summary="Convert job results to signals",
        openapi_extra=needs(SIGNALS_WRITE),
        responses=responses(400, 403, 404),
    )
    def convert_job_result_to_signal(body: ConvertRequest) -> Response:
        """Convert job results to signals with a severity, message and notification targets."""
        attributes = body.data.attributes
        try:
            service.convert(
                list(attributes.jobResultIds),
                severity=attributes.signalSeverity,
                message=attributes.signalMessage,
                notifications=list(attributes.notifications),
            )
        except InvalidRequestError as exc:
            raise ApiError(400, [error_object(400, str(exc), title="Generic Error")]) from None
        return Response(status_code=204)

    return router
