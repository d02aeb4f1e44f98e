"""The key page: give an API key and an application key once; sign out.

The keys are checked as the API checks them and kept in a server-side session (see `sessions`);
the browser keeps only the session cookie. The sign-in form carries the CSRF token of an
anonymous session made when the page is shown, so a foreign page cannot sign a browser in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from engine.store.keys import KeyStore
from engine.web.access import CsrfError, check_csrf, safe_next, viewer_of
from engine.web.render import page
from engine.web.sessions import Session, SessionStore, clear_cookie, session_of, set_cookie

router = APIRouter(include_in_schema=False)

INVALID_KEYS = "These keys are not valid: check both of them and try again."


def _sessions(request: Request) -> SessionStore:
    store = request.app.state.sessions
    assert isinstance(store, SessionStore)
    return store


def _key_page(
    request: Request, session: Session, *, next_url: str, error: str = "", status: int = 200
) -> Response:
    viewer = None
    if session.signed_in:
        try:
            viewer = viewer_of(request)
        except Exception:
            viewer = None
    context = {"next_url": next_url, "error": error}
    response = page(request, "keys.html", context, status=status, viewer=viewer, session=session)
    set_cookie(response, request, session)
    return response


@router.get("/keys")
def key_page(request: Request, next: str | None = None) -> Response:
    """The form asking for the keys (and who is signed in, if anyone)."""
    session = session_of(request) or _sessions(request).new()
    return _key_page(request, session, next_url=safe_next(next))


@router.post("/keys")
async def sign_in(
    request: Request,
    api_key: Annotated[str, Form()] = "",
    application_key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/rules",
) -> Response:
    """Check the keys; on success, a new signed-in session and back to `next`."""
    current = session_of(request)
    try:
        await check_csrf(request, current)
    except CsrfError:
        fresh = _sessions(request).new()
        fresh.flash("The form had expired: give your keys again.", "error")
        return _key_page(request, fresh, next_url=safe_next(next), status=403)
    assert current is not None
    keys = request.app.state.keys
    assert isinstance(keys, KeyStore)
    api_key, application_key = api_key.strip(), application_key.strip()
    found = await run_in_threadpool(keys.application_key, application_key)
    valid = await run_in_threadpool(keys.api_key_valid, api_key)
    if not api_key or not application_key or found is None or not valid:
        return _key_page(request, current, next_url=safe_next(next), error=INVALID_KEYS, status=403)
    _sessions(request).drop(current.id)
    session = _sessions(request).new(api_key=api_key, application_key=application_key)
    session.flash(f"Signed in with the key {found.name!r}.", "success")
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, session)
    return response


@router.post("/keys/forget")
async def sign_out(request: Request) -> Response:
    """Forget the session's keys."""
    session = session_of(request)
    await check_csrf(request, session)
    assert session is not None
    _sessions(request).drop(session.id)
    response = RedirectResponse("/keys", status_code=303)
    clear_cookie(response, request)
    return response
