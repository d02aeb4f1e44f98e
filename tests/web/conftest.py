"""Fixtures of the web app tests: a server over the sample archive and the bundled rules.

`web` is a fresh server (empty database) with an HTTP client that behaves like a browser: it keeps
its cookies, signs in through the key page and sends each form's CSRF token. `Web.browser()` is a
second browser on the same server (its own cookies), for tests with two users.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette prefers `httpx2`; the venv has `httpx`
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from engine.service.jobs import JobService
from engine.service.settings import ServerSettings, load_settings
from engine.store.keys import SCOPES, KeyPair, KeyStore
from engine.web import create_server_app
from tests.conftest import SCREENSHOTS
from tests.live import LiveServer, Receiver, live_server, webhook_receiver

REPO = Path(__file__).resolve().parents[2]
SAMPLE_ARCHIVE = REPO / "sample_logs" / "archive"
RULES = REPO / "rules"
BRUTE_FORCE = "okta-brute-force"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HISTORICAL = "/api/v2/siem-historical-detections"

#: A rule with many results of two severities over the sample week (220: 8 high, 212 low).
EACH_FAILURE: dict[str, Any] = {
    "name": "Each Okta failure",
    "queries": [
        {
            "name": "failure",
            "query": "source:okta @evt.outcome:failure",
            "groupByFields": ["@usr.email"],
            "aggregation": "count",
        }
    ],
    "cases": [
        {"status": "high", "condition": "failure > 4", "name": "burst"},
        {"status": "low", "condition": "failure > 0", "name": "any"},
    ],
    "options": {"evaluationWindow": 60, "keepAlive": 60, "maxSignalDuration": 60},
    "message": "{{@usr.email}} failed to log in",
    "tags": ["source:okta"],
}


def settings_for(root: Path, **overrides: Any) -> ServerSettings:
    """Server settings over the sample archive and the bundled rules, the database in `root`."""
    return load_settings(
        archive=SAMPLE_ARCHIVE, rules=RULES, database=str(root / "hindsight.db"), **overrides
    )


@dataclass
class Web:
    """A browser-like client of one server."""

    client: TestClient
    service: JobService
    keys: KeyStore
    pair: KeyPair | None = None
    token: str = ""

    def browser(self) -> Web:
        """Another browser (its own cookies) on the same server."""
        return Web(TestClient(self.client.app), self.service, self.keys)

    def sign_in(self, *scopes: str, name: str = "alice") -> KeyPair:
        """Create a key pair with `scopes` (default: all) and sign in with it."""
        pair = self.keys.create(name=name, scopes=scopes or SCOPES)
        page = self.client.get("/keys")
        response = self.client.post(
            "/keys",
            data={
                "csrf_token": csrf_of(page.text),
                "api_key": pair.api_key,
                "application_key": pair.application_key,
                "next": "/keys",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.pair = pair
        self.token = csrf_of(self.client.get("/keys").text)
        return pair

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET a page (following redirects), remembering its CSRF token."""
        response = self.client.get(path, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the session's CSRF token (redirects not followed)."""
        body = {"csrf_token": self.token, **(data or {})}
        return self.client.post(path, data=body, follow_redirects=False, **kwargs)

    def api_headers(self) -> dict[str, str]:
        """The API headers of the signed-in key pair."""
        assert self.pair is not None
        return {
            "DD-API-KEY": self.pair.api_key,
            "DD-APPLICATION-KEY": self.pair.application_key,
        }

    def run(self, rule_id: str = BRUTE_FORCE, **form: str) -> str:
        """Run a rule through the run form over the index's span; wait; return the job id."""
        data = {"index": "main", "range": "span", "case": "", "notifications": "", **form}
        response = self.post(f"/rules/{rule_id}/run", data)
        assert response.status_code == 303, response.text
        job_id = str(response.headers["location"]).rsplit("/", 1)[-1]
        self.service.runner.wait(job_id, 60)
        return job_id

    def stored_rule(self, document: dict[str, Any] | None = None) -> str:
        """Store a rule (default: `EACH_FAILURE`) and return its id."""
        created = self.service.create_rule(document or EACH_FAILURE)
        return str(created["id"])


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@contextmanager
def serve_web(root: Path, **overrides: Any) -> Iterator[Web]:
    """A fresh server over the sample archive, and a client not signed in."""
    settings = settings_for(root, **overrides)
    service = JobService(settings)
    keys = KeyStore(service.db)
    try:
        app = create_server_app(service, keys, settings)
        yield Web(TestClient(app, raise_server_exceptions=False), service, keys)
    finally:
        service.close()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    """A fresh server and a browser-like client, not signed in."""
    with serve_web(tmp_path) as client:
        yield client


@pytest.fixture
def signed_in(web: Web) -> Web:
    """The `web` client signed in with every scope."""
    web.sign_in()
    return web


# --- the real browser -------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_BROWSER = "HINDSIGHT_REQUIRE_BROWSER"


def chromium_path() -> str:
    """Debian's chromium (skips the test without it, fails when a browser is required)."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(
                f"{REQUIRE_BROWSER}=1 but no chromium is installed (apt-get install chromium)"
            )
        pytest.skip("no chromium installed (apt-get install chromium) for the browser tests")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium per module (Playwright driving Debian's chromium)."""
    path = chromium_path()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of `page` as `artifacts/screenshots/<name>.png`."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=full_page)
    return target


@dataclass
class Site:
    """A live `hindsight serve` (API and pages) for the browser, with a webhook receiver."""

    server: LiveServer
    receiver: Receiver

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.server.url

    @property
    def service(self) -> JobService:
        """The job service behind it."""
        return self.server.service

    def sign_in(self, page: Any, pair: KeyPair | None = None) -> None:
        """Give the key page `pair` (default: the server's full-scope pair)."""
        keys = pair or self.server.keys
        page.goto(f"{self.url}/keys")
        page.fill("input[name=api_key]", keys.api_key)
        page.fill("input[name=application_key]", keys.application_key)
        page.click("form[action='/keys'] button[type=submit]")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One live server per module, over the sample archive, with `@webhook-soc` configured."""
    chromium_path()
    root = tmp_path_factory.mktemp("site")
    with webhook_receiver() as receiver:
        notifications = {"webhooks": {"soc": {"url": receiver.url}}, "backoff_seconds": 0}
        with live_server(settings_for(root, notifications=notifications)) as server:
            yield Site(server, receiver)


def wait_until(page: Any, expression: str, timeout: float = 20.0) -> None:
    """Poll `expression` in the page until it is true (`wait_for_function` evaluates strings,
    which the pages' Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """One server per module, signed in with every scope (for tests that change nothing)."""
    with serve_web(tmp_path_factory.mktemp("shared")) as client:
        client.sign_in()
        yield client
