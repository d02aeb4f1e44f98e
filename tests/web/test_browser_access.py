"""In a real browser: keys and scopes, the rule editor's caret, and cancelling a running job."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from engine.api.auth import RULES_READ, SIGNALS_READ
from engine.service.jobs import JobService
from engine.service.runner import Runner
from engine.store.keys import KeyStore
from tests.api.conftest import Hold
from tests.web.conftest import BRUTE_FORCE, Site, screenshot, wait_until

TIMEOUT = 20_000

#: One worker runs the whole module: one live server and one chromium for all its tests.
pytestmark = pytest.mark.xdist_group("browser-access")


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280 px."""
    opened = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    opened.set_default_timeout(TIMEOUT)
    yield opened
    opened.close()


def test_no_key_leads_to_the_key_page_and_back(context: Any, site: Site) -> None:
    page = context.new_page()
    page.goto(f"{site.url}/jobs")
    assert re.search(r"/keys\?next=/jobs$", page.url)
    assert page.is_visible("input[name=api_key]") and page.is_visible("input[name=application_key]")
    screenshot(page, "keys")
    page.fill("input[name=api_key]", "wrong")
    page.fill("input[name=application_key]", "keys")
    page.click("form[action='/keys'] button[type=submit]")
    assert "These keys are not valid" in page.inner_text("main")
    page.fill("input[name=api_key]", site.server.keys.api_key)
    page.fill("input[name=application_key]", site.server.keys.application_key)
    page.click("form[action='/keys'] button[type=submit]")
    page.wait_for_url(f"{site.url}/jobs")
    assert "Signed in with the key 'tester'" in page.inner_text("main")
    cookie = next(c for c in context.cookies() if c["name"] == "hindsight_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read the session


def test_a_read_only_key_sees_no_run_button_and_a_forced_post_is_refused(
    context: Any, site: Site
) -> None:
    pair = KeyStore(site.service.db).create(name="auditor", scopes=[RULES_READ, SIGNALS_READ])
    page = context.new_page()
    site.sign_in(page, pair)
    page.goto(f"{site.url}/rules")
    assert page.locator("tr[data-rule-id]").count() == 27  # the bundled library
    assert page.locator("text=Run as historical job").count() == 0
    assert page.locator("text=New rule").count() == 0
    page.goto(f"{site.url}/rules/{BRUTE_FORCE}")
    assert page.locator("text=Run as historical job").count() == 0
    screenshot(page, "read-only-rule")
    jobs_before = len(site.service.jobs.all())
    token = page.evaluate("document.querySelector('input[name=csrf_token]').value")
    forced = page.request.post(
        f"{site.url}/rules/{BRUTE_FORCE}/run",
        form={"csrf_token": token, "index": "main", "range": "span"},
        max_redirects=0,
    )
    assert forced.status == 403
    assert "lacks the scope security_monitoring_rules_write" in forced.text()
    assert len(site.service.jobs.all()) == jobs_before


def test_a_query_syntax_error_is_shown_with_its_caret(context: Any, site: Site) -> None:
    page = context.new_page()
    site.sign_in(page)
    page.goto(f"{site.url}/rules/new")
    wait_until(page, "document.getElementById('problems').textContent.includes('Valid rule')")
    editor = page.locator("#rule-json")
    text = editor.input_value()
    broken = text.replace(
        "source:okta @evt.name:user.session.start @evt.outcome:failure",
        "source:okta AND (@evt.name:user.session.start",
    )
    assert broken != text
    editor.fill(broken)
    page.wait_for_selector("#problems pre.caret")
    caret = page.inner_text("#problems pre.caret")
    assert caret.splitlines() == [
        "invalid query at line 1, column 17: unbalanced parenthesis: this '(' is never closed",
        "  source:okta AND (@evt.name:user.session.start",
        "                  ^",
        "hint: add the missing ')'; escape a literal parenthesis as \\(",
    ]
    page.click("#problems .show-in-editor")
    selection = page.evaluate(
        "(() => { const e = document.getElementById('rule-json');"
        " return e.value.slice(e.selectionStart, e.selectionEnd); })()"
    )
    assert selection == "("
    assert page.evaluate("document.activeElement.id") == "rule-json"
    screenshot(page, "editor")
    page.click("text=Create rule")
    assert "queries[0].query" in page.inner_text("#problems")  # refused, text kept
    assert editor.input_value() == broken
    editor.fill(text)
    wait_until(page, "document.getElementById('problems').textContent.includes('Valid rule')")
    page.click("text=Create rule")
    page.wait_for_url(re.compile(r".*/rules/[0-9a-f]{3}-[0-9a-f]{3}-[0-9a-f]{3}$"))
    assert "Created the rule 'My new rule'" in page.inner_text("main")


def test_a_running_job_is_cancelled_from_its_panel(context: Any, site: Site) -> None:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    site.sign_in(page)
    with held(site.service) as hold:
        page.goto(f"{site.url}/rules/{BRUTE_FORCE}/run")
        page.click("text=Run historical job")
        page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
        job_id = page.url.rsplit("/", 1)[-1]
        hold.start()  # the job is running now, held at its first progress report
        page.wait_for_selector("section.live .status-running")  # the live part follows it
        assert page.locator("section.live progress").count() == 1
        page.goto(f"{site.url}/jobs")
        assert "running" in page.inner_text(f'tr[data-job-id="{job_id}"]')
        screenshot(page, "jobs-running")
        page.goto(f"{site.url}/jobs/{job_id}")
        page.click("#cancel-job")
        page.wait_for_selector(".summary .status-cancelled")
        assert "Cancelled the job" in page.inner_text("main")
        assert site.service.get(job_id).status == "cancelled"
        screenshot(page, "panel-cancelled")


@contextmanager
def held(service: JobService) -> Iterator[Hold]:
    """The service's jobs held (see `Hold`) inside the block; its own runner again after."""
    report = service.jobs.progress
    hold = Hold(service)
    try:
        yield hold
    finally:
        hold.release()
        service.runner.shutdown()
        service.runner = Runner(service.execute, workers=service.settings.max_concurrent_jobs)
        service.jobs.progress = report  # type: ignore[method-assign]
