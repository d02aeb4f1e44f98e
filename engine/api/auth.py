"""Authentication and permissions: `DD-API-KEY` + `DD-APPLICATION-KEY` and Datadog scopes.

Every API route declares the scope it needs with `scoped(...)` (which also documents it in the
OpenAPI document) and uses `ScopedRoute`, which checks the keys *before* the request body is read
or validated: a caller without valid keys learns nothing about the endpoint, not even its body
size limit. Then the body is read within the limit and checked (`engine.api.bodies`). Missing or
unknown keys answer 403 `{"errors":["Forbidden"]}`; a key without the scope answers 403 naming
the scope. The caller a job records (`createdByHandle` / `createdByName`) is the application
key's name.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from engine.api.bodies import checked_body
from engine.api.errors import ApiError
from engine.service.rules import Caller
from engine.store.keys import KeyStore

RULES_READ = "security_monitoring_rules_read"
RULES_WRITE = "security_monitoring_rules_write"
SIGNALS_READ = "security_monitoring_signals_read"
SIGNALS_WRITE = "security_monitoring_signals_write"

API_KEY_HEADER = "DD-API-KEY"
APPLICATION_KEY_HEADER = "DD-APPLICATION-KEY"

#: OpenAPI extension naming the scope a route needs (read back by `ScopedRoute`).
SCOPE_EXTENSION = "x-required-scope"

#: OpenAPI security schemes (the names the official clients use).
SECURITY_SCHEMES: dict[str, Any] = {
    "apiKeyAuth": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
    "appKeyAuth": {"type": "apiKey", "in": "header", "name": APPLICATION_KEY_HEADER},
}

FORBIDDEN = "Forbidden"


def scoped(scope: str) -> dict[str, Any]:
    """The `openapi_extra` of a route that needs `scope` (and both keys)."""
    return {SCOPE_EXTENSION: scope, "security": [{"apiKeyAuth": [], "appKeyAuth": []}]}


class Authenticator:
    """Checks a request's keys against the key store."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def caller(self, api_key: str | None, application_key: str | None, scope: str) -> Caller:
        """The caller behind valid keys holding `scope`; raises a 403 `ApiError` otherwise."""
        if not api_key or not application_key or not self.keys.api_key_valid(api_key):
            raise ApiError(403, [FORBIDDEN])
        found = self.keys.application_key(application_key)
        if found is None:
            raise ApiError(403, [FORBIDDEN])
        if scope not in found.scopes:
            raise ApiError(403, [f"{FORBIDDEN}: this application key lacks the scope {scope}"])
        return Caller(handle=found.name, name=found.name)


def request_caller(request: Request) -> Caller:
    """The authenticated caller of a request (a dependency for routes that record it)."""
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):  # a route without a scope asked for its caller
        raise ApiError(403, [FORBIDDEN])
    return caller


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ScopedRoute(APIRoute):
    """A route that authenticates before reading the body, when it declares a scope."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler, behind the key and scope check and then the body checks."""
        handler = super().get_route_handler()
        scope = (self.openapi_extra or {}).get(SCOPE_EXTENSION)
        if not isinstance(scope, str):
            return handler
        has_body = self.body_field is not None

        async def authenticated(request: Request) -> Response:
            authenticator = request.app.state.authenticator
            assert isinstance(authenticator, Authenticator)
            request.state.caller = await run_in_threadpool(
                authenticator.caller,
                request.headers.get(API_KEY_HEADER),
                request.headers.get(APPLICATION_KEY_HEADER),
                scope,
            )
            if has_body:
                await checked_body(request, request.app.state.settings.max_body_bytes)
            return await handler(request)

        return authenticated
