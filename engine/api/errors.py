"""Datadog-style error bodies, and the exception handlers that make every error one of them.

Datadog answers errors in two forms (SPEC §5.1): JSON:API error objects
(`{"errors":[{"status":"404","title":"Not Found","detail":"..."}]}`, content type
`application/vnd.api+json`) and plain strings (`{"errors":["Forbidden"]}`, `application/json`).
Routes raise `ApiError` with the exact body an endpoint is known to answer; everything else
(unknown paths, wrong methods, malformed bodies, refused service requests, a store that cannot
write: 503, bugs) is mapped here, so no response ever carries FastAPI's default `{"detail": ...}`
shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse as _StarletteJSON
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.core.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ServiceError,
    StoreUnavailableError,
    UnavailableError,
    UnknownIndexError,
)
from engine.core.json import json_text, json_type

log = logging.getLogger("hindsight.api")


class JsonResponse(_StarletteJSON):
    """A JSON response encoded with orjson (documents with samples are large)."""

    def render(self, content: Any) -> bytes:
        """The body: compact JSON; integers beyond 64 bits kept exact."""
        try:
            return orjson.dumps(content)
        except TypeError:
            return json_text(content).encode()


JSON_API = "application/vnd.api+json"
JSON = "application/json"

TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

ErrorItem = dict[str, Any] | str
BODY = "the request body"


class ApiError(Exception):
    """An error response with an exact body: `{"errors": errors}` with `status`."""

    def __init__(
        self,
        status: int,
        errors: Sequence[ErrorItem],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.errors = list(errors)
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.errors}")

    @property
    def media_type(self) -> str:
        """JSON:API for error objects, plain JSON for string errors (as Datadog answers)."""
        return JSON_API if all(isinstance(item, dict) for item in self.errors) else JSON

    def response(self) -> JsonResponse:
        """The HTTP response."""
        return JsonResponse(
            {"errors": self.errors},
            status_code=self.status,
            media_type=self.media_type,
            headers=self.headers or None,
        )


def error_object(
    status: int, detail: str | None = None, *, title: str | None = "", **extra: Any
) -> dict[str, Any]:
    """A JSON:API error object; `title=""` means the usual title of `status`, None means none."""
    item: dict[str, Any] = {"status": str(status)}
    if title == "":
        title = TITLES.get(status)
    if title is not None:
        item["title"] = title
    if detail is not None:
        item["detail"] = detail
    item.update(extra)
    return item


def problem(status: int, detail: str | None = None, **extra: Any) -> ApiError:
    """An `ApiError` holding one JSON:API error object with the usual title."""
    return ApiError(status, [error_object(status, detail, **extra)])


def bad_parameter(name: str, detail: str) -> ApiError:
    """A 400 for a query or path parameter, naming it."""
    return problem(400, f"{name}: {detail}", source={"parameter": name})


#: The HTTP status of each kind of refused service request (the most specific class wins).
STATUSES: dict[type[ServiceError], int] = {
    ServiceError: 400,
    InvalidRequestError: 400,
    UnknownIndexError: 400,
    NotFoundError: 404,
    ConflictError: 409,
    UnavailableError: 503,
}


def status_of(exc: ServiceError) -> int:
    """The HTTP status a refused service request answers with (the one place that decides it)."""
    return next(STATUSES[kind] for kind in type(exc).__mro__ if kind in STATUSES)


def service_error(exc: ServiceError) -> ApiError:
    """The generic body of a refused service request (routes map the endpoint-specific ones)."""
    if isinstance(exc, UnknownIndexError):
        return ApiError(status_of(exc), [str(exc)])
    return problem(status_of(exc), str(exc))


# --- readable validation messages ----------------------------------------------------------------


def _location(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        kind = parts.pop(0)
        if not parts:
            return BODY if kind == "body" else kind
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(error: Mapping[str, Any]) -> str:
    """One pydantic/FastAPI validation error as `where: what is wrong`."""
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    where = _location(loc)
    if kind == "json_invalid":
        ctx = error.get("ctx") or {}
        at = f" (at character {loc[1] + 1})" if len(loc) > 1 and isinstance(loc[1], int) else ""
        return f"{BODY} is not valid JSON: {ctx.get('error', 'decode error')}{at}"
    text = _problem(kind, error, raw=bool(loc) and loc[0] in ("query", "path", "header"))
    return f"{where} {text}" if where == BODY else f"{where}: {text}"


def _problem(kind: str, error: Mapping[str, Any], *, raw: bool) -> str:
    given = error.get("input")
    shown = str(given) if raw and isinstance(given, str) else _shown(given)
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')} (got {shown})"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        if isinstance(given, bytes | bytearray):
            return "must be a JSON object sent with Content-Type: application/json"
        return f"must be a JSON object (got {json_type(given)})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer (got {shown})"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false (got {shown})"
    if kind in ("string_type", "str_type"):
        return f"must be a string (got {json_type(given)})"
    if kind == "list_type":
        return f"must be an array (got {json_type(given)})"
    for bound, words in (
        ("less_than_equal", "at most {le}"),
        ("greater_than_equal", "at least {ge}"),
        ("less_than", "less than {lt}"),
        ("greater_than", "greater than {gt}"),
    ):
        if kind == bound:
            return f"must be {words.format(**ctx)} (got {shown})"
    return str(error.get("msg", "is invalid"))


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> str:
    """Every validation problem of a request, in one sentence."""
    lines = list(dict.fromkeys(describe(error) for error in errors))
    return "invalid request: " + "; ".join(lines)


# --- handlers -----------------------------------------------------------------------------------


async def _api_error(_request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _service_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, ServiceError)
    if isinstance(exc, StoreUnavailableError):
        log.error(
            "%s %s answered 503: the database at %s refused it (%s)",
            request.method,
            request.url.path,
            exc.url,
            exc.cause,
        )
    return service_error(exc).response()


async def _validation_error(_request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    return problem(400, validation_detail(exc.errors())).response()


async def _http_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        detail = f"no such endpoint: {request.url.path}"
    elif exc.status_code == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail)
    return ApiError(
        exc.status_code, [error_object(exc.status_code, detail)], headers=exc.headers
    ).response()


async def _unexpected(_request: Request, exc: Exception) -> JsonResponse:
    log.error("unexpected error while serving a request", exc_info=exc)
    return problem(500, "internal error; the server log has the details").response()


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of `app` a Datadog-style body."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of a route's error statuses (each a Datadog `{"errors": [...]}`)."""
    schema = {
        "type": "object",
        "properties": {"errors": {"type": "array", "items": {}}},
        "required": ["errors"],
    }
    return {
        status: {
            "description": TITLES.get(status, "Error"),
            "content": {JSON_API: {"schema": schema}, JSON: {"schema": schema}},
        }
        for status in statuses
    }
