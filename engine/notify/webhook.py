"""Webhook delivery: one HTTP POST of the JSON payload to a configured `@webhook-NAME` URL.

`post_webhook` makes exactly one attempt and classifies its outcome; retrying is the notifier's job.
A 2xx response is delivered. Network errors, timeouts, 408, 429 and 5xx are retryable (with the
receiver's `Retry-After` on 429/503); every other status (other 4xx, and 1xx/3xx, since redirects
are not followed) is a final failure.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.notify.targets import Attempt

__all__ = ["WebhookConfig", "open_client", "post_webhook", "retry_after_seconds", "user_agent"]

#: Statuses worth retrying besides 5xx.
RETRYABLE_STATUSES = frozenset({408, 429})
#: Statuses whose `Retry-After` header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})
#: How much of a failing response body is kept in the delivery detail.
EXCERPT_CHARS = 200

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[^\r\n\x00]*")


class WebhookConfig(BaseModel):
    """Where `@webhook-NAME` posts: an http(s) URL, extra headers and a per-operation timeout."""

    model_config = ConfigDict(extra="forbid")

    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ValueError(f"not a valid URL: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("the webhook URL must be an http:// or https:// URL with a host")
        return value

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if not _HEADER_VALUE.fullmatch(text):
                raise ValueError(f"the value of header {name!r} contains a line break or NUL")
        return value


def user_agent() -> str:
    """`hindsight/<installed version>`, or `hindsight/0` when the package metadata is missing."""
    try:
        version = metadata.version("hindsight")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"hindsight/{version}"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """The delay a `Retry-After` header asks for (delta-seconds or an HTTP date), if readable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def open_client() -> httpx.Client:
    """The HTTP client one target's attempts share (redirects are not followed; close it after)."""
    return httpx.Client(follow_redirects=False)


def post_webhook(
    client: httpx.Client, config: WebhookConfig, body: bytes, *, agent: str, now: datetime
) -> Attempt:
    """POST `body` (JSON bytes) to the webhook once with `client`; never raises.

    Headers: `Content-Type: application/json` and `User-Agent: <agent>`, then the configured ones
    (a configured header replaces a default of the same name). `now` dates a `Retry-After` given
    as an HTTP date.
    """
    headers = httpx.Headers({"Content-Type": "application/json", "User-Agent": agent})
    for name, value in config.headers.items():
        headers[name] = value
    try:
        with client.stream(
            "POST", config.url, content=body, headers=headers, timeout=config.timeout_seconds
        ) as response:
            return _classify(response, now)
    except httpx.TimeoutException as exc:
        return Attempt(
            delivered=False,
            retryable=True,
            detail=f"timed out after {config.timeout_seconds:g} s ({type(exc).__name__})",
        )
    except httpx.TransportError as exc:
        return Attempt(delivered=False, retryable=True, detail=_describe(exc))
    except Exception as exc:  # never raise for a delivery problem
        return Attempt(delivered=False, retryable=False, detail=_describe(exc))


def _classify(response: httpx.Response, now: datetime) -> Attempt:
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(delivered=True, status_code=status)
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    detail = f"HTTP {status} {response.reason_phrase}".rstrip()
    if 300 <= status < 400:
        detail += " (redirects are not followed)"
    excerpt = _excerpt(response)
    if excerpt:
        detail += f": {excerpt}"
    retry_after = None
    if status in RETRY_AFTER_STATUSES:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), now)
    return Attempt(
        delivered=False,
        retryable=retryable,
        status_code=status,
        detail=detail,
        retry_after=retry_after,
    )


def _excerpt(response: httpx.Response) -> str:
    """The start of a failing response's body, on one line (empty if it cannot be read)."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= EXCERPT_CHARS * 4:
                break
    except httpx.HTTPError:
        pass
    text = b"".join(chunks).decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def _describe(exc: Exception) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
