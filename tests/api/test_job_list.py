"""`GET /jobs`: paging, sorting and `filter[query]` on every job field, under both path families.

The server holds five jobs, created in this order:

| key | name | status | created by | from rule |
|---|---|---|---|---|
| spray | Okta password spray | cancelled | alice.admin | |
| brute | Okta brute force | completed | alice.admin | |
| each | EACH | completed | bob.analyst | |
| library | R1 | completed | carol | library-r1 |
| aws | AWS root login | failed | bob.analyst | |
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import engine.service.jobs
from engine.core.errors import HindsightError
from tests.api.conftest import (
    EACH,
    HISTORICAL,
    LIBRARY_RULE_ID,
    R1,
    Api,
    Hold,
    definition,
    from_rule_body,
    run_body,
    serve,
)

ORDER = ("spray", "brute", "each", "library", "aws")  # creation order


@pytest.fixture(scope="module")
def jobs(
    tmp_path_factory: pytest.TempPathFactory, archive: Path, library: Path
) -> Iterator[tuple[Api, dict[str, str]]]:
    """A server holding the five jobs of the table above, and their ids by key."""
    with serve(tmp_path_factory.mktemp("job-list"), archive, library) as api:
        alice = api.headers
        bob = api.key("security_monitoring_rules_write", name="bob.analyst")
        carol = api.key("security_monitoring_rules_write", name="carol")
        ids: dict[str, str] = {}
        hold = Hold(api.service)
        ids["spray"] = api.run(run_body(definition({**R1, "name": "Okta password spray"})), **alice)
        api.client.patch(f"{HISTORICAL}/jobs/{ids['spray']}/cancel", headers=alice)
        hold.release()
        ids["brute"] = api.run(run_body(definition({**R1, "name": "Okta brute force"})), **alice)
        ids["each"] = api.run(run_body(definition(EACH)), **bob)
        ids["library"] = api.run(from_rule_body(LIBRARY_RULE_ID), **carol)
        for job_id in ids.values():
            api.service.runner.wait(job_id, 30)
        with pytest.MonkeyPatch.context() as patch:

            def broken(*_args: Any, **_kwargs: Any) -> None:
                raise HindsightError("boom")

            patch.setattr(engine.service.jobs, "run", broken)
            ids["aws"] = api.run(run_body(definition({**R1, "name": "AWS root login"})), **bob)
            api.service.runner.wait(ids["aws"], 30)
        yield api, ids


def listing(
    jobs: tuple[Api, dict[str, str]], family: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    api, _ids = jobs
    response = api.client.get(f"{family}/jobs", params=params, headers=api.headers)
    return response.status_code, response.json()


def keys_of(jobs: tuple[Api, dict[str, str]], body: dict[str, Any]) -> list[str]:
    by_id = {job_id: key for key, job_id in jobs[1].items()}
    return [by_id[item["id"]] for item in body["data"]]


def test_the_fixture_jobs_have_the_statuses_of_the_table(jobs: tuple[Api, dict[str, str]]) -> None:
    api, ids = jobs
    statuses = {key: api.service.get(job_id).status for key, job_id in ids.items()}
    assert statuses == {
        "spray": "cancelled",
        "brute": "completed",
        "each": "completed",
        "library": "completed",
        "aws": "failed",
    }


def test_default_list_is_newest_first_with_the_total(
    jobs: tuple[Api, dict[str, str]], family: str
) -> None:
    status, body = listing(jobs, family)
    assert status == 200
    assert keys_of(jobs, body) == list(reversed(ORDER))
    assert body["meta"] == {"totalCount": 5}
    assert all(item["type"] == "historicalDetectionsJob" for item in body["data"])


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("createdAt", list(ORDER)),
        ("-createdAt", list(reversed(ORDER))),
        ("jobName", ["aws", "each", "brute", "spray", "library"]),
        ("-jobName", ["library", "spray", "brute", "each", "aws"]),
    ],
    ids=["createdAt", "-createdAt", "jobName", "-jobName"],
)
def test_sort_orders_the_jobs(
    jobs: tuple[Api, dict[str, str]], family: str, sort: str, expected: list[str]
) -> None:
    status, body = listing(jobs, family, sort=sort)
    assert status == 200
    assert keys_of(jobs, body) == expected


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_pages_cover_every_job_once(jobs: tuple[Api, dict[str, str]], size: int) -> None:
    seen: list[str] = []
    number = 0
    while True:
        status, body = listing(
            jobs, HISTORICAL, **{"page[size]": size, "page[number]": number, "sort": "createdAt"}
        )
        assert status == 200
        assert body["meta"]["totalCount"] == 5
        assert len(body["data"]) <= size
        if not body["data"]:
            break
        seen += keys_of(jobs, body)
        number += 1
    assert seen == list(ORDER)
    assert number == -(-5 // size)


def test_a_page_past_the_end_is_empty_with_the_total(jobs: tuple[Api, dict[str, str]]) -> None:
    status, body = listing(jobs, HISTORICAL, **{"page[size]": 10, "page[number]": 7})
    assert (status, body) == (200, {"data": [], "meta": {"totalCount": 5}})


@pytest.mark.parametrize(
    ("params", "mention"),
    [
        ({"page[size]": 101}, "page[size]: must be at most 100 (got 101)"),
        ({"page[size]": 0}, "page[size]: must be at least 1 (got 0)"),
        ({"page[size]": "ten"}, "page[size]: must be an integer (got ten)"),
        ({"page[number]": -1}, "page[number]: must be at least 0 (got -1)"),
        (
            {"sort": "status"},
            "sort: must be 'createdAt', '-createdAt', 'jobName' or '-jobName' (got status)",
        ),
    ],
    ids=["size-over-100", "size-zero", "size-not-a-number", "negative-number", "unknown-sort"],
)
def test_bad_list_parameters_are_400(
    jobs: tuple[Api, dict[str, str]], family: str, params: dict[str, Any], mention: str
) -> None:
    status, body = listing(jobs, family, **params)
    assert status == 400
    (error,) = body["errors"]
    assert error["status"] == "400"
    assert mention in error["detail"]


FILTERS = [
    ("id", "id:{brute}", ["brute"]),
    ("jobName-exact", 'jobName:"AWS root login"', ["aws"]),
    ("jobName-prefix", "jobName:Okta*", ["brute", "spray"]),
    ("jobName-suffix", "jobName:*spray", ["spray"]),
    ("jobName-one-char", "jobName:R?", ["library"]),
    ("jobName-case-insensitive", "jobName:okta\\ BRUTE\\ force", ["brute"]),
    ("jobName-attribute-exact", "@jobName:EACH", ["each"]),
    ("jobStatus-completed", "jobStatus:completed", ["library", "each", "brute"]),
    ("jobStatus-failed", "jobStatus:failed", ["aws"]),
    ("jobStatus-cancelled", "jobStatus:cancelled", ["spray"]),
    ("jobStatus-upper-case", "jobStatus:COMPLETED", ["library", "each", "brute"]),
    ("jobStatus-group", "jobStatus:(failed OR cancelled)", ["aws", "spray"]),
    ("createdByHandle", "createdByHandle:bob.analyst", ["aws", "each"]),
    ("createdFromRuleId", f"createdFromRuleId:{LIBRARY_RULE_ID}", ["library"]),
    ("createdFromRuleId-exists", "createdFromRuleId:*", ["library"]),
    ("free-text-name", "okta", ["brute", "spray"]),
    ("free-text-two-words", "brute okta", ["brute"]),
    ("and", "okta AND jobStatus:completed", ["brute"]),
    ("implicit-and", "okta jobStatus:cancelled", ["spray"]),
    ("or", "jobStatus:failed OR createdFromRuleId:*", ["aws", "library"]),
    ("not", "NOT jobStatus:completed", ["aws", "spray"]),
    ("minus", "-createdByHandle:bob.analyst", ["library", "brute", "spray"]),
    ("unknown-field", "priority:high", []),
    ("match-all", "*", ["aws", "library", "each", "brute", "spray"]),
]


@pytest.mark.parametrize(
    ("query", "expected"), [case[1:] for case in FILTERS], ids=[case[0] for case in FILTERS]
)
def test_filter_query_selects_jobs(
    jobs: tuple[Api, dict[str, str]], family: str, query: str, expected: list[str]
) -> None:
    status, body = listing(jobs, family, **{"filter[query]": query.format(**jobs[1])})
    assert status == 200
    assert keys_of(jobs, body) == expected
    assert body["meta"]["totalCount"] == len(expected)


def test_total_count_counts_every_match_not_the_page(jobs: tuple[Api, dict[str, str]]) -> None:
    status, body = listing(
        jobs, HISTORICAL, **{"filter[query]": "jobStatus:completed", "page[size]": 1}
    )
    assert status == 200
    assert len(body["data"]) == 1
    assert body["meta"]["totalCount"] == 3


def test_a_bad_filter_query_is_400_with_its_position(
    jobs: tuple[Api, dict[str, str]], family: str
) -> None:
    status, body = listing(jobs, family, **{"filter[query]": "jobStatus:(completed"})
    assert status == 400
    (error,) = body["errors"]
    assert error["source"] == {"parameter": "filter[query]"}
    assert error["meta"]["line"] == 1
    assert error["meta"]["column"] == 11
    assert "never closed" in error["meta"]["reason"]
    assert error["detail"].startswith("filter[query]: invalid query at line 1, column 11")
