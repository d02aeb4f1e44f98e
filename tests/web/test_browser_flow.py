"""In a real browser: the whole seed flow, time zones, multi-select conversion, narrow windows.

One live `hindsight serve` and one chromium for the module. Screenshots of each page go to
`artifacts/screenshots/` (the ones in docs/ui.md are copied from there).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine.web.rules import RuleFilters, all_rules, filter_rules
from engine.web.timerange import zone
from tests.web.conftest import BRUTE_FORCE, EACH_FAILURE, Site, screenshot, wait_until

WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 740}
TIMEOUT = 20_000

#: One worker runs the whole module: one live server and one chromium for all its tests.
pytestmark = pytest.mark.xdist_group("browser-flow")


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A signed-in page at 1280 px, in Paris time, accepting confirmations."""
    context = browser.new_context(viewport=WIDE, timezone_id="Europe/Paris", locale="en-US")
    context.set_default_timeout(TIMEOUT)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    site.sign_in(tab)
    yield tab
    context.close()
    assert errors == [], errors  # no script error on any page


def test_seed_flow_run_watch_review_convert_and_see_the_delivery(page: Any, site: Site) -> None:
    # 1. the rules page: pick a bundled rule, run it as a historical job over the sample archive
    page.goto(f"{site.url}/rules")
    page.fill("input[name=q]", "brute force")
    wait_until(page, "location.search.includes('q=brute')")  # filtered as you type
    wait_until(page, "document.querySelectorAll('tr[data-rule-id]').length < 21")
    shown = page.eval_on_selector_all("tr[data-rule-id]", "rows => rows.map(r => r.dataset.ruleId)")
    expected = [r.id for r in filter_rules(all_rules(site.service), RuleFilters(q="brute force"))]
    assert shown == expected and BRUTE_FORCE in shown
    screenshot(page, "rules")
    page.click(f'tr[data-rule-id="{BRUTE_FORCE}"] a.strong')
    page.wait_for_url(f"**/rules/{BRUTE_FORCE}")
    screenshot(page, "rule")
    page.click("text=Run as historical job")
    page.wait_for_url(f"**/rules/{BRUTE_FORCE}/run")
    assert page.input_value("input.tz-field") == "Europe/Paris"
    assert page.is_checked("input[name=range][value=span]")
    assert "From 2024-03-04 01:00:00 GMT+1 to 2024-03-11 00:56:00 GMT+1." in page.inner_text(
        "#range-preview"
    )
    page.fill("input[name=notifications]", "@webhook-soc")
    screenshot(page, "run")
    page.click("text=Run historical job")

    # 2. it lands on the job panel and completes
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[-1]
    page.wait_for_selector(".summary .status-completed")
    page.wait_for_selector("svg.timeline rect.bar")
    assert page.inner_text("#events-scanned") == "27,900"
    assert page.inner_text("#matched-per-query") == "failed_login 225"
    screenshot(page, "panel")
    job = site.service.get(job_id)
    assert (job.from_ms, job.to_ms, job.notifications) == (
        1709510400000,
        1710114960000,
        ["@webhook-soc"],
    )
    assert [request["event"] for request in site.receiver.requests] == ["historical_job_finished"]

    # 3. open the result and its matched logs
    page.click("table.results a.strong")
    page.wait_for_selector("#matched-logs tr.log-row")
    assert page.locator("#matched-logs tr.log-row").count() == 12
    first_log = page.locator("#matched-logs details.log-details").first
    first_log.locator("summary").first.click()
    assert first_log.locator("table.attributes").is_visible()
    assert "emma.larsen@example.com" in first_log.inner_text()
    first_seen = page.locator("dl.pairs time").first.inner_text()
    assert first_seen == "2024-03-07 04:12:05 GMT+1"  # 03:12:05 UTC, shown in Paris time
    screenshot(page, "result")

    # 4. convert it with a severity, a webhook recipient and a message
    page.click("#convert-button")
    dialog = page.locator("#convert-dialog")
    assert dialog.is_visible()
    dialog.locator("select[name=severity]").select_option("high")
    dialog.locator("input[name=notifications]").fill("@webhook-soc")
    dialog.locator("textarea[name=message]").fill("**Confirmed** brute force on emma.larsen")
    screenshot(page, "convert", full_page=False)
    dialog.locator("button[type=submit]").click()

    # 5. the signal and its delivery
    page.wait_for_url(re.compile(r".*/signals/sig-[0-9a-f]+$"))
    page.wait_for_selector('tr[data-target="@webhook-soc"] .delivery-delivered')
    assert page.inner_text("#signal-message strong") == "Confirmed"
    row = page.inner_text('tr[data-target="@webhook-soc"]')
    assert "webhook" in row and "delivered" in row and "200" in row
    screenshot(page, "signal")
    signal_events = [r for r in site.receiver.requests if r["event"] == "signal"]
    assert len(signal_events) == 1
    sent = signal_events[0]["signal"]["attributes"]
    assert (sent["status"], sent["message"]) == (
        "high",
        "%%%\n**Confirmed** brute force on emma.larsen\n%%%",
    )

    # the lists show it too
    page.goto(f"{site.url}/signals")
    assert page.locator("tr[data-signal-id]").count() >= 1
    screenshot(page, "signals")
    page.goto(f"{site.url}/jobs")
    assert "1 medium" in page.inner_text(f'tr[data-job-id="{job_id}"]')
    screenshot(page, "jobs")


def test_an_absolute_range_is_typed_in_local_time_and_stored_in_utc(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/rules/{BRUTE_FORCE}/run")
    assert page.locator("#absolute-range").is_hidden()
    page.check("input[name=range][value=custom]")
    assert page.locator("#absolute-range").is_visible()
    assert page.input_value("input[name=start]") == "2024-03-04T01:00"  # the span, in Paris time
    page.fill("input[name=start]", "2024-03-07T04:00")
    page.fill("input[name=end]", "2024-03-07T05:00")
    assert "From 2024-03-07 04:00:00 GMT+1 to 2024-03-07 05:00:00 GMT+1." in page.inner_text(
        "#range-preview"
    )
    page.click("text=Run historical job")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}$"))
    job = site.service.get(page.url.rsplit("/", 1)[-1])
    paris = zone("Europe/Paris")
    assert (job.from_ms, job.to_ms) == (1709780400000, 1709784000000)  # 03:00Z and 04:00Z
    assert paris.key == "Europe/Paris"
    page.wait_for_selector(".summary .status-completed")
    assert "2024-03-07 04:00:00 GMT+1 → 2024-03-07 05:00:00 GMT+1" in page.inner_text(".summary")


def test_several_results_convert_from_the_panel(page: Any, site: Site) -> None:
    rule_id = site.service.create_rule(EACH_FAILURE)["id"]
    page.goto(f"{site.url}/rules/{rule_id}/run")
    page.click("text=Run historical job")
    page.wait_for_selector(".summary .status-completed")
    button = page.locator("#convert-selected")
    assert button.is_disabled()
    boxes = page.locator("input[name=result]:not(:disabled)")
    for index in range(3):
        boxes.nth(index).check()
    assert page.inner_text(".selection-count") == "3 selected"
    chosen = [boxes.nth(index).get_attribute("value") for index in range(3)]
    button.click()
    dialog = page.locator("#convert-dialog")
    assert dialog.locator(".convert-count").inner_text() == "3 results"
    dialog.locator("select[name=severity]").select_option("critical")
    dialog.locator("textarea[name=message]").fill("Three at once")
    dialog.locator("button[type=submit]").click()
    page.wait_for_selector("text=Converted 3 results to signals")
    converted = {signal.result_id: signal.severity for signal in site.service.signals.all()}
    assert all(converted.get(item) == "critical" for item in chosen)
    for item in chosen:
        assert page.locator(f'tr[data-result-id="{item}"] input[name=result]').is_disabled()
    page.locator("input.select-all").check()
    assert page.inner_text(".selection-count") == f"{min(25, 220) - 3} selected"


PAGES = [
    ("rules", "/rules"),
    ("rule", f"/rules/{BRUTE_FORCE}"),
    ("editor", "/rules/new"),
    ("run", f"/rules/{BRUTE_FORCE}/run"),
    ("jobs", "/jobs"),
    ("signals", "/signals"),
    ("keys", "/keys"),
    ("not-found", "/no/such/page"),
]


def test_every_page_fits_a_narrow_window(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport=NARROW, timezone_id="Europe/Paris")
    page = context.new_page()
    site.sign_in(page)
    from_rule = {"id": BRUTE_FORCE, "from": 1709510400000, "to": 1710115200000, "index": "main"}
    job = site.service.submit({"fromRule": from_rule}).id
    site.service.runner.wait(job, 60)
    (result,) = site.service.jobs.results(job)
    pages = [*PAGES, ("panel", f"/jobs/{job}"), ("result", f"/results/{result.id}")]
    for name, path in pages:
        page.goto(site.url + path)
        if page.locator("#timeline").count():
            page.wait_for_selector("svg.timeline")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{path} is {width[0]} px wide in a {width[1]} px window"
        screenshot(page, f"narrow-{name}")
    context.close()


def test_the_api_docs_render_without_the_internet(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{site.url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=TIMEOUT)
    assert page.locator(".opblock").count() >= 20
    screenshot(page, "api-docs", full_page=False)
    page.goto(f"{site.url}/redoc")
    page.wait_for_selector('h2:has-text("Run a historical job")', timeout=TIMEOUT)
    assert outside == []
    context.close()
