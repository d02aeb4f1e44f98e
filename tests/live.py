"""A real `hindsight serve` (API and web app) on a loopback port, in a thread, for HTTP tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn

from engine.api.protocol import DatadogH11Protocol
from engine.service.jobs import JobService
from engine.service.settings import ServerSettings
from engine.store.keys import KeyPair, KeyStore
from engine.web import create_server_app


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """A running server: its base URL, a key pair, and the service behind it."""

    url: str
    keys: KeyPair
    service: JobService

    def headers(self) -> dict[str, str]:
        """The authentication headers of the key pair."""
        return {"DD-API-KEY": self.keys.api_key, "DD-APPLICATION-KEY": self.keys.application_key}


@contextmanager
def live_server(settings: ServerSettings) -> Iterator[LiveServer]:
    """Start the API on a free loopback port; stop it (and its jobs) on exit."""
    port = free_port()
    service = JobService(settings)
    keys = KeyStore(service.db)
    pair = keys.create(name="tester")
    app = create_server_app(service, keys, settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            http=DatadogH11Protocol,  # as `hindsight serve` runs it
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", pair, service)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        service.close()


@dataclass
class Receiver:
    """A local webhook receiver: answers with the statuses given, records every request."""

    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@contextmanager
def webhook_receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    """An HTTP receiver on 127.0.0.1 that records JSON posts; stopped on exit."""
    receiver = Receiver(statuses=list(statuses or [200]))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            receiver.requests.append(json.loads(self.rfile.read(length)))
            status = (
                receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
            )
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
