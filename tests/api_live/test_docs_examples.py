"""docs/api.md's examples, run as they are against a live server over the bundled sample archive."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from engine.notify import NotificationSettings, WebhookConfig
from engine.service.settings import ServerSettings
from tests.conftest import REPO
from tests.live import LiveServer, Receiver, live_server, webhook_receiver

DOC = REPO / "docs" / "api.md"
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.DOTALL)


def blocks(language: str) -> list[str]:
    """The doc's code blocks of one language that talk to a server (they use HINDSIGHT_URL)."""
    found = [body for kind, body in BLOCK.findall(DOC.read_text()) if kind == language]
    return [body for body in found if "HINDSIGHT_URL" in body or "$API" in body]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[LiveServer]:
    settings = ServerSettings(
        archive=REPO / "sample_logs" / "archive",
        rules=REPO / "rules",
        database=str(tmp_path_factory.mktemp("docs") / "hindsight.db"),
        notifications=NotificationSettings(webhooks={"soc": WebhookConfig(url=receiver.url)}),
    )
    with live_server(settings) as running:
        yield running


def environment(server: LiveServer) -> dict[str, str]:
    return {
        **os.environ,
        "HINDSIGHT_URL": server.url,
        "DD_API_KEY": server.keys.api_key,
        "DD_APP_KEY": server.keys.application_key,
    }


def test_the_curl_session_runs(server: LiveServer, receiver: Receiver) -> None:
    script = "set -euo pipefail\n" + "\n".join(blocks("sh"))
    done = subprocess.run(
        ["bash", "-c", script],
        env=environment(server),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("job ")
    assert lines[1] == "['Okta brute force']"
    assert lines[2] == "{'@usr.email': 'emma.larsen@example.com'}"
    assert lines[3] == "1"
    assert lines[4] == "['%%%\\nConfirmed brute force\\n%%%']"
    assert lines[5:8] == [
        "409",
        "204",
        '{"errors":[{"status":"404","title":"Not Found",'
        f'"detail":"Job {lines[0][4:]} was not found."}}]}}',
    ]
    assert lines[8] == "1"
    server.service.deliveries.join()  # notifications go out in the background
    signal_posts = [r for r in receiver.requests if r.get("event") == "signal"]
    job_posts = [r for r in receiver.requests if r.get("event") == "historical_job_finished"]
    assert len(signal_posts) == 1 and len(job_posts) == 1


def test_the_client_session_prints_what_the_doc_says(server: LiveServer) -> None:
    (program,) = blocks("python")
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", program],
        env=environment(server),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    after = DOC.read_text().split(program, 1)[1]
    printed = re.search(r"prints\n\n```\n(.*?)```", after, re.DOTALL)
    assert printed is not None, "the doc shows what the program prints"
    assert done.stdout == printed.group(1)
