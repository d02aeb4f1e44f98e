"""Server-side sessions of the web app: the keys a user gave, a CSRF token, and flash messages.

The browser only holds an opaque random session id, in an `HttpOnly`, `SameSite=Strict` cookie
(`Secure` too when the page was served over HTTPS). The keys stay in this process's memory (never
on disk, never in a page): a server restart signs every user out. Each session carries its own
CSRF token, which every form and every htmx request sends back (`csrf_token` field or
`X-CSRF-Token` header). Signing in replaces the session (a new id), so a session id planted before
sign-in is worthless. Sessions expire after `IDLE_SECONDS` without a request; the store keeps at
most `MAX_SESSIONS` (the least recently used are dropped first).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from fastapi import Request, Response

COOKIE = "hindsight_session"
IDLE_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class Session:
    """One browser's session; `api_key` and `application_key` are empty until it signs in."""

    id: str
    csrf_token: str
    api_key: str = ""
    application_key: str = ""
    last_seen: float = field(default_factory=time.monotonic)
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        """Whether keys were given (they are checked again on every request)."""
        return bool(self.api_key and self.application_key)

    def flash(self, message: str, kind: str = "info") -> None:
        """A message shown once, on the next page rendered (`info`, `success` or `error`)."""
        self.flashes.append((kind, message))

    def take_flashes(self) -> list[tuple[str, str]]:
        """The pending messages, cleared."""
        taken, self.flashes = self.flashes, []
        return taken

    def csrf_valid(self, token: str | None) -> bool:
        """Whether `token` is this session's CSRF token (compared in constant time)."""
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token)


class SessionStore:
    """The sessions of one web app, in memory (thread-safe)."""

    def __init__(
        self, *, idle_seconds: float = IDLE_SECONDS, max_sessions: int = MAX_SESSIONS
    ) -> None:
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def new(self, *, api_key: str = "", application_key: str = "") -> Session:
        """A new session (with a fresh id and CSRF token)."""
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            api_key=api_key,
            application_key=application_key,
        )
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle clock restarts), else None."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle_seconds:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            self._sessions.move_to_end(session_id)
            return session

    def drop(self, session_id: str) -> None:
        """Forget a session (sign out)."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def session_of(request: Request) -> Session | None:
    """The session the request's cookie names, if it is live."""
    store = request.app.state.sessions
    assert isinstance(store, SessionStore)
    return store.get(request.cookies.get(COOKIE))


def set_cookie(response: Response, request: Request, session: Session) -> None:
    """Point the browser at `session` (HttpOnly, SameSite=Strict, Secure over HTTPS)."""
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_cookie(response: Response, request: Request) -> None:
    """Tell the browser to forget its session id."""
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
