"""`hindsight serve`, `hindsight keys create` and `hindsight convert`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.cli import main
from engine.service.jobs import JobService
from engine.service.settings import ServiceSettings
from engine.store import connect
from engine.store.keys import KeyStore
from tests.conftest import REPO
from tests.live import free_port


def test_keys_create_prints_json_and_stores_the_scopes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(tmp_path / "k.db")
    args = [
        "keys",
        "create",
        "--db",
        database,
        "--name",
        "ci",
        "--json",
        "--scopes",
        "security_monitoring_signals_read,security_monitoring_rules_read",
    ]
    assert main(args) == 0
    pair = json.loads(capsys.readouterr().out)
    keys = KeyStore(connect(database))
    assert keys.api_key_valid(pair["api_key"])
    assert keys.application_scopes(pair["application_key"]) == (
        "security_monitoring_signals_read",
        "security_monitoring_rules_read",
    )


def test_keys_create_rejects_unknown_scopes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["keys", "create", "--db", str(tmp_path / "k.db"), "--scopes", "admin"])
    assert code == 2
    assert "unknown scope(s) admin" in capsys.readouterr().err


def test_convert_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = str(tmp_path / "c.db")
    settings = ServiceSettings(
        archive=REPO / "sample_logs" / "archive", database=database, rules=REPO / "rules"
    )
    service = JobService(settings)
    try:
        record = service.submit(
            {
                "fromRule": {
                    "id": "okta-password-spray",
                    "from": 1709510400000,
                    "to": 1710115200000,
                    "index": "main",
                }
            }
        )
        service.runner.wait(record.id, 60)
        (result,) = service.results(record.id)
    finally:
        service.close()
    args = [
        "convert",
        result.id,
        "--db",
        database,
        "--severity",
        "high",
        "--message",
        "Spray confirmed",
        "--notify",
        "@slack-soc",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(rf"{result.id} -> signal sig-[0-9a-f]+ \(high\)\n", out)
    assert main(["convert", "nope", "--db", database, "--severity", "high", "--message", "m"]) == 2
    assert "job result nope was not found" in capsys.readouterr().err


def test_serve_creates_a_first_key_pair_once_and_answers_with_it(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "serve.db"
    command = [
        sys.executable,
        "-m",
        "engine.cli",
        "serve",
        "--archive",
        str(REPO / "sample_logs" / "archive"),
        "--db",
        str(database),
        "--port",
        str(port),
    ]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        lines = [first.stderr.readline() for _ in range(3)] if first.stderr else []
        assert lines[0].startswith("No API keys yet: created a key pair")
        api_key = lines[1].split()[-1]
        application_key = lines[2].split()[-1]
        headers = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": application_key}
        url = f"http://127.0.0.1:{port}/api/v2/siem-historical-detections/jobs"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(url, headers=headers, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert answer.status_code == 200
        assert answer.json() == {"data": [], "meta": {"totalCount": 0}}
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
    assert KeyStore(connect(database)).count() == 2  # one pair, created once
    again = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        line = again.stderr.readline() if again.stderr else ""
        assert "No API keys yet" not in line
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(timeout=30)


def test_serve_refuses_a_read_only_database_without_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.db"
    connect(path).close()
    database = f"sqlite:///file:{path}?mode=ro&uri=true"
    archive = str(REPO / "sample_logs" / "archive")
    assert main(["serve", "--archive", archive, "--db", database]) == 2
    assert capsys.readouterr().err == (
        f"error: the database at file:{path} is read-only; jobs cannot be stored "
        "(attempt to write a readonly database), nor API keys created\n"
    )
