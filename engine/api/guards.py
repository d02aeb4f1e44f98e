"""Guards a request passes before any lookup: the body size limit and the shape of path ids.

Body limit: bodies over `max_body_bytes` are refused with a 413 Datadog body. A declared
`Content-Length` over the limit is refused before anything is read; otherwise the body is read
(counting the bytes of a streamed, chunked body as they arrive) up to the limit and handed to the
application from memory; one byte too many and the request is refused. The limit is small (1 MiB
by default), so holding an accepted body in memory is fine.

Ids (SPEC §5.1): job ids are UUIDs, anything else is `400 invalid jobId` in the body form of the
endpoint (delete adds `"title":"Generic Error"`). Result, signal and rule ids are opaque but made
of safe characters (letters, digits, `.`, `_`, `:`, `-`, at most 128), so no lookup sees junk.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.errors import ApiError, bad_parameter, error_object, problem

INVALID_JOB_ID = "invalid jobId"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")


def checked_job_id(job_id: str, *, title: str | None = None) -> str:
    """A job id in canonical (lower-case) form; 400 `invalid jobId` when it is not a UUID."""
    if not _UUID.match(job_id):
        raise ApiError(400, [error_object(400, INVALID_JOB_ID, title=title)])
    return job_id.lower()


def checked_id(name: str, value: str) -> str:
    """A result, signal or rule id made of safe characters; a 400 naming `name` otherwise."""
    if not _SAFE_ID.match(value):
        raise bad_parameter(name, f"is not a valid id (got {value[:80]!r})")
    return value


class BodyLimit:
    """ASGI middleware enforcing a maximum request body size."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an oversized body with 413, else replay the body to the application."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = problem(
            413, f"the request body exceeds the limit of {self.max_bytes} bytes"
        ).response()
        await error(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
