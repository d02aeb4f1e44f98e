"""The job panel (summary, results list), result details with matched logs, and conversion."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from engine.core.severity import SEVERITIES_DESCENDING as SEVERITIES
from engine.search import search
from engine.web.panel import RESULTS_PER_PAGE, SORTS
from engine.web.render import parse_iso
from engine.web.results import LOGS_PER_PAGE
from tests.web.conftest import BRUTE_FORCE, EACH_FAILURE, SAMPLE_ARCHIVE, Web, serve_web

RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def _ids(html: str) -> list[str]:
    return re.findall(r'data-result-id="([^"]+)"', html)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Web, str]]:
    """A server with a finished job of 220 results (8 high, 212 low), shared by read-only tests."""
    with serve_web(tmp_path_factory.mktemp("many")) as web:
        web.sign_in()
        yield web, web.run(web.stored_rule(EACH_FAILURE))


def test_the_summary_says_what_the_run_did(many: tuple[Web, str]) -> None:
    web, job_id = many
    html = web.get(f"/jobs/{job_id}").text
    stats = web.service.get(job_id).statistics or {}
    assert stats["events_scanned"] == 27900
    assert '<span class="value" id="events-scanned">27,900</span>' in html
    matched = stats["events_matched"]["failure"]
    assert f'<span class="mono">failure</span> {matched:,}' in html
    assert re.search(r'id="time-taken">[0-9.]+ s<', html)
    assert "8 high" in html and "212 low" in html and "all 2 cases" in html


def _naive_key(row: dict[str, Any], name: str) -> Any:
    inner = row["attributes"]["attributes"]
    workflow = inner["workflow"]
    return {
        "timestamp": row["ts"],
        "severity": -RANK[row["attributes"]["status"]],
        "title": inner["title"].casefold(),
        "group": " ".join(f"{k}:{v}" for k, v in inner["group_by"].items()).casefold(),
        "first_seen": parse_iso(workflow["first_seen"]),
        "last_seen": parse_iso(workflow["last_seen"]),
        "events": workflow["events_matched"],
    }[name]


@pytest.mark.parametrize("name", list(SORTS))
@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
def test_the_results_list_sorts_and_pages(
    many: tuple[Web, str], name: str, descending: bool
) -> None:
    web, job_id = many
    documents = [
        {**record.document, "ts": record.timestamp_ms}
        for record in web.service.jobs.results(job_id)
    ]
    expected = [
        row["id"]
        for row in sorted(
            documents,
            key=lambda row: (_naive_key(row, name), row["ts"], row["id"]),
            reverse=descending,
        )
    ]
    sort = f"-{name}" if descending else name
    pages = -(-len(expected) // RESULTS_PER_PAGE)
    shown = [
        _ids(web.get(f"/jobs/{job_id}?sort={sort}&page={n}").text) for n in range(1, pages + 1)
    ]
    assert [len(page) for page in shown[:-1]] == [RESULTS_PER_PAGE] * (pages - 1)
    assert [item for page in shown for item in page] == expected


def test_the_results_list_filters_with_the_query_language(many: tuple[Web, str]) -> None:
    web, job_id = many
    high = {r.id for r in web.service.jobs.results(job_id) if r.severity == "high"}
    assert set(_ids(web.get(f"/jobs/{job_id}?q=status:high").text)) == high
    email = "emma.larsen@example.com"
    mine = {
        r.id
        for r in web.service.jobs.results(job_id)
        if r.document["attributes"]["attributes"]["group_by"]["@usr.email"] == email
    }
    assert set(_ids(web.get(f"/jobs/{job_id}?q=@usr.email:{email}").text)) == mine
    broken = web.get(f"/jobs/{job_id}?q=status:(high").text
    assert "unbalanced parenthesis" in broken


def test_a_job_without_results_says_what_to_try(signed_in: Web) -> None:
    job_id = signed_in.run("eh4-lwa-d9z")  # AWS AMI Made Public: nothing in the sample
    html = signed_in.get(f"/jobs/{job_id}").text
    assert "The rule would not have fired" in html and "run it again" in html


def _naive_matched(result: dict[str, Any], query: str, field: str, column: str) -> list[str]:
    inner = result["attributes"]["attributes"]
    first = parse_iso(inner["workflow"]["first_seen"])
    last = parse_iso(inner["workflow"]["last_seen"])
    assert first is not None and last is not None
    found = search(query, SAMPLE_ARCHIVE, start=first, end=last + 1)
    value = inner["group_by"][field]
    kept = found.filter(pl.col(column).cast(pl.String) == value).sort("timestamp", "id")
    return [str(item) for item in kept["id"].to_list()]


@pytest.mark.parametrize(
    ("rule", "field"),
    [(BRUTE_FORCE, "@usr.email"), ("web-scanner-user-agent", "@network.client.ip")],
)
def test_matched_logs_are_the_groups_events_between_first_and_last_seen(
    signed_in: Web, rule: str, field: str
) -> None:
    job_id = signed_in.run(rule)
    (result,) = signed_in.service.jobs.results(job_id)
    query = signed_in.service.library[rule].queries[0].query
    assert query is not None
    expected = _naive_matched(result.document, query, field, field)
    assert (
        len(expected) == result.document["attributes"]["attributes"]["workflow"]["events_matched"]
    )
    pages = -(-len(expected) // LOGS_PER_PAGE)
    shown: list[str] = []
    for number in range(1, pages + 1):
        html = signed_in.get(f"/results/{result.id}?logs={number}").text
        shown += re.findall(r'data-log-id="([^"]+)"', html)
    assert shown == expected
    first = signed_in.get(f"/results/{result.id}").text
    assert f'Matched logs <span class="count">{len(expected)}</span>' in first
    assert '<details class="log-details">' in first
    assert f'<td class="mono">{field}</td>' in first  # the attributes table


def test_result_details_show_group_case_message_and_samples(signed_in: Web) -> None:
    job_id = signed_in.run(BRUTE_FORCE)
    (result,) = signed_in.service.jobs.results(job_id)
    html = signed_in.get(f"/results/{result.id}").text
    assert "emma.larsen@example.com" in html
    assert "10 failures in 5 minutes" in html and "failed_login &gt; 9" in html
    assert '<time datetime="2024-03-07T03:12:05.000Z">' in html
    assert '<time datetime="2024-03-07T03:14:39.000Z">' in html
    assert "<h2>Triage</h2>" in html  # the rendered message
    assert 'Samples kept with the result <span class="count">10</span>' in html
    assert "Convert to signal" in html and 'id="convert-dialog"' in html


def test_converting_from_the_dialog_makes_a_signal_and_marks_the_result(signed_in: Web) -> None:
    job_id = signed_in.run(BRUTE_FORCE)
    (result,) = signed_in.service.jobs.results(job_id)
    form = {
        "result": result.id,
        "severity": "critical",
        "notifications": "@slack-soc",
        "message": "Confirmed",
    }
    response = signed_in.post("/convert", {**form, "back": f"/results/{result.id}"})
    assert response.status_code == 303
    signal_id = response.headers["location"].rsplit("/", 1)[-1]
    signal = signed_in.service.signals.get(signal_id)
    assert (
        signal is not None
        and signal.severity == "critical"
        and signal.notifications == ["@slack-soc"]
    )
    assert signal.result_id == result.id
    html = signed_in.get(f"/results/{result.id}").text
    assert f'href="/signals/{signal_id}"' in html and 'id="convert-dialog"' not in html
    panel = signed_in.get(f"/jobs/{job_id}").text
    assert f'href="/signals/{signal_id}"' in panel and 'disabled title="Already converted"' in panel
    again = signed_in.post("/convert", form)
    assert again.headers["location"] == f"/signals/{signal_id}"  # idempotent
    assert len(signed_in.service.signals.all()) == 1


def test_several_results_convert_at_once(signed_in: Web) -> None:
    web, job_id = signed_in, signed_in.run(signed_in.stored_rule(EACH_FAILURE))
    chosen = _ids(web.get(f"/jobs/{job_id}").text)[:3]
    page = web.get(f"/convert?{'&'.join(f'result={item}' for item in chosen)}&back=/jobs/{job_id}")
    assert page.text.count('name="result"') == 3
    response = web.client.post(
        "/convert",
        data={
            "csrf_token": web.token,
            "result": chosen,
            "severity": "high",
            "message": "m",
            "back": f"/jobs/{job_id}",
        },
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, f"/jobs/{job_id}")
    assert sorted(signal.result_id for signal in web.service.signals.all()) == sorted(chosen)
    assert "Converted 3 results to signals" in web.get(f"/jobs/{job_id}").text


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"severity": "high"}, 400, "Choose at least one result"),
        ({"result": "nope", "severity": "high"}, 404, "job result nope was not found"),
        ({"result": "RESULT", "severity": "urgent"}, 400, "Choose a severity"),
    ],
    ids=["nothing-chosen", "unknown-result", "bad-severity"],
)
def test_a_refused_conversion_says_why(
    signed_in: Web, form: dict[str, str], status: int, message: str
) -> None:
    job_id = signed_in.run(BRUTE_FORCE)
    (result,) = signed_in.service.jobs.results(job_id)
    data = {key: value.replace("RESULT", result.id) for key, value in form.items()}
    response = signed_in.post("/convert", data)
    assert response.status_code == status
    assert message in response.text
    assert signed_in.service.signals.all() == []


def test_messages_are_rendered_as_markdown_without_html(signed_in: Web) -> None:
    job_id = signed_in.run(BRUTE_FORCE)
    (result,) = signed_in.service.jobs.results(job_id)
    hostile = (
        "**Confirmed** <script>alert(1)</script> <img src=x onerror=alert(2)> "
        "[click](javascript:alert(3)) [docs](https://example.com/runbook)"
    )
    response = signed_in.post(
        "/convert", {"result": result.id, "severity": "high", "message": hostile}
    )
    html = signed_in.get(response.headers["location"]).text
    message = html[html.index('id="signal-message"') :].split("</section>", 1)[0]
    assert "<strong>Confirmed</strong>" in message
    assert "<script" not in message and "<img" not in message
    assert "&lt;script&gt;" in message
    assert 'href="javascript:' not in message
    assert 'href="https://example.com/runbook"' in message
