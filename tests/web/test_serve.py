"""`hindsight serve` serves the web app at `/` beside the API, and says where."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live import free_port
from tests.web.conftest import RULES, SAMPLE_ARCHIVE


def test_hindsight_serve_serves_the_pages_and_says_where(tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "engine.cli",
        "serve",
        "--archive",
        str(SAMPLE_ARCHIVE),
        "--rules",
        str(RULES),
        "--db",
        str(tmp_path / "serve.db"),
        "--port",
        str(port),
    ]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        lines = [server.stderr.readline() for _ in range(4)] if server.stderr else []
        assert lines[3].strip() == f"Web app: http://127.0.0.1:{port}/  (API docs: /docs)"
        deadline = time.monotonic() + 30
        while True:
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert (home.status_code, home.headers["location"]) == (303, "/rules")
        keys = httpx.get(f"http://127.0.0.1:{port}/keys", timeout=5)
        assert keys.status_code == 200 and 'name="application_key"' in keys.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/app.css", timeout=5).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
