"""`hindsight report`: one self-contained HTML file of a run, opened in headless Chromium with the
network cut off (its charts must render from the file alone); the same report of a job served by
the web app and linked from its page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.store.tables import jobs
from engine.web.report import MAX_LOGS_SHOWN
from tests.web.conftest import (
    BRUTE_FORCE,
    RULES,
    SAMPLE_ARCHIVE,
    Web,
    screenshot,
    serve_web,
)

LABELS = SAMPLE_ARCHIVE.parent / "labels.csv"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The report of the bundled rules over the sample week, scored against its labels."""
    folder = tmp_path_factory.mktemp("report")
    run_file = folder / "run.json"
    assert (
        main(["run", str(RULES), "--archive", str(SAMPLE_ARCHIVE), "--output", str(run_file)]) == 0
    )
    html = folder / "report.html"
    assert main(["report", str(run_file), "-o", str(html), "--labels", str(LABELS)]) == 0
    return html, json.loads(run_file.read_text())


def test_the_report_is_one_file_with_everything_inline(
    report: tuple[Path, dict[str, Any]],
) -> None:
    html, run = report
    text = html.read_text()
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", text)
    assert "@import" not in text and "url(" not in text
    assert text.count("<svg") == 2  # the timeline and the per-rule chart
    assert text.count('<details class="result"') == len(run["data"])
    assert 'id="score"' in text and "all rules" in text
    for document in run["data"]:
        assert document["attributes"]["attributes"]["title"] in text
        events = document["attributes"]["attributes"]["workflow"]["events_matched"]
        if events > MAX_LOGS_SHOWN:  # the first logs are shown, the rest named
            hint = f'{events - MAX_LOGS_SHOWN} more: <span class="mono">hindsight events'
            assert f"{hint} {document['id']} --run {html.parent / 'run.json'}</span>" in text


def test_the_report_renders_offline_in_chromium(
    browser: Any, report: tuple[Path, dict[str, Any]]
) -> None:
    html, run = report
    documents = run["data"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested: list[str] = []

    def refuse(route: Any) -> None:
        requested.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(?!file:).*"), refuse)  # no network: only the file itself
    try:
        page.goto(html.as_uri())
        assert requested == []
        timeline = page.locator("#timeline svg .mark-symbol path")
        assert timeline.count() == len(documents)  # one mark per result
        bars = page.locator("#per-rule svg .mark-rect path")
        by_rule = {(r["rule"], s) for r in run["meta"]["rules"] for s in r["results_by_severity"]}
        assert bars.count() == len(by_rule)
        box = page.locator("#timeline svg").bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 100
        assert page.locator("#summary").inner_text().count("27,900") == 1
        busiest = max(
            documents, key=lambda d: d["attributes"]["attributes"]["workflow"]["events_matched"]
        )
        details = page.locator(f"#result-{busiest['id']}")
        assert not details.locator("table.logs").is_visible()
        details.locator("summary").click()
        rows = details.locator("table.logs tr")
        events = busiest["attributes"]["attributes"]["workflow"]["events_matched"]
        assert rows.count() - 1 == min(events, MAX_LOGS_SHOWN)
        assert rows.nth(1).is_visible()
        details.locator("summary").click()  # closed again
        page.set_viewport_size({"width": 1280, "height": 1500})
        page.evaluate("window.scrollTo(0, 0)")
        target = screenshot(page, "report", full_page=False)
        assert target.stat().st_size > 10_000
    finally:
        page.close()


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Web, str]]:
    with serve_web(tmp_path_factory.mktemp("report-job")) as web:
        web.sign_in()
        yield web, web.run(BRUTE_FORCE)


def test_the_web_app_serves_a_jobs_report(job: tuple[Web, str]) -> None:
    web, job_id = job
    panel = web.get(f"/jobs/{job_id}").text
    assert f'href="/jobs/{job_id}/report"' in panel
    response = web.get(f"/jobs/{job_id}/report")
    assert response.status_code == 200
    html = response.text
    results = web.service.jobs.results(job_id)
    assert results
    assert html.count('<details class="result"') == len(results)
    assert html.count("<svg") == 2
    for result in results:
        assert f'id="result-{result.id}"' in html


def test_a_report_needs_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "-o", str(tmp_path / "r.html")]) == 2
    assert "RUN.json (a run file) or --job ID" in capsys.readouterr().err
    missing = tmp_path / "missing.json"
    assert main(["report", str(missing), "-o", str(tmp_path / "r.html")]) == 2
    assert "no such file" in capsys.readouterr().err


def _set_manifest(web: Web, job_id: str, manifest: dict[str, Any] | None) -> None:
    record = web.service.get(job_id)
    statistics = {**(record.statistics or {}), "manifest": manifest}
    with web.service.db.begin() as connection:
        connection.execute(jobs.update().where(jobs.c.id == job_id).values(statistics=statistics))


def test_a_jobs_report_without_its_snapshot_shows_the_stored_results(
    job: tuple[Web, str],
) -> None:
    web, job_id = job
    original = (web.service.get(job_id).statistics or {})["manifest"]
    changed = json.loads(json.dumps(original))
    changed["snapshot"]["files"][0]["sha256"] = "0" * 64
    try:
        _set_manifest(web, job_id, changed)
        response = web.get(f"/jobs/{job_id}/report")
        assert response.status_code == 200
        assert "Matched logs not shown: the archive snapshot of the run changed" in response.text
        assert response.text.count('<details class="result"') == len(
            web.service.jobs.results(job_id)
        )
        _set_manifest(web, job_id, None)
        response = web.get(f"/jobs/{job_id}/report")
        assert response.status_code == 404
        assert "has no run manifest" in response.text
        assert f'href="/jobs/{job_id}/report"' not in web.get(f"/jobs/{job_id}").text
    finally:
        _set_manifest(web, job_id, original)
