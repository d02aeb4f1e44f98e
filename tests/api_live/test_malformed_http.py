"""Requests that are not valid HTTP/1.1, sent over a socket to a live server (as `serve` runs it).

They never reach the application; the server's protocol still answers each with a 400 Datadog
error body (stock uvicorn answers a plain-text 400).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from engine.api.protocol import INVALID_HTTP
from engine.service.settings import ServerSettings
from tests.conftest import REPO
from tests.live import LiveServer, live_server

JOBS = "/api/v2/siem-historical-detections/jobs"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = Path(tmp_path_factory.mktemp("raw")) / "hindsight.db"
    settings = ServerSettings(archive=REPO / "sample_logs" / "archive", database=str(database))
    with live_server(settings) as running:
        yield running


def exchange(server: LiveServer, raw: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        f"POST {JOBS} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".encode(),
        f"POST {JOBS} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n".encode(),
    ],
    ids=[
        "not-a-request-line",
        "non-ascii-target",
        "header-without-colon",
        "no-host",
        "bad-content-length",
        "bad-chunk-size",
    ],
)
def test_malformed_http_gets_a_400_datadog_body(server: LiveServer, raw: bytes) -> None:
    head, _, body = exchange(server, raw).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert "content-type: application/vnd.api+json" in lines
    assert "connection: close" in lines
    assert json.loads(body) == {
        "errors": [{"status": "400", "title": "Bad Request", "detail": INVALID_HTTP}]
    }


def test_a_valid_request_on_the_same_server_is_answered(server: LiveServer) -> None:
    raw = f"GET {JOBS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    head, _, body = exchange(server, raw).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ")
    assert json.loads(body) == {"errors": ["Forbidden"]}
