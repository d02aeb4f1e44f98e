"""Detection rules: Datadog's rule API (`/api/v2/security_monitoring/rules`), what `fromRule` runs.

Bodies and responses are the rule objects themselves (`SecurityMonitoringRuleCreatePayload` in,
`SecurityMonitoringStandardRuleResponse` out), the list is `{"data": [...], "meta": {"page":
{"total_count", "total_filtered_count"}}}`. Errors use the rule API's string form: an invalid rule
answers `{"errors": ["Invalid rule configuration", "<path>: <problem>", ...]}` (every problem), a
library rule is read-only (400), an unknown rule is 404 `{"errors": ["Not found"]}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response

from engine.api.auth import RULES_READ, RULES_WRITE, ScopedRoute, request_caller
from engine.api.auth import scoped as needs
from engine.api.bodies import INT64_MAX
from engine.api.errors import ApiError, JsonResponse, responses
from engine.api.guards import checked_id
from engine.core.errors import InvalidRequestError, NotFoundError, RuleValidationError
from engine.service.jobs import JobService
from engine.service.rules import Caller

RULES_PATH = "/api/v2/security_monitoring/rules"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
INVALID_RULE = "Invalid rule configuration"
NOT_FOUND = "Not found"

RuleBody = Annotated[
    dict[str, Any],
    Body(description="The rule (`SecurityMonitoringStandardRuleCreatePayload`)."),
]


def rule_errors(exc: InvalidRequestError) -> ApiError:
    """A refused rule as the rule API answers it: every validation problem, one string each."""
    if isinstance(exc, RuleValidationError):
        problems = (f"{path or '(root)'}: {message}" for path, message in exc.problems)
        return ApiError(400, [INVALID_RULE, *problems])
    return ApiError(400, [str(exc)])


def rules_router(service: JobService) -> APIRouter:
    """The rule endpoints (absolute paths)."""
    router = APIRouter(
        prefix=RULES_PATH, route_class=ScopedRoute, default_response_class=JsonResponse
    )

    def one(rule_id: str) -> dict[str, Any]:
        try:
            return service.rule_document(checked_id("rule_id", rule_id))
        except NotFoundError:
            raise ApiError(404, [NOT_FOUND]) from None

    @router.post(
        "",
        summary="Create a detection rule",
        openapi_extra=needs(RULES_WRITE),
        responses=responses(400, 403),
    )
    def create_security_monitoring_rule(
        body: RuleBody, caller: Annotated[Caller, Depends(request_caller)]
    ) -> JsonResponse:
        """Validate and store a rule; the answer is the stored rule with its new id."""
        try:
            return JsonResponse(service.create_rule(body, caller=caller))
        except InvalidRequestError as exc:
            raise rule_errors(exc) from None

    @router.get(
        "",
        summary="List rules",
        openapi_extra=needs(RULES_READ),
        responses=responses(400, 403),
    )
    def list_security_monitoring_rules(
        page_size: Annotated[
            int, Query(alias="page[size]", ge=1, le=MAX_PAGE_SIZE, description="Rules per page.")
        ] = DEFAULT_PAGE_SIZE,
        page_number: Annotated[
            int, Query(alias="page[number]", ge=0, le=INT64_MAX, description="Page number, from 0.")
        ] = 0,
        query: Annotated[
            str | None, Query(description="Keep the rules whose name contains this text.")
        ] = None,
    ) -> JsonResponse:
        """The library's rules, then the rules created through this API."""
        rules = service.rule_documents()
        needle = (query or "").strip().casefold()
        kept = [rule for rule in rules if needle in str(rule.get("name", "")).casefold()]
        start = page_number * page_size
        page = {"total_count": len(rules), "total_filtered_count": len(kept)}
        return JsonResponse({"data": kept[start : start + page_size], "meta": {"page": page}})

    @router.get(
        "/{rule_id}",
        summary="Get a rule's details",
        openapi_extra=needs(RULES_READ),
        responses=responses(400, 403, 404),
    )
    def get_security_monitoring_rule(rule_id: str) -> JsonResponse:
        """One rule."""
        return JsonResponse(one(rule_id))

    @router.put(
        "/{rule_id}",
        summary="Update an existing rule",
        openapi_extra=needs(RULES_WRITE),
        responses=responses(400, 403, 404),
    )
    def update_security_monitoring_rule(
        rule_id: str, body: RuleBody, caller: Annotated[Caller, Depends(request_caller)]
    ) -> JsonResponse:
        """Replace the fields given; the version goes up by one. Library rules are read-only."""
        rule_id = checked_id("rule_id", rule_id)
        try:
            return JsonResponse(service.update_rule(rule_id, body, caller=caller))
        except NotFoundError:
            raise ApiError(404, [NOT_FOUND]) from None
        except InvalidRequestError as exc:
            raise rule_errors(exc) from None

    @router.delete(
        "/{rule_id}",
        status_code=204,
        summary="Delete an existing rule",
        openapi_extra=needs(RULES_WRITE),
        responses=responses(400, 403, 404),
    )
    def delete_security_monitoring_rule(rule_id: str) -> Response:
        """Delete a rule created through this API. Library rules are read-only."""
        rule_id = checked_id("rule_id", rule_id)
        try:
            service.delete_rule(rule_id)
        except NotFoundError:
            raise ApiError(404, [NOT_FOUND]) from None
        except InvalidRequestError as exc:
            raise rule_errors(exc) from None
        return Response(status_code=204)

    return router
