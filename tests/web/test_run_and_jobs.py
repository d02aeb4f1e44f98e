"""Run as historical job (the form and its time ranges) and the historical jobs list."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.core.errors import InvalidRequestError
from engine.store.jobs import JobRecord
from engine.web.timerange import (
    PRESETS,
    TimeRange,
    index_span,
    local_to_utc_ms,
    resolve,
    utc_ms_to_local,
    zone,
)
from tests.api.conftest import Hold
from tests.web.conftest import BRUTE_FORCE, HISTORICAL, Web, serve_web

SPAN = TimeRange(1709510400000, 1710114960000)  # the sample index, whole minutes
NOW = 1_800_000_000_000


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_presets_end_now(preset: str) -> None:
    assert resolve(preset, now_ms=NOW, span=None) == TimeRange(NOW - PRESETS[preset][1], NOW)


@pytest.mark.parametrize(
    ("start", "end", "tz", "expected"),
    [
        (
            "2024-03-07T04:00",
            "2024-03-07T05:00",
            "Europe/Paris",
            ("2024-03-07T03:00Z", "2024-03-07T04:00Z"),
        ),
        ("2024-03-07T04:00", "2024-03-07T05:00", "", ("2024-03-07T04:00Z", "2024-03-07T05:00Z")),
        (
            "2024-03-09T22:30",
            "2024-03-10T03:30",
            "America/New_York",
            ("2024-03-10T03:30Z", "2024-03-10T07:30Z"),
        ),
        (
            "2024-07-01 12:00:30",
            "2024-07-01 13:00",
            "Asia/Kolkata",
            ("2024-07-01T06:30:30Z", "2024-07-01T07:30Z"),
        ),
    ],
    ids=["paris-winter", "no-zone-is-utc", "across-dst-start", "seconds-and-half-hour-zone"],
)
def test_an_absolute_range_is_read_in_the_browsers_zone_and_kept_in_utc(
    start: str, end: str, tz: str, expected: tuple[str, str]
) -> None:
    found = resolve("custom", now_ms=NOW, span=None, start=start, end=end, tz_name=tz)
    assert found == TimeRange(
        _ms(expected[0].replace("Z", "+00:00")), _ms(expected[1].replace("Z", "+00:00"))
    )


@pytest.mark.parametrize(
    ("choice", "start", "end", "tz", "message"),
    [
        ("custom", "2024-03-07T05:00", "2024-03-07T04:00", "UTC", "must come after its start"),
        ("custom", "yesterday", "2024-03-07T04:00", "UTC", "not a date and time"),
        ("custom", "2024-03-07T04:00", "2024-03-07T05:00", "Mars/Olympus", "Unknown time zone"),
        ("span", "", "", "UTC", "holds no events"),
        ("fortnight", "", "", "UTC", "Unknown time range"),
    ],
)
def test_a_range_that_cannot_be_used_says_why(
    choice: str, start: str, end: str, tz: str, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        resolve(choice, now_ms=NOW, span=None, start=start, end=end, tz_name=tz)


def test_the_index_span_is_whole_minutes_covering_every_event() -> None:
    assert index_span(1709510416000, 1710114927000) == SPAN
    assert index_span(60_000, 60_000) == TimeRange(60_000, 120_000)
    assert index_span(None, None) is None
    assert utc_ms_to_local(SPAN.from_ms, zone("Europe/Paris")) == "2024-03-04T01:00"
    assert (
        local_to_utc_ms("2024-03-04T01:00", ZoneInfo("Europe/Paris"), field="start") == SPAN.from_ms
    )


def test_the_form_offers_the_archives_indexes_the_rules_cases_and_the_webhooks(
    tmp_path: Path,
) -> None:
    overrides = {
        "indexes": {"security": "main", "gone": "missing"},
        "notifications": {"webhooks": {"soc": {"url": "http://127.0.0.1:9/hook"}}},
    }
    with serve_web(tmp_path, **overrides) as web:
        web.sign_in()
        html = web.get("/rules/okta-brute-force-then-success/run").text
    indexes = re.findall(r'<option value="([^"]+)"[^>]*data-from', html)
    assert indexes == ["main", "security"]  # "gone" maps to no archive index: not offered
    assert "27,900 events, 2024-03-04 00:00 to 2024-03-10 23:56 UTC" in html
    cases = re.findall(r'<option value="(\d)"', html)
    assert cases == ["0"]
    assert "@webhook-soc" in html


def test_running_from_the_form_makes_the_job_post_jobs_makes(signed_in: Web) -> None:
    job_id = signed_in.run(BRUTE_FORCE, notifications="@webhook-soc, ops@example.com")
    body = {
        "data": {
            "type": "historicalDetectionsJobCreate",
            "attributes": {
                "fromRule": {
                    "id": BRUTE_FORCE,
                    "from": SPAN.from_ms,
                    "to": SPAN.to_ms,
                    "index": "main",
                    "notifications": ["@webhook-soc", "ops@example.com"],
                }
            },
        }
    }
    created = signed_in.client.post(
        f"{HISTORICAL}/jobs", json=body, headers=signed_in.api_headers()
    )
    api_id = created.json()["data"]["id"]
    signed_in.service.runner.wait(api_id, 60)
    web_job, api_job = (signed_in.service.get(job) for job in (job_id, api_id))
    assert web_job.definition == api_job.definition
    assert (web_job.from_ms, web_job.to_ms, web_job.index_name) == (
        SPAN.from_ms,
        SPAN.to_ms,
        "main",
    )
    assert web_job.notifications == api_job.notifications
    assert (web_job.created_from_rule_id, web_job.created_by_handle) == (BRUTE_FORCE, "alice")
    own = {"seconds", "manifest"}  # timing; the manifest names the job and when it ran
    web_stats, api_stats = web_job.statistics or {}, api_job.statistics or {}
    assert {k: v for k, v in web_stats.items() if k not in own} == {
        k: v for k, v in api_stats.items() if k not in own
    }
    for key in ("rules", "snapshot", "range"):
        assert web_stats["manifest"][key] == api_stats["manifest"][key]


def test_one_case_runs_alone(signed_in: Web) -> None:
    rule = "web-server-errors"
    job_id = signed_in.run(rule, case="1")
    (case,) = signed_in.service.get(job_id).definition["cases"]
    assert case == signed_in.service.library[rule].cases[1].to_json()
    html = signed_in.get(f"/jobs/{job_id}").text
    assert case["name"] in html


def test_a_refused_run_shows_the_form_again_with_the_reason(signed_in: Web) -> None:
    response = signed_in.post(f"/rules/{BRUTE_FORCE}/run", {"index": "nope", "range": "span"})
    assert response.status_code == 400
    assert "There is no index &#39;nope&#39;" in response.text
    bad_case = signed_in.post(
        f"/rules/{BRUTE_FORCE}/run", {"index": "main", "range": "span", "case": "7"}
    )
    assert bad_case.status_code == 400 and "caseIndex" in bad_case.text
    wrong_index = signed_in.post(
        f"/rules/{BRUTE_FORCE}/run",
        {
            "index": "nope",
            "range": "custom",
            "start": "2024-03-04T00:00",
            "end": "2024-03-05T00:00",
        },
    )
    assert wrong_index.status_code == 400 and "Index must exist" in wrong_index.text
    assert signed_in.service.jobs.all() == []


def test_the_jobs_list_shows_each_job_and_its_counts_by_severity(signed_in: Web) -> None:
    assert "No historical job yet" in signed_in.get("/jobs").text
    first = signed_in.run(BRUTE_FORCE)
    second = signed_in.run(signed_in.stored_rule())
    html = signed_in.get("/jobs").text
    assert re.findall(r'data-job-id="([^"]+)"', html) == [second, first]  # newest first
    row = html[html.index(f'data-job-id="{second}"') :].split("</tr>", 1)[0]
    assert "8 high" in row and "212 low" in row and "completed" in row
    assert 'data-live="1"' not in html  # nothing runs: no polling


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=completed", "both"),
        ("status=failed", "none"),
        (f"rule={BRUTE_FORCE}", "brute"),
        ("q=jobName:Each*", "each"),
    ],
)
def test_the_jobs_list_filters_by_status_rule_and_query(
    signed_in: Web, query: str, expected: str
) -> None:
    brute = signed_in.run(BRUTE_FORCE)
    each = signed_in.run(signed_in.stored_rule())
    wanted = {"both": [each, brute], "none": [], "brute": [brute], "each": [each]}[expected]
    html = signed_in.get(f"/jobs?{query}").text
    assert re.findall(r'data-job-id="([^"]+)"', html) == wanted
    if not wanted:
        assert "No job matches these filters" in html


def test_a_query_that_does_not_parse_shows_its_caret(signed_in: Web) -> None:
    signed_in.run(BRUTE_FORCE)
    html = signed_in.get("/jobs?q=jobName:(Okta").text
    assert "unbalanced parenthesis" in html and "^" in html


def test_a_running_job_is_live_then_cancelled_from_the_list(signed_in: Web) -> None:
    hold = Hold(signed_in.service)
    try:
        response = signed_in.post(f"/rules/{BRUTE_FORCE}/run", {"index": "main", "range": "span"})
        job_id = response.headers["location"].rsplit("/", 1)[-1]
        hold.start()
        html = signed_in.get("/jobs").text
        assert 'data-live="1"' in html and 'hx-trigger="every 1s"' in html
        assert f"/jobs/{job_id}/cancel" in html and "<progress" in html
        panel = signed_in.get(f"/jobs/{job_id}").text
        assert f'hx-get="/jobs/{job_id}/live"' in panel and "Cancel job" in panel
        live = signed_in.client.get(f"/jobs/{job_id}/live")
        assert "HX-Refresh" not in live.headers and "running" in live.text
        refused = signed_in.post(f"/jobs/{job_id}/delete", {"back": "/jobs"})
        assert refused.status_code == 303
        assert "cancel it before deleting it" in signed_in.get("/jobs").text
        cancelled = signed_in.post(f"/jobs/{job_id}/cancel", {"back": "/jobs"})
        assert (cancelled.status_code, cancelled.headers["location"]) == (303, "/jobs")
        assert signed_in.service.get(job_id).status == "cancelled"
        assert signed_in.client.get(f"/jobs/{job_id}/live").headers["HX-Refresh"] == "true"
    finally:
        hold.release()


def test_finished_jobs_can_be_deleted_not_cancelled(signed_in: Web) -> None:
    job_id = signed_in.run(BRUTE_FORCE)
    signed_in.post(f"/jobs/{job_id}/cancel")
    assert "had already finished (completed)" in signed_in.get(f"/jobs/{job_id}").text
    deleted = signed_in.post(f"/jobs/{job_id}/delete", {"back": f"/jobs/{job_id}"})
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/jobs")
    assert signed_in.get(f"/jobs/{job_id}").status_code == 404
    assert signed_in.service.jobs.results(job_id) == []


def test_the_jobs_list_pages(signed_in: Web) -> None:
    ids = []
    for number in range(22):
        record = JobRecord(
            id=str(uuid.uuid4()),
            name=f"job {number}",
            status="completed",
            definition={"cases": []},
            index_name="main",
            from_ms=SPAN.from_ms,
            to_ms=SPAN.to_ms,
        )
        signed_in.service.jobs.insert(record)
        ids.append(record.id)
    first = re.findall(r'data-job-id="([^"]+)"', signed_in.get("/jobs").text)
    second = re.findall(r'data-job-id="([^"]+)"', signed_in.get("/jobs?page=2").text)
    assert first + second == ids[::-1]
    assert len(first) == 20 and "Page 1 of 2" in signed_in.get("/jobs").text
    assert re.findall(r'data-job-id="([^"]+)"', signed_in.get("/jobs?page=99").text) == second


def test_times_are_utc_in_the_html_and_iso_for_the_browser(signed_in: Web) -> None:
    job_id = signed_in.run(BRUTE_FORCE)
    html = signed_in.get(f"/jobs/{job_id}").text
    assert '<time datetime="2024-03-04T00:00:00.000Z">2024-03-04 00:00:00 UTC</time>' in html
    created = signed_in.service.get(job_id).created_us // 1000
    stamp = datetime.fromtimestamp(created / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert f'<time datetime="{stamp}' in html


def test_run_again_fills_the_form_in_from_the_earlier_job(signed_in: Web) -> None:
    rule = "web-server-errors"
    job_id = signed_in.run(rule, case="1", notifications="@webhook-soc")
    html = signed_in.get(f"/rules/{rule}/run?job={job_id}").text
    assert re.search(r'<option value="1"\s+selected>', html)
    assert 'value="custom" checked' in html
    assert 'name="start" value="2024-03-04T00:00"' in html
    assert 'name="end" value="2024-03-10T23:56"' in html
    assert 'name="notifications" value="@webhook-soc"' in html
    other = signed_in.get(f"/rules/{BRUTE_FORCE}/run?job={job_id}").text  # not this rule's job
    assert 'value="span" checked' in other
