"""What the edge refuses before any model, store or polars sees it: integers beyond 64 bits,
times no date can hold, foreign and oversized cursors, over-deep templates and bodies, invalid
Unicode, and oversized filter queries. Each answer is a 400 Datadog body naming the field."""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.api.bodies import MAX_JSON_DEPTH
from engine.api.filters import MAX_QUERY_CHARS, MAX_QUERY_TERMS
from engine.rules.template_eval import MAX_DEPTH
from tests.api.conftest import (
    DAY_MS,
    EACH,
    HISTORICAL,
    LIBRARY_RULE_ID,
    R1,
    RULES,
    SIGNALS,
    THREAT_HUNTING,
    Api,
    convert_body,
    definition,
    from_rule_body,
    run_body,
)
from tests.detect.builders import T

BEYOND_64_BITS = 99_999_999_999_999_999_999


def detail(response: Any) -> str:
    """The detail of a one-error JSON:API error body (asserting the shape)."""
    body = response.json()
    assert set(body) == {"errors"}, body
    (error,) = body["errors"]
    assert error["status"] == str(response.status_code)
    text: str = error["detail"]
    return text


def post_text(api: Api, path: str, text: str) -> Any:
    """POST a JSON text as it is (e.g. with `\\ud800` escapes)."""
    headers = {**api.headers, "content-type": "application/json"}
    return api.client.post(path, content=text.encode(), headers=headers)


def cursor_of(raw: bytes) -> str:
    """A cursor holding `raw` (the server's cursor encoding)."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def from_rule_with(**changes: Any) -> dict[str, Any]:
    """A fromRule run body of the library rule with some fields changed."""
    body = from_rule_body(LIBRARY_RULE_ID)
    body["data"]["attributes"]["fromRule"].update(changes)
    return body


# --- integers and times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (f"{HISTORICAL}/histsignals", {"filter[from]": str(BEYOND_64_BITS)}, "filter[from]"),
        (f"{THREAT_HUNTING}/histsignals", {"filter[to]": str(-BEYOND_64_BITS)}, "filter[to]"),
        (SIGNALS, {"filter[from]": str(2**63)}, "filter[from]"),
        (f"{HISTORICAL}/jobs", {"page[number]": str(BEYOND_64_BITS)}, "page[number]"),
        (RULES, {"page[number]": str(2**63)}, "page[number]"),
    ],
    ids=["histsignals-from", "threat-hunting-to", "signals-from", "jobs-page", "rules-page"],
)
def test_query_integers_beyond_64_bits_are_400_naming_the_parameter(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    response = api.client.get(path, params=params, headers=api.headers)
    assert response.status_code == 400
    assert f"{field}: must be" in detail(response)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{HISTORICAL}/histsignals/search", {"filter": {"from": BEYOND_64_BITS}}, "filter.from"),
        (f"{HISTORICAL}/histsignals/search", {"filter": {"to": BEYOND_64_BITS}}, "filter.to"),
        (f"{SIGNALS}/search", {"page": {"limit": -BEYOND_64_BITS}}, "page.limit"),
        (
            f"{HISTORICAL}/jobs",
            run_body(definition(R1, start=2**63, end=2**63 + 60_000)),
            "data.attributes.jobDefinition.from",
        ),
        (
            f"{HISTORICAL}/jobs",
            run_body(definition(R1, end=2**64)),
            "data.attributes.jobDefinition.to",
        ),
        (f"{HISTORICAL}/jobs", from_rule_with(to=2**63), "data.attributes.fromRule.to"),
        (
            f"{HISTORICAL}/jobs",
            from_rule_with(caseIndex=2**70),
            "data.attributes.fromRule.caseIndex",
        ),
    ],
    ids=["search-from", "search-to", "search-limit", "job-from", "job-to", "rule-to", "case"],
)
def test_body_integers_beyond_64_bits_are_400_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = api.client.post(path, json=body, headers=api.headers)
    assert response.status_code == 400
    assert detail(response) == (
        f"invalid request: {field}: {_out_of_range(body, field)} is out of range: "
        "integers must fit in 64 bits (signed)"
    )
    assert api.service.jobs.all() == []


def _out_of_range(body: dict[str, Any], field: str) -> int:
    value: Any = body
    for part in field.split("."):
        value = value[part]
    assert isinstance(value, int)
    return value


@pytest.mark.parametrize("field", ["from", "to"])
def test_job_times_no_date_can_hold_are_400(api: Api, field: str) -> None:
    job = definition(R1)
    job[field] = 2**62  # fits 64 bits, but is far beyond the year 9999
    response = api.client.post(f"{HISTORICAL}/jobs", json=run_body(job), headers=api.headers)
    assert response.status_code == 400
    assert f"{field}: must be <= 253402300799999 (got {2**62})" in detail(response)


def test_a_search_from_far_in_the_past_is_400_not_a_broken_next_link(api: Api) -> None:
    body = {"filter": {"from": -100_000_000_000_000}, "page": {"limit": 1}}
    response = api.client.post(f"{HISTORICAL}/histsignals/search", json=body, headers=api.headers)
    assert response.status_code == 400
    assert detail(response) == (
        "filter.from: must be between 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z "
        "(epoch ms -62135596800000 to 253402300799999; got -100000000000000)"
    )


def test_a_negative_from_still_builds_the_next_link(api: Api) -> None:
    api.finish(api.run(run_body(definition(EACH))))
    before_1970 = -86_400_000 * 365  # 1969-01-01
    body = {"filter": {"from": before_1970}, "page": {"limit": 1}}
    response = api.client.post(f"{HISTORICAL}/histsignals/search", json=body, headers=api.headers)
    assert response.status_code == 200
    link = urlsplit(response.json()["links"]["next"])
    assert parse_qs(link.query)["filter[from]"] == ["1969-01-01T00:00:00.000Z"]
    following = api.client.get(f"{link.path}?{link.query}", headers=api.headers)
    assert following.status_code == 200
    assert len(following.json()["data"]) == 1


# --- cursors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of(b"[" * 3000),
        cursor_of(json.dumps([BEYOND_64_BITS, "x"]).encode()),
        cursor_of(json.dumps([T, "x" * 129]).encode()),
        cursor_of(json.dumps([T, "x"]).encode() + b" " * 400),
        "A" * 60_000,
    ],
    ids=["3000-brackets", "huge-timestamp", "long-id", "oversized", "60k-characters"],
)
def test_foreign_cursors_are_400_invalid_cursor(api: Api, cursor: str) -> None:
    listed = api.client.get(
        f"{HISTORICAL}/histsignals", params={"page[cursor]": cursor}, headers=api.headers
    )
    searched = api.client.post(
        f"{SIGNALS}/search", json={"page": {"cursor": cursor}}, headers=api.headers
    )
    assert (listed.status_code, searched.status_code) == (400, 400)
    assert detail(listed) == "page[cursor]: invalid cursor (not a cursor this server returned)"
    assert detail(searched) == "page.cursor: invalid cursor (not a cursor this server returned)"


# --- templates -----------------------------------------------------------------------------------

DEEP_EVAL = '{{eval "' + "(" * 1000 + "1" + ")" * 1000 + '"}}'
TOO_DEEP = f"the expression is nested more than {MAX_DEPTH} levels deep"


@pytest.mark.parametrize(
    "expression",
    ["(" * 1000 + "1" + ")" * 1000, "-" * 1000 + "1", "1+" * 1000 + "1", "2^" * 1000 + "1"],
    ids=["parentheses", "unary-minus", "chained-plus", "power-tower"],
)
def test_a_deep_eval_in_a_job_message_is_400_naming_the_limit(api: Api, expression: str) -> None:
    job = {**definition(R1), "message": '{{eval "' + expression + '"}}'}
    response = api.client.post(f"{HISTORICAL}/jobs", json=run_body(job), headers=api.headers)
    assert response.status_code == 400
    assert "message: invalid template at line 1, column 1" in detail(response)
    assert TOO_DEEP in detail(response)


def test_a_deep_eval_in_a_rule_message_is_400_naming_the_limit(api: Api) -> None:
    response = api.client.post(RULES, json={**R1, "message": DEEP_EVAL}, headers=api.headers)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0] == "Invalid rule configuration"
    assert TOO_DEEP in errors[1]


def test_deeply_nested_template_blocks_are_400(api: Api) -> None:
    message = "{{#if @a}}" * 1000 + "x" + "{{/if}}" * 1000
    response = api.client.post(RULES, json={**R1, "message": message}, headers=api.headers)
    assert response.status_code == 400
    assert "blocks nest at most 50 levels deep" in response.json()["errors"][1]


# --- bodies --------------------------------------------------------------------------------------


def test_a_body_nested_too_deep_is_400_naming_the_limit(api: Api) -> None:
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH + 5):
        deep = [deep]
    job = {**definition(R1), "tags": deep}
    response = api.client.post(f"{HISTORICAL}/jobs", json=run_body(job), headers=api.headers)
    assert response.status_code == 400
    assert detail(response).startswith("invalid request: data.attributes.jobDefinition.tags[0]")
    assert detail(response).endswith(f"is nested more than {MAX_JSON_DEPTH} levels deep")


def test_a_body_deeper_than_the_json_parser_goes_is_400(api: Api) -> None:
    response = post_text(api, f"{HISTORICAL}/histsignals/search", "[" * 200_000)
    assert response.status_code == 400
    assert detail(response) == (
        f"invalid request: the request body: is nested more than {MAX_JSON_DEPTH} levels deep"
    )


@pytest.mark.parametrize("text", ["0", '"run"', "null", "18446744073709551616"])
def test_a_body_that_is_a_bare_value_is_400(api: Api, text: str) -> None:
    response = post_text(api, f"{HISTORICAL}/jobs", text)
    assert response.status_code == 400
    assert detail(response).startswith("invalid request: the request body")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_that_are_not_finite_are_400(api: Api, literal: str) -> None:
    text = json.dumps(run_body(definition(R1))).replace('"from": ', f'"from": {literal}, "x": ', 1)
    response = post_text(api, f"{HISTORICAL}/jobs", text)
    assert response.status_code == 400
    assert "data.attributes.jobDefinition.from: must be a finite number" in detail(response)


# --- invalid Unicode -----------------------------------------------------------------------------

SURROGATE = "\ud800"
NOT_UNICODE = "is not valid Unicode (it holds a lone surrogate such as \\ud800)"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{HISTORICAL}/jobs", from_rule_body(SURROGATE), "data.attributes.fromRule.id"),
        (
            f"{THREAT_HUNTING}/jobs",
            run_body({**definition(R1), "name": SURROGATE}),
            "data.attributes.jobDefinition.name",
        ),
        (RULES, {**R1, "name": "brute " + SURROGATE}, "name"),
        (f"{HISTORICAL}/jobs/signal_convert", convert_body([SURROGATE]), None),
        (f"{SIGNALS}/search", {"filter": {"query": SURROGATE}}, "filter.query"),
    ],
    ids=["fromRule-id", "job-name", "rule-name", "convert-id", "search-query"],
)
def test_lone_surrogates_in_bodies_are_400_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str | None
) -> None:
    response = post_text(api, path, json.dumps(body))
    assert response.status_code == 400
    where = field or "data.attributes.jobResultIds[0]"
    assert detail(response) == f"invalid request: {where}: {NOT_UNICODE}"
    assert api.service.jobs.all() == []
    assert api.service.rules.all() == []


def test_a_lone_surrogate_in_a_member_name_is_400(api: Api) -> None:
    response = post_text(api, RULES, json.dumps({**R1, SURROGATE: 1}))
    assert response.status_code == 400
    assert detail(response) == (
        "invalid request: \\ud800: is a name that is not valid Unicode (lone surrogate)"
    )


def test_a_rule_update_with_a_lone_surrogate_is_400(api: Api) -> None:
    created = api.client.post(RULES, json=R1, headers=api.headers).json()
    response = post_text(api, RULES, json.dumps({**R1, "name": SURROGATE}))
    update = api.client.put(
        f"{RULES}/{created['id']}",
        content=json.dumps({"message": SURROGATE}).encode(),
        headers={**api.headers, "content-type": "application/json"},
    )
    assert (response.status_code, update.status_code) == (400, 400)
    assert api.client.get(f"{RULES}/{created['id']}", headers=api.headers).json() == created


@pytest.mark.parametrize(
    "path",
    [
        f"{HISTORICAL}/histsignals?filter[query]=%ED%A0%80",
        f"{SIGNALS}?filter[query]=%FF%FE",
        f"{HISTORICAL}/histsignals/%ED%A0%80",
        f"{RULES}/%ED%A0%80",
        f"{HISTORICAL}/jobs/%ED%A0%80",
    ],
    ids=["query-surrogate", "query-not-utf8", "histsignal-id", "rule-id", "job-id"],
)
def test_invalid_utf8_in_urls_never_reaches_a_lookup(api: Api, path: str) -> None:
    response = api.client.get(path, headers=api.headers)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "errors" in response.json()


# --- filter queries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [f"{HISTORICAL}/histsignals/search", f"{SIGNALS}/search"],
    ids=["histsignals", "signals"],
)
def test_a_200000_character_filter_query_is_400_naming_the_limit(api: Api, path: str) -> None:
    api.finish(api.run(run_body(definition(EACH))))
    body = {"filter": {"query": "a" * 200_000}}
    response = api.client.post(path, json=body, headers=api.headers)
    assert response.status_code == 400
    assert detail(response) == (
        f"filter.query: the query is 200000 characters long; at most {MAX_QUERY_CHARS} "
        "characters are allowed"
    )


@pytest.mark.parametrize(
    ("terms", "joiner"),
    [(4000, " "), (20000, " OR "), (MAX_QUERY_TERMS + 1, " OR ")],
    ids=["4000-and", "20000-or", "one-too-many"],
)
def test_big_filter_queries_are_refused_at_once(api: Api, terms: int, joiner: str) -> None:
    api.finish(api.run(run_body(definition(EACH))))
    query = joiner.join(f"t{n}" for n in range(terms))
    started = time.perf_counter()
    response = api.client.post(
        f"{HISTORICAL}/histsignals/search",
        json={"filter": {"query": query}},
        headers=api.headers,
    )
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 400
    assert "filter.query: the query is" in detail(response)


def test_a_phrase_counts_one_term_per_word(api: Api) -> None:
    words = " ".join(f"w{n}" for n in range(MAX_QUERY_TERMS + 1))
    response = api.client.get(
        f"{HISTORICAL}/histsignals",
        params={"filter[query]": f'"{words}"'},
        headers=api.headers,
    )
    assert response.status_code == 400
    assert detail(response) == (
        f"filter[query]: the query is made of {MAX_QUERY_TERMS + 1} terms; "
        f"at most {MAX_QUERY_TERMS} terms are allowed"
    )


def test_a_cidr_counts_one_term_per_block(api: Api) -> None:
    blocks = ", ".join(f"10.{n // 256}.{n % 256}.0/24" for n in range(MAX_QUERY_TERMS + 1))
    response = api.client.post(
        f"{SIGNALS}/search",
        json={"filter": {"query": f"CIDR(@network.client.ip, {blocks})"}},
        headers=api.headers,
    )
    assert response.status_code == 400
    assert f"made of {MAX_QUERY_TERMS + 1} terms" in detail(response)


def test_a_filter_query_at_the_limit_is_answered(api: Api) -> None:
    job_id = api.run(run_body(definition(EACH)))
    api.finish(job_id)
    query = " OR ".join(["@usr.id:alice", *(f"nobody{n}" for n in range(MAX_QUERY_TERMS - 1))])
    response = api.client.get(
        f"{HISTORICAL}/jobs/{job_id}/histsignals",
        params={"filter[query]": query, "page[limit]": 1000},
        headers=api.headers,
    )
    assert response.status_code == 200
    assert len(response.json()["data"]) == 4  # alice's four failures


# --- body size and authentication ----------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "streamed"])
def test_an_oversized_body_from_a_caller_without_keys_is_403_not_413(
    api: Api, declared: bool
) -> None:
    size = 1_048_576 + 10  # the default limit, plus 10
    body = b"x" * size
    content: Any = body if declared else iter([body[: size // 2], body[size // 2 :]])
    anonymous = api.client.post(f"{HISTORICAL}/jobs", content=content)
    assert anonymous.status_code == 403
    assert anonymous.json() == {"errors": ["Forbidden"]}
    content = body if declared else iter([body[: size // 2], body[size // 2 :]])
    keyed = api.client.post(f"{HISTORICAL}/jobs", content=content, headers=api.headers)
    assert keyed.status_code == 413


def test_a_job_over_a_day_range_is_still_accepted(api: Api) -> None:
    """The time bounds leave ordinary (and long) ranges alone."""
    job = definition(EACH, start=0, end=T + 400 * DAY_MS)
    assert api.finish(api.run(run_body(job)))["attributes"]["jobStatus"] == "completed"
