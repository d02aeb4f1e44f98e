"""Who is looking at a page, what their keys allow, and the CSRF check of every POST.

A page needs a signed-in session; the keys it holds are checked again on every request, exactly
as the API checks them (`Authenticator.caller`, the same function, with the same scopes), so a
deleted key signs its sessions out and a key without a scope is refused the pages and actions
that need it, whatever the browser sends. `Viewer.can(scope)` decides which buttons a page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from engine.api.auth import (
    RULES_READ,
    RULES_WRITE,
    SIGNALS_READ,
    SIGNALS_WRITE,
    Authenticator,
)
from engine.api.errors import ApiError
from engine.service.rules import Caller
from engine.store.keys import KeyStore
from engine.web.sessions import CSRF_FIELD, CSRF_HEADER, Session, session_of

__all__ = [
    "RULES_READ",
    "RULES_WRITE",
    "SIGNALS_READ",
    "SIGNALS_WRITE",
    "CsrfError",
    "MissingScopeError",
    "Posting",
    "SignInRequiredError",
    "Viewer",
    "Viewing",
    "check_csrf",
    "viewer_of",
]

SCOPE_WORDS: dict[str, str] = {
    RULES_READ: "read rules and jobs",
    RULES_WRITE: "run, cancel and delete jobs, and create, edit and delete rules",
    SIGNALS_READ: "read job results and signals",
    SIGNALS_WRITE: "convert job results to signals",
}


class SignInRequiredError(Exception):
    """No (valid) keys: the key page, then back to `next_url`."""

    def __init__(self, next_url: str, reason: str | None = None) -> None:
        self.next_url = next_url
        self.reason = reason
        super().__init__(reason or "sign in required")


class MissingScopeError(Exception):
    """The keys lack the scope an action or page needs (403)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__(f"this application key lacks the scope {scope}")

    @property
    def explanation(self) -> str:
        """What the missing scope would allow."""
        return f"It is needed to {SCOPE_WORDS.get(self.scope, 'do this')}."


class CsrfError(Exception):
    """A POST without this session's CSRF token (403)."""


@dataclass(frozen=True)
class Viewer:
    """A signed-in user: their session, their key's name and scopes."""

    session: Session
    name: str
    scopes: tuple[str, ...]
    authenticator: Authenticator

    def can(self, scope: str) -> bool:
        """Whether the key holds `scope` (decides which actions a page offers)."""
        return scope in self.scopes

    def require(self, scope: str) -> Caller:
        """The caller for an action needing `scope`, checked as the API checks it."""
        try:
            return self.authenticator.caller(
                self.session.api_key, self.session.application_key, scope
            )
        except ApiError:
            raise MissingScopeError(scope) from None


def _here(request: Request) -> str:
    url = request.url.path
    return url + ("?" + request.url.query if request.url.query else "")


def viewer_of(request: Request) -> Viewer:
    """The signed-in viewer of a request; `SignInRequiredError` when there is none."""
    session = session_of(request)
    if session is None or not session.signed_in:
        raise SignInRequiredError(_here(request))
    keys = request.app.state.keys
    assert isinstance(keys, KeyStore)
    found = keys.application_key(session.application_key)
    if found is None or not keys.api_key_valid(session.api_key):
        session.api_key = session.application_key = ""  # signed out, the session kept for a flash
        raise SignInRequiredError(_here(request), "Your keys are no longer valid: give them again.")
    return Viewer(session, found.name, found.scopes, Authenticator(keys))


async def check_csrf(request: Request, session: Session | None) -> None:
    """Refuse a POST that does not carry the session's CSRF token (form field or header)."""
    if session is None:
        raise CsrfError
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not session.csrf_valid(token):
        raise CsrfError


def sign_in_url(next_url: str) -> str:
    """The key page, returning to `next_url` afterwards."""
    return "/keys?next=" + quote(next_url, safe="/")


def safe_next(next_url: str | None) -> str:
    """A local path to go back to after signing in (anything else: the rules page)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//"):
        return "/rules"
    if "\\" in next_url or next_url.startswith("/keys/"):
        return "/rules"
    return next_url


def _viewing(request: Request) -> Viewer:
    return viewer_of(request)


async def _posting(request: Request) -> Viewer:
    viewer = await run_in_threadpool(viewer_of, request)
    await check_csrf(request, viewer.session)
    return viewer


#: A page's signed-in viewer (a route parameter).
Viewing = Annotated[Viewer, Depends(_viewing)]
#: The viewer of a form POST, its CSRF token checked (a route parameter).
Posting = Annotated[Viewer, Depends(_posting)]
