"""Fixtures of the API tests: a small archive, a job service with keys, and a test client.

The archive's index `main` holds SPEC TC-1's events (alice fails to log in at T+0, +60, +120,
+180) and 25 background failures of five other users, each user at most once per 2000 s, so rule R1
fires for alice only while the catch-all rule EACH (`a > 0`, W=0, KA=0) gives one result per event
(29). Index `tc16` holds SPEC TC-16's events (alice fails 11 times in 100 s).
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette prefers `httpx2`; the venv has `httpx`
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from engine import ingest
from engine.api import create_app
from engine.service.jobs import JobService
from engine.service.runner import Runner
from engine.service.settings import load_settings
from engine.store.keys import SCOPES, KeyStore
from tests.detect.builders import T, event, query, rule

DAY_MS = 86_400_000
HISTORICAL = "/api/v2/siem-historical-detections"
THREAT_HUNTING = "/api/v2/siem-threat-hunting"
FAMILIES = (HISTORICAL, THREAT_HUNTING)
FAMILY_IDS = ("siem-historical-detections", "siem-threat-hunting")
SIGNALS = "/api/v2/security_monitoring/signals"
RULES = "/api/v2/security_monitoring/rules"
UNKNOWN_JOB = "8e2a37fb-b0c8-4761-a7f0-0a8d6a98ba93"

R1 = rule()
EACH = rule(
    query("@evt.outcome:failure", group_by=[]),
    cases=[{"status": "low", "condition": "a > 0"}],
    window=0,
    keep_alive=0,
    max_duration=0,
    name="EACH",
    tags=["team:secops"],
)
TC1_LOGS = [event(seconds) for seconds in (0, 60, 120, 180)]
BACKGROUND_LOGS = [
    {
        **event(1000 + 400 * i, f"u{i % 5}"),
        "host": f"web-{i % 2}",
        "source": "vpn" if i % 3 == 0 else "auth",
        "message": f"login failed for u{i % 5}",
        "tags": ["env:prod" if i % 2 else "env:dev"],
    }
    for i in range(25)
]
TC16_LOGS = [event(10 * n) for n in range(11)]  # SPEC TC-16: alice x11 in 2 minutes
LIBRARY_RULE_ID = "library-r1"


def definition(
    rule_json: dict[str, Any], *, start: int = T, end: int = T + DAY_MS, index: str = "main"
) -> dict[str, Any]:
    """A `jobDefinition` running `rule_json` over `[start, end)` of `index`."""
    return {**rule_json, "from": start, "to": end, "index": index}


def run_body(job_definition: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    """A `RunHistoricalJobRequest` body."""
    return {
        "data": {
            "type": "historicalDetectionsJobCreate",
            "attributes": {"jobDefinition": job_definition, **attributes},
        }
    }


def from_rule_body(rule_id: str, **options: Any) -> dict[str, Any]:
    """A `RunHistoricalJobRequest` body running a stored rule over the whole archive."""
    from_rule = {"id": rule_id, "from": T, "to": T + DAY_MS, "index": "main", **options}
    return {
        "data": {"type": "historicalDetectionsJobCreate", "attributes": {"fromRule": from_rule}}
    }


def convert_body(result_ids: list[str], severity: str = "critical") -> dict[str, Any]:
    """A `ConvertJobResultsToSignalsRequest` body."""
    return {
        "data": {
            "type": "historicalDetectionsJobResultSignalConversion",
            "attributes": {
                "jobResultIds": result_ids,
                "notifications": [],
                "signalMessage": "Confirmed brute force",
                "signalSeverity": severity,
            },
        }
    }


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The archive of every API test (index `main`)."""
    root = tmp_path_factory.mktemp("api-archive")
    source = root / "logs.ndjson"
    source.write_text("\n".join(json.dumps(item) for item in TC1_LOGS + BACKGROUND_LOGS))
    ingest(source, root / "archive")
    tc16 = root / "tc16.ndjson"
    tc16.write_text("\n".join(json.dumps(item) for item in TC16_LOGS))
    ingest(tc16, root / "archive", index="tc16")
    return root / "archive"


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rule library folder holding R1 as `library-r1`."""
    root = tmp_path_factory.mktemp("api-rules")
    (root / f"{LIBRARY_RULE_ID}.json").write_text(json.dumps(R1))
    return root


@dataclass
class Api:
    """A client of a fresh server, with a key pair holding every scope."""

    client: TestClient
    service: JobService
    keys: KeyStore
    headers: dict[str, str] = field(default_factory=dict)

    def key(self, *scopes: str, name: str = "tester") -> dict[str, str]:
        """Headers of a new key pair named `name` holding `scopes`."""
        pair = self.keys.create(name=name, scopes=scopes)
        return {"DD-API-KEY": pair.api_key, "DD-APPLICATION-KEY": pair.application_key}

    def run(self, body: dict[str, Any], family: str = HISTORICAL, **headers: str) -> str:
        """Submit a job (asserting 201) and return its id."""
        response = self.client.post(f"{family}/jobs", json=body, headers=headers or self.headers)
        assert response.status_code == 201, response.text
        job_id: str = response.json()["data"]["id"]
        return job_id

    def finish(self, job_id: str) -> dict[str, Any]:
        """Wait for a job to end and return its job object."""
        self.service.runner.wait(job_id, 30)
        response = self.client.get(f"{HISTORICAL}/jobs/{job_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()["data"]
        assert job["attributes"]["jobStatus"] in ("completed", "failed", "cancelled"), job
        return job

    def results(self, job_id: str) -> list[dict[str, Any]]:
        """Every histsignal of a job (one page of up to 1000)."""
        response = self.client.get(
            f"{HISTORICAL}/jobs/{job_id}/histsignals",
            params={"page[limit]": 1000},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data


class Hold:
    """Holds a service's jobs: pending until `start()`, then running until `resume()`.

    A held job stops at its first progress report (it is `running` there), so a test can see
    each status and cancel or delete a job in a known state.
    """

    def __init__(self, service: JobService) -> None:
        self.service = service
        self.started = threading.Event()
        self.progressing = threading.Event()
        self.resumed = threading.Event()
        self._report = service.jobs.progress
        service.runner.shutdown()
        service.runner = Runner(self._execute, workers=service.settings.max_concurrent_jobs)
        service.jobs.progress = self._progress  # type: ignore[method-assign]

    def _execute(self, job_id: str, stop: threading.Event) -> None:
        self.started.wait(30)
        self.service.execute(job_id, stop)

    def _progress(self, job_id: str, rate: float) -> None:
        self._report(job_id, rate)
        self.progressing.set()
        self.resumed.wait(30)

    def start(self) -> None:
        """Let held jobs start; returns once one is running (at its first progress report)."""
        self.started.set()
        assert self.progressing.wait(30), "no held job reported progress"

    def release(self) -> None:
        """Let every held job run to its end."""
        self.started.set()
        self.resumed.set()


@contextmanager
def serve(
    root: Path, archive: Path, library: Path | None = None, **overrides: Any
) -> Iterator[Api]:
    """A server over `archive` with its database in `root`."""
    overrides.setdefault("database", str(root / "hindsight.db"))
    settings = load_settings(archive=archive, rules=library, **overrides)
    service = JobService(settings)
    keys = KeyStore(service.db)
    try:
        app = create_app(service, keys, settings)
        api = Api(TestClient(app), service, keys)
        api.headers = api.key(*SCOPES, name="alice.admin")
        yield api
    finally:
        service.close()


@pytest.fixture
def api(tmp_path: Path, archive: Path, library: Path) -> Iterator[Api]:
    """A fresh server (empty database) for one test."""
    with serve(tmp_path, archive, library) as server:
        yield server


@pytest.fixture
def held(api: Api) -> Iterator[Hold]:
    """The `api` server with its jobs held (released at the end of the test)."""
    hold = Hold(api.service)
    try:
        yield hold
    finally:
        hold.release()


@pytest.fixture(params=FAMILIES, ids=FAMILY_IDS)
def family(request: pytest.FixtureRequest) -> str:
    """Each path family of the historical-jobs API."""
    value: str = request.param
    return value
