"""Histsignal lists, search and details: paging, cursors, sorting, time bounds and queries.

The server holds three finished jobs over the test archive: R1 (1 high result, alice), EACH
(29 low results, one per event, job tag `team:secops`) and VPN (9 high results, one per
`source:vpn` event) — 39 results, many sharing a timestamp across jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.conftest import (
    EACH,
    HISTORICAL,
    R1,
    THREAT_HUNTING,
    UNKNOWN_JOB,
    Api,
    convert_body,
    definition,
    run_body,
    serve,
)
from tests.detect.builders import T, query, rule

VPN = rule(
    query("source:vpn", group_by=[]),
    cases=[{"status": "high", "condition": "a > 0"}],
    window=0,
    keep_alive=0,
    max_duration=0,
    name="VPN failures",
    message="Failures over VPN",
)
TOTAL = 39


@pytest.fixture(scope="module")
def hist(
    tmp_path_factory: pytest.TempPathFactory, archive: Path
) -> Iterator[tuple[Api, dict[str, str]]]:
    """A server with the jobs R1, EACH and VPN finished, and their ids."""
    with serve(tmp_path_factory.mktemp("histsignals"), archive) as api:
        ids = {
            name: api.run(run_body(definition(body)))
            for name, body in (("r1", R1), ("each", EACH), ("vpn", VPN))
        }
        for job_id in ids.values():
            api.finish(job_id)
        yield api, ids


def get(hist: tuple[Api, dict[str, str]], path: str, **params: Any) -> tuple[int, dict[str, Any]]:
    api, _ids = hist
    response = api.client.get(path, params=params, headers=api.headers)
    return response.status_code, response.json()


def search(
    hist: tuple[Api, dict[str, str]], body: Any, family: str = HISTORICAL
) -> tuple[int, dict[str, Any]]:
    api, _ids = hist
    response = api.client.post(f"{family}/histsignals/search", json=body, headers=api.headers)
    return response.status_code, response.json()


def ids_of(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["data"]]


def walk(hist: tuple[Api, dict[str, str]], path: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a list, following `meta.page.after`; checks `links.next` on the way."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        extra = {} if cursor is None else {"page[cursor]": cursor}
        status, body = get(hist, path, **params, **extra)
        assert status == 200
        pages.append(body)
        cursor = body["meta"]["page"].get("after")
        if cursor is None:
            assert "links" not in body
            return pages
        query_of_next = parse_qs(urlsplit(body["links"]["next"]).query)
        assert query_of_next["page[cursor]"] == [cursor]
    raise AssertionError("the cursors never ended")


def test_the_job_lists_hold_the_expected_results(hist: tuple[Api, dict[str, str]]) -> None:
    api, ids = hist
    assert [len(api.results(ids[name])) for name in ("r1", "each", "vpn")] == [1, 29, 9]


def test_a_job_list_defaults_to_ten_newest_first(
    hist: tuple[Api, dict[str, str]], family: str
) -> None:
    status, body = get(hist, f"{family}/jobs/{hist[1]['each']}/histsignals")
    assert status == 200
    assert len(body["data"]) == 10
    stamps = [item["attributes"]["timestamp"] for item in body["data"]]
    assert stamps == sorted(stamps, reverse=True)
    assert body["meta"]["status"] == "done"
    assert isinstance(body["meta"]["elapsed"], int)
    assert len(body["meta"]["request_id"]) == 32
    assert "after" in body["meta"]["page"]


@pytest.mark.parametrize("limit", [1, 7, 10, 29, 1000])
def test_cursors_walk_a_job_list_to_the_end_without_duplicates(
    hist: tuple[Api, dict[str, str]], family: str, limit: int
) -> None:
    pages = walk(hist, f"{family}/jobs/{hist[1]['each']}/histsignals", **{"page[limit]": limit})
    seen = [item for page in pages for item in ids_of(page)]
    assert len(seen) == len(set(seen)) == 29
    assert len(pages) == -(-29 // limit)
    assert all(len(page["data"]) == limit for page in pages[:-1])


@pytest.mark.parametrize("sort", ["-timestamp", "timestamp"])
def test_global_list_sorts_by_timestamp_then_id(
    hist: tuple[Api, dict[str, str]], sort: str
) -> None:
    pages = walk(hist, f"{HISTORICAL}/histsignals", sort=sort, **{"page[limit]": 6})
    items = [item for page in pages for item in page["data"]]
    keys = [(item["attributes"]["timestamp"], item["id"]) for item in items]
    assert len(keys) == len(set(keys)) == TOTAL
    assert keys == sorted(keys, reverse=sort == "-timestamp")
    assert len({stamp for stamp, _id in keys}) < TOTAL  # ties exist and are ordered by id


def test_links_next_is_the_request_url_with_the_cursor(hist: tuple[Api, dict[str, str]]) -> None:
    api, _ids = hist
    params = {"page[limit]": "4", "filter[query]": "status:low", "sort": "timestamp"}
    first = api.client.get(f"{THREAT_HUNTING}/histsignals", params=params, headers=api.headers)
    link = urlsplit(first.json()["links"]["next"])
    assert link.path == f"{THREAT_HUNTING}/histsignals"
    assert parse_qs(link.query) == {
        **{key: [value] for key, value in params.items()},
        "page[cursor]": [first.json()["meta"]["page"]["after"]],
    }
    second = api.client.get(f"{link.path}?{link.query}", headers=api.headers)
    assert second.status_code == 200
    assert ids_of(second.json())[0] not in ids_of(first.json())
    assert ids_of(first.json()) + ids_of(second.json()) == ids_of(
        api.client.get(
            f"{THREAT_HUNTING}/histsignals",
            params={**params, "page[limit]": "8"},
            headers=api.headers,
        ).json()
    )


@pytest.mark.parametrize(
    ("params", "mention"),
    [
        ({"page[limit]": 1001}, "page[limit]: must be at most 1000 (got 1001)"),
        ({"page[limit]": 0}, "page[limit]: must be at least 1 (got 0)"),
        ({"page[limit]": "many"}, "page[limit]: must be an integer (got many)"),
        ({"page[cursor]": "not-a-cursor"}, "page[cursor]: invalid cursor"),
        ({"sort": "severity"}, "sort: must be 'timestamp' or '-timestamp' (got severity)"),
        (
            {"filter[from]": "yesterday"},
            "filter[from]: must be an RFC 3339 date-time or epoch milliseconds",
        ),
        ({"filter[to]": "2024-13-01T00:00:00Z"}, "filter[to]: must be an RFC 3339"),
        (
            {"filter[from]": "2024-01-02T00:00:00Z", "filter[to]": "2024-01-01T00:00:00Z"},
            "filter[from]: must not be after filter[to]",
        ),
    ],
    ids=[
        "limit-over-1000",
        "limit-zero",
        "limit-not-a-number",
        "foreign-cursor",
        "unknown-sort",
        "from-not-a-time",
        "to-bad-month",
        "from-after-to",
    ],
)
@pytest.mark.parametrize("scope", ["all", "job"])
def test_bad_list_parameters_are_400(
    hist: tuple[Api, dict[str, str]], scope: str, params: dict[str, Any], mention: str
) -> None:
    path = (
        f"{HISTORICAL}/histsignals"
        if scope == "all"
        else f"{HISTORICAL}/jobs/{hist[1]['r1']}/histsignals"
    )
    status, body = get(hist, path, **params)
    assert status == 400
    (error,) = body["errors"]
    assert mention in error["detail"]


def test_a_job_list_of_an_unknown_job_is_404(hist: tuple[Api, dict[str, str]], family: str) -> None:
    status, body = get(hist, f"{family}/jobs/{UNKNOWN_JOB}/histsignals")
    assert (status, body["errors"][0]["detail"]) == (404, f"Job {UNKNOWN_JOB} was not found.")


TIME_BOUNDS = [
    ("rfc3339-both", "2024-01-01T00:16:40Z", "2024-01-01T00:36:40Z", 6),
    ("epoch-ms-both", str(T + 1_000_000), str(T + 2_200_000), 6),
    ("offset-and-fraction", "2024-01-01T01:16:40.000+01:00", "2024-01-01T00:36:40.000Z", 6),
    ("from-only", "2024-01-01T02:30:00Z", None, 7),
    ("to-only", None, "2024-01-01T00:03:00Z", 5),
    ("empty-window", "2030-01-01T00:00:00Z", None, 0),
]


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [case[1:] for case in TIME_BOUNDS],
    ids=[case[0] for case in TIME_BOUNDS],
)
def test_filter_from_and_to_bound_the_timestamp_inclusively(
    hist: tuple[Api, dict[str, str]], start: str | None, end: str | None, count: int
) -> None:
    params = {"page[limit]": 1000}
    if start is not None:
        params["filter[from]"] = start
    if end is not None:
        params["filter[to]"] = end
    status, body = get(hist, f"{HISTORICAL}/histsignals", **params)
    assert status == 200
    assert len(body["data"]) == count


QUERIES = [
    ("severity-high", "status:high", 10),
    ("severity-low", "status:low", 29),
    ("not-low", "-status:low", 10),
    ("source-tag", "source:vpn", 18),
    ("job-tag", "team:secops", 29),
    ("rule-name", "@workflow.rule.name:R1", 1),
    ("rule-name-wildcard", "@workflow.rule.name:VPN*", 9),
    ("events-matched", "@workflow.events_matched:>3", 1),
    ("host", "host:web-1", 16),
    ("service", "service:auth-api", 39),
    ("free-text-message", "vpn", 9),
    ("severity-and-source", "status:high source:auth", 1),
    ("or", "@workflow.rule.name:R1 OR @workflow.rule.name:EACH", 30),
    ("merged-sample-attribute", "@usr.id:u1", 7),
    ("group-value-quoted-key", '@group_by."@usr.id":alice', 1),
    ("nothing", "status:critical", 0),
]


@pytest.mark.parametrize(
    ("query_text", "count"), [case[1:] for case in QUERIES], ids=[case[0] for case in QUERIES]
)
def test_filter_query_selects_histsignals(
    hist: tuple[Api, dict[str, str]], query_text: str, count: int
) -> None:
    status, body = get(
        hist, f"{HISTORICAL}/histsignals", **{"filter[query]": query_text, "page[limit]": 1000}
    )
    assert status == 200, body
    assert len(body["data"]) == count


def test_filter_query_applies_within_a_job(hist: tuple[Api, dict[str, str]]) -> None:
    status, body = get(
        hist,
        f"{HISTORICAL}/jobs/{hist[1]['each']}/histsignals",
        **{"filter[query]": "source:vpn", "page[limit]": 100},
    )
    assert (status, len(body["data"])) == (200, 9)


def test_a_bad_histsignal_query_is_400_with_reason_line_and_column(
    hist: tuple[Api, dict[str, str]],
) -> None:
    status, body = get(
        hist, f"{HISTORICAL}/histsignals", **{"filter[query]": "status:high AND\n(source:vpn"}
    )
    assert status == 400
    (error,) = body["errors"]
    assert error["meta"] == {"reason": error["meta"]["reason"], "line": 2, "column": 1}
    assert "never closed" in error["meta"]["reason"]
    assert error["source"] == {"parameter": "filter[query]"}


# --- search -----------------------------------------------------------------------------------


def test_search_without_a_body_lists_ten_newest(
    hist: tuple[Api, dict[str, str]], family: str
) -> None:
    api, _ids = hist
    response = api.client.post(f"{family}/histsignals/search", headers=api.headers)
    listed = api.client.get(f"{family}/histsignals", headers=api.headers)
    assert response.status_code == 200
    assert ids_of(response.json()) == ids_of(listed.json())


def test_search_body_filters_sorts_and_pages(hist: tuple[Api, dict[str, str]], family: str) -> None:
    body = {
        "filter": {"query": "status:low", "from": "2024-01-01T00:00:00Z", "to": T + 2_200_000},
        "page": {"limit": 3},
        "sort": "timestamp",
    }
    seen: list[str] = []
    while True:
        status, answer = search(hist, body, family)
        assert status == 200
        seen += ids_of(answer)
        after = answer["meta"]["page"].get("after")
        if after is None:
            break
        body["page"]["cursor"] = after
    assert len(seen) == len(set(seen)) == 8  # alice's 4 events and i = 0..3


def test_search_links_next_is_a_list_url(hist: tuple[Api, dict[str, str]]) -> None:
    api, _ids = hist
    status, answer = search(hist, {"filter": {"query": "status:high"}, "page": {"limit": 4}})
    assert status == 200
    link = urlsplit(answer["links"]["next"])
    assert link.path == f"{HISTORICAL}/histsignals"
    following = api.client.get(f"{link.path}?{link.query}", headers=api.headers)
    assert following.status_code == 200
    assert len(following.json()["data"]) == 4
    assert not set(ids_of(following.json())) & set(ids_of(answer))


@pytest.mark.parametrize(
    ("body", "mention"),
    [
        ({"page": {"limit": 1001}}, "page.limit: must be between 1 and 1000 (got 1001)"),
        ({"filter": {"from": "soon"}}, "filter.from: must be an RFC 3339"),
        ({"filter": {"query": "status:(high"}}, "filter.query: invalid query"),
        ({"page": {"cursor": "@@@"}}, "page.cursor: invalid cursor"),
        ({"sort": "status"}, "sort: must be timestamp or -timestamp"),
        ({"filters": {}}, "filters: is not a known field"),
        ([], "the request body must be a JSON object (got an array)"),
    ],
    ids=[
        "limit-over-1000",
        "bad-from",
        "bad-query",
        "bad-cursor",
        "bad-sort",
        "unknown-field",
        "array-body",
    ],
)
def test_a_bad_search_body_is_400(
    hist: tuple[Api, dict[str, str]], body: Any, mention: str
) -> None:
    status, answer = search(hist, body)
    assert status == 400
    assert mention in answer["errors"][0]["detail"]


# --- one histsignal ---------------------------------------------------------------------------


def test_get_one_histsignal_moves_the_inner_map_to_custom(
    hist: tuple[Api, dict[str, str]], family: str
) -> None:
    api, ids = hist
    (listed,) = api.results(ids["r1"])
    status, body = get(hist, f"{family}/histsignals/{listed['id']}")
    assert status == 200
    single = body["data"]
    assert single["id"] == listed["id"]
    assert single["type"] == "signal"
    assert "attributes" not in single["attributes"]
    assert single["attributes"]["custom"] == listed["attributes"]["attributes"]
    assert {k: v for k, v in single["attributes"].items() if k != "custom"} == {
        k: v for k, v in listed["attributes"].items() if k != "attributes"
    }


@pytest.mark.parametrize(
    ("histsignal_id", "status"),
    [("0123456789abcdef0123456789abcdef", 404), ("bad id!", 400), ("x" * 129, 400)],
    ids=["unknown", "bad-characters", "too-long"],
)
def test_get_one_histsignal_errors(
    hist: tuple[Api, dict[str, str]], family: str, histsignal_id: str, status: int
) -> None:
    code, body = get(hist, f"{family}/histsignals/{histsignal_id}")
    assert code == status
    assert body["errors"][0]["status"] == str(status)


def test_a_converted_result_says_so(tmp_path: Path, archive: Path) -> None:
    with serve(tmp_path, archive) as api:
        job_id = api.finish(api.run(run_body(definition(R1))))["id"]
        (before,) = api.results(job_id)
        assert before["attributes"]["attributes"]["converted"] is False
        response = api.client.post(
            f"{HISTORICAL}/jobs/signal_convert",
            json=convert_body([before["id"]]),
            headers=api.headers,
        )
        assert response.status_code == 204
        (after,) = api.results(job_id)
        assert after["attributes"]["attributes"]["converted"] is True
        assert after["attributes"]["attributes"]["signal_id"].startswith("sig-")
