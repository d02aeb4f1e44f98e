"""Request bodies as the API accepts them: bounded in size, depth and values before any model.

Every check runs after the keys are checked (`ScopedRoute`), so a caller without valid keys
learns nothing about the limits:

- size: a declared `Content-Length` over `max_body_bytes` is refused before anything is read;
  otherwise the body is counted as it arrives (a streamed, chunked body too) and one byte too
  many is refused. Both answer 413.
- content: a JSON body may nest at most `MAX_JSON_DEPTH` levels, every integer must fit a signed
  64-bit integer, every number must be finite, and every string and member name must be valid
  Unicode (a `\\ud800` escape decodes to a lone surrogate, which no store or encoder accepts).
  Anything else is a 400 naming the field, before pydantic, the job service or the store sees it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.errors import ApiError, problem
from engine.rules.problems import json_path

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: How deep a JSON body may nest (a job request needs about 8 levels).
MAX_JSON_DEPTH = 64

Path = tuple[str | int, ...]
#: How much of a field's path a message shows (the pointer has it all).
SHOWN_PARTS = 12


class BodyTooLargeError(Exception):
    """Raised while reading a request body that exceeds the limit."""


class BodyLimit:
    """ASGI middleware counting the body bytes the application reads.

    It refuses nothing itself: reading past `max_bytes` raises `BodyTooLargeError`, which the route
    answers with 413 (after authenticating the caller).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a counting `receive`."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_bytes:
                    raise BodyTooLargeError
            return message

        await self.app(scope, counted, send)


def too_large(max_bytes: int) -> ApiError:
    """The 413 of a body over the limit."""
    return problem(413, f"the request body exceeds the limit of {max_bytes} bytes")


async def checked_body(request: Request, max_bytes: int) -> None:
    """Read the body within `max_bytes` and check its JSON (413 / 400 `ApiError`s).

    The body and its parsed JSON stay cached on the request, so the route reads them for free.
    A body that is not JSON at all is left to the route's own validation (a readable 400).
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    try:
        body = await request.body()
    except BodyTooLargeError:
        raise too_large(max_bytes) from None
    if not body.strip():
        return
    try:
        value = await request.json()
    except RecursionError:
        raise bad_body((), f"is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError:  # not JSON (or not UTF-8): the route's validation says so
        return
    found = json_problem(value)
    if found is not None:
        raise bad_body(*found)


def json_problem(value: Any) -> tuple[Path, str] | None:
    """A value the API refuses, with its path and the reason (None when all is well).

    Scalars are checked where they stand; only containers are visited in turn, so a flat list
    of half a million numbers costs one pass.
    """
    if not isinstance(value, dict | list):
        problem = _scalar_problem(value)
        return None if problem is None else ((), problem)
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if len(path) >= MAX_JSON_DEPTH:
            return path, f"is nested more than {MAX_JSON_DEPTH} levels deep"
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        nested: list[tuple[Path, Any]] = []
        for key, child in pairs:
            if isinstance(key, str) and not valid_text(key):
                shown = key.encode("utf-8", "backslashreplace").decode()
                return (*path, shown), "is a name that is not valid Unicode (lone surrogate)"
            if isinstance(child, dict | list):
                nested.append(((*path, key), child))
            elif (problem := _scalar_problem(child)) is not None:
                return (*path, key), problem
        stack.extend(reversed(nested))
    return None


def _scalar_problem(value: Any) -> str | None:
    """Why the API refuses a JSON scalar (None for containers and acceptable scalars)."""
    if isinstance(value, str):
        if not valid_text(value):
            return "is not valid Unicode (it holds a lone surrogate such as \\ud800)"
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return f"{value} is out of range: integers must fit in 64 bits (signed)"
    elif isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number (got {json.dumps(value)})"
    return None


def valid_text(text: str) -> bool:
    """Whether `text` is valid Unicode (encodable as UTF-8: no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bad_body(path: Sequence[str | int], reason: str) -> ApiError:
    """A 400 naming the body field at `path` (JSON:API `source.pointer`; long paths shortened)."""
    shown = json_path(tuple(path[:SHOWN_PARTS])) + ("..." if len(path) > SHOWN_PARTS else "")
    where = shown or "the request body"
    pointer = "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)
    return problem(400, f"invalid request: {where}: {reason}", source={"pointer": pointer or "/"})
