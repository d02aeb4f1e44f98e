"""The web app and the server `hindsight serve` runs: the API with the web pages beside it.

`create_server_app` builds the API (`engine.api.create_app`) and mounts the web app at `/` for
every path the API does not own (`/api/...`, `/openapi.json`, `/docs`, `/redoc`): unknown API
paths still get the API's JSON errors, unknown pages a friendly HTML page. The web app has its
own error pages: a missing key sends to the key page, a missing scope or CSRF token is a 403
page, a refused request a 400/404/409 page, and anything unexpected a 500 page that shows no
traceback (the server log has it). Every page answers with security headers (a strict
Content-Security-Policy: scripts and styles only from this server).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import Scope

from engine.api import create_app
from engine.api.errors import status_of, validation_detail
from engine.core.errors import ServiceError
from engine.service.jobs import JobService
from engine.service.settings import ServerSettings
from engine.store.keys import KeyStore
from engine.web import editor, jobs, keys, panel, results, rules, runs, signals
from engine.web.access import (
    CsrfError,
    MissingScopeError,
    SignInRequiredError,
    sign_in_url,
    viewer_of,
)
from engine.web.render import page
from engine.web.sessions import SessionStore, session_of

log = logging.getLogger("hindsight.web")

STATIC = Path(__file__).parent / "static"

#: Paths the API serves; everything else is the web app's.
API_PREFIXES: tuple[str, ...] = ("/api/", "/openapi.json", "/docs", "/redoc")

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

TITLES: dict[int, str] = {
    400: "That request could not be used",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Not possible right now",
    413: "Too large",
    500: "Something went wrong",
}


def create_server_app(service: JobService, keys: KeyStore, settings: ServerSettings) -> FastAPI:
    """The API of `create_app` with the web app mounted at `/`."""
    app = create_app(service, keys, settings)
    app.router.routes.append(WebMount(create_web_app(service, keys)))
    return app


class WebMount(Mount):
    """The web app at `/`, for every path outside `API_PREFIXES`."""

    def __init__(self, web: FastAPI) -> None:
        super().__init__("", app=web, name="web")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """No match for the API's paths (they keep the API's own 404 and 405 answers)."""
        path = str(scope.get("path", ""))
        if any(path == prefix.rstrip("/") or path.startswith(prefix) for prefix in API_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def create_web_app(service: JobService, keys_store: KeyStore) -> FastAPI:
    """The web pages over `service`, authenticating with `keys_store`."""
    web = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    web.state.service = service
    web.state.keys = keys_store
    web.state.sessions = SessionStore()
    web.state.event_counts = panel.EventCounts()
    web.mount("/static", StaticFiles(directory=STATIC), name="static")

    @web.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/rules", status_code=303)

    for module in (keys, editor, rules, runs, jobs, panel, results, signals):  # editor first
        web.include_router(module.router)
    _install_error_pages(web)
    web.middleware("http")(_guard)
    return web


async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Security headers on every response; an unexpected error becomes the friendly 500 page."""
    try:
        response = await call_next(request)
    except Exception:
        log.exception("unexpected error while serving %s", request.url.path)
        response = _error_page(request, 500, "The server log has the details.")
    response.headers.update(SECURITY_HEADERS)
    return response


def _error_page(request: Request, status: int, message: str, *, detail: str = "") -> Response:
    viewer = None
    try:
        viewer = viewer_of(request)
    except Exception:
        viewer = None
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
    context["detail"] = detail
    return page(request, "error.html", context, status=status, viewer=viewer)


def _install_error_pages(web: FastAPI) -> None:
    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequiredError)
        session = session_of(request)
        if session is not None and exc.reason:
            session.flash(exc.reason, "error")
        target = sign_in_url(exc.next_url if request.method == "GET" else "/rules")
        if request.headers.get("HX-Request"):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MissingScopeError)
        message = f"Your application key lacks the scope {exc.scope}. {exc.explanation}"
        return _error_page(request, 403, message)

    async def csrf(request: Request, exc: Exception) -> Response:
        message = (
            "This form did not come from this page or has expired. "
            "Go back, reload the page and try again."
        )
        return _error_page(request, 403, message)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return _error_page(request, status_of(exc), str(exc))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _error_page(request, 400, validation_detail(exc.errors()))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            message = f"There is no page at {request.url.path}."
        elif exc.status_code == 405:
            message = f"{request.url.path} does not answer {request.method} requests."
        else:
            message = str(exc.detail)
        return _error_page(request, exc.status_code, message)

    web.add_exception_handler(SignInRequiredError, sign_in)
    web.add_exception_handler(MissingScopeError, forbidden)
    web.add_exception_handler(CsrfError, csrf)
    web.add_exception_handler(ServiceError, refused)
    web.add_exception_handler(RequestValidationError, invalid)
    web.add_exception_handler(StarletteHTTPException, http_error)
