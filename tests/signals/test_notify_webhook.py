"""Webhook delivery against a local HTTP receiver on 127.0.0.1 (started and stopped per test)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from types import MappingProxyType
from typing import Any

import pytest

from engine.notify import Delivery, NotificationSettings, Notifier

NOW = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
PAYLOAD: dict[str, Any] = {
    "id": "AQAAAYxyz",
    "type": "signal",
    "attributes": {
        "status": "high",
        "tags": ["env:prod", "source:auth"],
        "count": 4,
        "ratio": 0.25,
        "missing": None,
        "title": "Brute force on ü ✓",
    },
}
HANG_SECONDS = 5.0  # how long a "slow" receiver would hold a response (released at teardown)


@dataclass(frozen=True)
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: bool = False


@dataclass(frozen=True)
class Request:
    """One request the receiver got (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    """Answers POSTs with a scripted list of replies (the last one repeats) and records them."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies = list(replies)
        self.requests: list[Request] = []
        self.release = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/soc?team=sec"

    def next_reply(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver
    disable_nagle_algorithm = True  # small replies go out at once

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.next_reply(Request("POST", self.path, headers, body))
        if reply.hang:
            self.server.release.wait(HANG_SECONDS)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting (a timeout test): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


@contextmanager
def receiver(*replies: Reply) -> Iterator[Receiver]:
    server = Receiver(list(replies) or [Reply()])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    max_attempts: int = 4,
    timeout: float = 5.0,
) -> tuple[list[Delivery], list[float]]:
    """Notify `@webhook-soc` at `url`; the deliveries and the delays the notifier asked for."""
    settings = NotificationSettings.model_validate(
        {
            "webhooks": {"soc": {"url": url, "headers": headers or {}, "timeout_seconds": timeout}},
            "max_attempts": max_attempts,
        }
    )
    sleeps: list[float] = []
    notifier = Notifier(settings, sleep=sleeps.append, clock=lambda: NOW)
    deliveries = notifier.notify(["@webhook-soc"], PAYLOAD, subject="unused", text="unused")
    return deliveries, sleeps


def summary(deliveries: list[Delivery]) -> list[tuple[int, str, int | None]]:
    return [(d.attempt, d.outcome, d.status_code) for d in deliveries]


@pytest.mark.parametrize("status", [200, 201, 202, 204], ids=lambda s: f"http-{s}")
def test_delivered_on_2xx_with_the_exact_json_body_and_headers(status: int) -> None:
    with receiver(Reply(status)) as server:
        deliveries, sleeps = run(server.url, headers={"Authorization": "Bearer s3cret"})
    assert deliveries == [
        Delivery("@webhook-soc", "webhook", 1, "delivered", status, "", NOW),
    ]
    assert sleeps == []
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/hooks/soc?team=sec")
    assert json.loads(request.body) == PAYLOAD
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"hindsight/{metadata.version('hindsight')}"
    assert request.headers["authorization"] == "Bearer s3cret"


def test_configured_header_replaces_a_default() -> None:
    with receiver() as server:
        run(server.url, headers={"content-type": "application/vnd.soc+json"})
    (request,) = server.requests
    assert request.headers["content-type"] == "application/vnd.soc+json"


def test_fails_then_succeeds_with_doubling_backoff() -> None:
    with receiver(Reply(503), Reply(503), Reply(200)) as server:
        deliveries, sleeps = run(server.url)
    assert summary(deliveries) == [(1, "failed", 503), (2, "failed", 503), (3, "delivered", 200)]
    assert deliveries[0].detail == "HTTP 503 Service Unavailable"
    assert deliveries[2].detail == ""
    assert sleeps == [0.5, 1.0]
    assert len(server.requests) == 3
    assert all(json.loads(r.body) == PAYLOAD for r in server.requests)


@pytest.mark.parametrize(
    ("status", "retry_after", "delay"),
    [
        pytest.param(429, "3", 3.0, id="429-seconds"),
        pytest.param(503, "2", 2.0, id="503-seconds"),
        pytest.param(429, "0", 0.5, id="never-shorter-than-backoff"),
        pytest.param(429, "3600", 30.0, id="capped"),
        pytest.param(429, "Mon, 01 Jan 2024 00:00:07 GMT", 7.0, id="http-date"),
        pytest.param(429, "soon", 0.5, id="unreadable-ignored"),
        pytest.param(500, "9", 0.5, id="ignored-on-500"),
    ],
)
def test_retry_after_is_honoured(status: int, retry_after: str, delay: float) -> None:
    with receiver(Reply(status, {"Retry-After": retry_after}), Reply(200)) as server:
        deliveries, sleeps = run(server.url)
    assert summary(deliveries) == [(1, "failed", status), (2, "delivered", 200)]
    assert sleeps == [delay]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408], ids=lambda s: f"http-{s}")
def test_retryable_statuses_are_retried_up_to_max_attempts(status: int) -> None:
    with receiver(Reply(status)) as server:
        deliveries, sleeps = run(server.url, max_attempts=3)
    assert summary(deliveries) == [
        (1, "failed", status),
        (2, "failed", status),
        (3, "failed", status),
    ]
    assert sleeps == [0.5, 1.0]
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        pytest.param(
            Reply(400, body=b'{"error": "bad"}'), 'HTTP 400 Bad Request: {"error": "bad"}', id="400"
        ),
        pytest.param(Reply(401), "HTTP 401 Unauthorized", id="401"),
        pytest.param(Reply(403), "HTTP 403 Forbidden", id="403"),
        pytest.param(
            Reply(404, body=b"no\nsuch   hook"), "HTTP 404 Not Found: no such hook", id="404"
        ),
        pytest.param(Reply(410), "HTTP 410 Gone", id="410"),
        pytest.param(
            Reply(302, {"Location": "http://127.0.0.1:1/"}),
            "HTTP 302 Found (redirects are not followed)",
            id="302-redirect",
        ),
        pytest.param(
            Reply(422, body=b"x" * 1000),
            "HTTP 422 Unprocessable Entity: " + "x" * 200 + "…",
            id="long-body",
        ),
    ],
)
def test_permanent_failure_is_not_retried(reply: Reply, detail: str) -> None:
    with receiver(reply, Reply(200)) as server:
        deliveries, sleeps = run(server.url)
    assert deliveries == [
        Delivery("@webhook-soc", "webhook", 1, "failed", reply.status, detail, NOW),
    ]
    assert sleeps == []
    assert len(server.requests) == 1


def test_connection_refused_is_retried_then_failed() -> None:
    deliveries, sleeps = run(f"http://127.0.0.1:{closed_port()}/hook", max_attempts=3)
    assert summary(deliveries) == [(1, "failed", None), (2, "failed", None), (3, "failed", None)]
    assert sleeps == [0.5, 1.0]
    assert all(d.detail.startswith("ConnectError: ") for d in deliveries)
    assert "refused" in deliveries[-1].detail.lower()


def test_timeout_is_retried_then_failed() -> None:
    with receiver(Reply(hang=True)) as server:
        deliveries, sleeps = run(server.url, max_attempts=2, timeout=0.2)
    assert summary(deliveries) == [(1, "failed", None), (2, "failed", None)]
    assert deliveries[0].detail == "timed out after 0.2 s (ReadTimeout)"
    assert sleeps == [0.5]
    assert len(server.requests) == 2


def test_every_attempt_is_stamped_by_the_clock() -> None:
    ticks = iter(NOW + timedelta(seconds=n) for n in range(100))
    with receiver(Reply(503), Reply(200)) as server:
        settings = NotificationSettings.model_validate({"webhooks": {"soc": {"url": server.url}}})
        notifier = Notifier(settings, sleep=lambda _: None, clock=lambda: next(ticks))
        deliveries = notifier.notify(["@webhook-soc"], PAYLOAD, subject="s", text="t")
    assert [d.at for d in deliveries] == [NOW, NOW + timedelta(seconds=1)]
    assert all(d.at.tzinfo is UTC for d in deliveries)


def test_user_agent_falls_back_to_version_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    with receiver() as server:
        run(server.url)
    assert server.requests[0].headers["user-agent"] == "hindsight/0"


def test_datetimes_sets_mappings_and_int_keys_are_encoded() -> None:
    payload: dict[Any, Any] = {
        "at": datetime(2024, 1, 1, tzinfo=UTC),
        "ids": {"b", "a"},
        7: "seven",
        "labels": MappingProxyType({"team": "sec"}),
    }
    with receiver() as server:
        settings = NotificationSettings.model_validate({"webhooks": {"soc": {"url": server.url}}})
        Notifier(settings, sleep=lambda _: None).notify(
            ["@webhook-soc"], payload, subject="s", text="t"
        )
    assert json.loads(server.requests[0].body) == {
        "at": "2024-01-01T00:00:00+00:00",
        "ids": ["a", "b"],
        "7": "seven",
        "labels": {"team": "sec"},
    }
