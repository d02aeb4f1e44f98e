"""Signals and their deliveries; friendly error pages; the API beside the pages; the API docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.notify.convert import signal_document, signal_id_for
from engine.store.signals import SignalRecord
from tests.live import webhook_receiver
from tests.web.conftest import BRUTE_FORCE, Web, serve_web


def test_the_signals_list_says_what_to_do_when_empty(signed_in: Web) -> None:
    html = signed_in.get("/signals").text
    assert "No signal yet" in html and "Convert to signal" in html


def test_a_signal_shows_each_targets_delivery(tmp_path: Path) -> None:
    with webhook_receiver([500, 200]) as receiver:
        notifications = {"webhooks": {"soc": {"url": receiver.url}}, "backoff_seconds": 0}
        with serve_web(tmp_path, notifications=notifications) as web:
            web.sign_in()
            (result,) = web.service.jobs.results(web.run(BRUTE_FORCE))
            form = {
                "result": result.id,
                "severity": "high",
                "notifications": "@webhook-soc @slack-secops",
                "message": "Confirmed",
            }
            response = web.post("/convert", form)
            web.service.deliveries.join()  # notifications go out in the background
            html = web.get(response.headers["location"]).text
            listing = web.get("/signals").text
    rows = dict(re.findall(r'<tr data-target="([^"]+)">(.*?)</tr>', html, re.S))
    assert set(rows) == {"@webhook-soc", "@slack-secops"}
    webhook = [
        cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", rows["@webhook-soc"], re.S)
    ]
    assert webhook[1:5] == [
        "webhook",
        '<span class="delivery delivery-delivered">delivered</span>',
        "2",
        "200",
    ]
    assert "500" in webhook[5]  # the error of the first attempt
    slack = [
        cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", rows["@slack-secops"], re.S)
    ]
    assert "undelivered" in slack[2] and slack[3] == "0"
    assert "hx-trigger" not in html  # nothing pending
    assert len(receiver.requests) == 2 and receiver.requests[-1]["event"] == "signal"
    assert "@webhook-soc: delivered" in listing and "@slack-secops: undelivered" in listing


def test_a_fresh_signal_with_pending_deliveries_updates_itself(signed_in: Web) -> None:
    (result,) = signed_in.service.jobs.results(signed_in.run(BRUTE_FORCE))
    now = 4_102_444_800_000  # in the future: still "recent"
    signal = SignalRecord(
        id=signal_id_for(result.id),
        result_id=result.id,
        job_id=result.job_id,
        timestamp_ms=result.timestamp_ms,
        severity="low",
        document=signal_document(
            result, severity="low", message="m", notifications=["@webhook-x"], created_ms=now
        ),
        notifications=["@webhook-x"],
        created_ms=now,
    )
    assert signed_in.service.signals.insert(signal)
    html = signed_in.get(f"/signals/{signal.id}").text
    assert f'hx-get="/signals/{signal.id}/deliveries"' in html and "pending" in html
    fragment = signed_in.get(f"/signals/{signal.id}/deliveries").text
    assert "Delivering" in fragment


def test_the_signals_list_filters_by_severity_and_query(signed_in: Web) -> None:
    job_id = signed_in.run(signed_in.stored_rule())
    results = signed_in.service.jobs.results(job_id)[:4]
    for index, result in enumerate(results):
        severity = "critical" if index % 2 else "info"
        signed_in.service.convert([result.id], severity=severity, message="m", notifications=[])
    listed = re.findall(
        r'data-signal-id="([^"]+)"', signed_in.get("/signals?severity=critical").text
    )
    assert len(listed) == 2
    queried = re.findall(r'data-signal-id="([^"]+)"', signed_in.get("/signals?q=status:info").text)
    assert len(queried) == 2 and not set(listed) & set(queried)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/no/such/page", 404, "There is no page at /no/such/page"),
        ("/jobs/8e2a37fb-b0c8-4761-a7f0-0a8d6a98ba93", 404, "was not found"),
        ("/jobs/not-a-job/timeline", 404, "was not found"),
        ("/results/nope", 404, "job result nope was not found"),
        ("/signals/nope", 404, "There is no signal"),
        ("/jobs/x/cancel", 405, "does not answer GET requests"),
        ("/jobs?page=-3&status=weird", 200, "No historical job yet"),
    ],
)
def test_errors_are_friendly_pages(signed_in: Web, path: str, status: int, text: str) -> None:
    response = signed_in.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert text in response.text and "Traceback" not in response.text
    assert 'href="/rules"' in response.text


def test_an_unexpected_failure_is_a_friendly_500(
    signed_in: Web, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(signed_in.service.jobs, "all", broken)
    response = signed_in.get("/jobs")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "disk on fire" not in response.text and "Traceback" not in response.text
    assert "disk on fire" in caplog.text  # the server log has it


def test_pages_carry_security_headers(signed_in: Web) -> None:
    headers = signed_in.get("/rules").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_api_keeps_its_own_answers_beside_the_pages(signed_in: Web) -> None:
    unknown = signed_in.client.get("/api/v2/nope")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["status"] == "404"
    wrong_method = signed_in.client.put("/api/v2/siem-historical-detections/jobs")
    assert wrong_method.status_code == 405 and "errors" in wrong_method.json()
    assert signed_in.client.get("/openapi.json").json()["info"]["title"] == "Hindsight"
    paths = signed_in.client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if not path.startswith("/api/")]  # no page in the API
    assert signed_in.client.get("/", follow_redirects=False).headers["location"] == "/rules"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_load_nothing_from_other_hosts(web: Web, path: str) -> None:
    html = web.client.get(path).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(source.startswith("/") for source in sources), sources
    assert "fonts.googleapis" not in html and "cdn." not in html
    for source in sources:
        asset = web.client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 500


def test_the_vendored_assets_ship_with_their_licences() -> None:
    root = Path(__file__).resolve().parents[2] / "engine"
    for folder in ("web/static/vendor/htmx", "api/static/swagger-ui", "api/static/redoc"):
        assert (root / folder / "LICENSE").is_file(), folder
