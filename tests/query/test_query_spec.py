"""SPEC §2.10 (every example row) and the query acceptance tests TC-18 .. TC-22 (SPEC §8)."""

from __future__ import annotations

import pytest
from query_cases import SPEC_2_10, Event, Example, attrs, msg, tagged

from engine.match import match

_IDS = [example.query for example in SPEC_2_10]


@pytest.mark.parametrize("example", SPEC_2_10, ids=_IDS)
def test_spec_2_10_row_matches_and_misses_in_one_archive(example: Example) -> None:
    events = example.matches + example.misses
    expected = [True] * len(example.matches) + [False] * len(example.misses)
    assert match(example.query, events) == expected


def _battery() -> list[tuple[str, Event, bool]]:
    cases: list[tuple[str, Event, bool]] = []
    for example in SPEC_2_10:
        cases.extend((example.query, event, True) for event in example.matches)
        cases.extend((example.query, event, False) for event in example.misses)
    return cases


_BATTERY = _battery()


@pytest.mark.parametrize(
    ("query", "event", "expected"),
    _BATTERY,
    ids=[
        f"{query}-{'match' if hit else 'miss'}{index}"
        for index, (query, _, hit) in enumerate(_BATTERY)
    ],
)
def test_tc19_query_syntax_battery_each_event_alone(
    query: str, event: Event, expected: bool
) -> None:
    # TC-19: each row as its own job over a single event (the archive holds only that event).
    assert match(query, [event]) == [expected]


# ---- TC-18: query typing and ranges ---------------------------------------------------------

TC18_QUERY = "@http.status_code:[400 TO 499] -@http.url:/health*"


def test_tc18_status_code_range_with_numbers_numeric_strings_and_exclusion() -> None:
    events = [
        attrs(http={"status_code": 404}),
        attrs(http={"status_code": "404"}),
        attrs(http={"status_code": 500}),
        attrs(http={"status_code": 404, "url": "/healthz"}),
        attrs(http={"status_code": "2"}),
    ]
    assert match(TC18_QUERY, events) == [True, True, False, False, False]


def test_tc18_integer_column_alone() -> None:
    events = [attrs(http={"status_code": code}) for code in (399, 400, 404, 499, 500)]
    assert match(TC18_QUERY, events) == [False, True, True, True, False]


def test_tc18_variant_b_range_is_numeric_for_numeric_strings() -> None:
    events = [attrs(b=value) for value in ("2", "10", "100", "101", "abc", "0", "1e1", 50, True)]
    assert match("@b:[1 TO 100]", events) == [
        True,
        True,
        True,
        False,
        False,
        False,
        True,
        True,
        False,
    ]


def test_tc18_variant_lexicographic_when_a_bound_is_not_a_number() -> None:
    events = [attrs(b=value) for value in ("apple", "banana", "cherry", "2")]
    assert match("@b:[b TO c]", events) == [False, True, False, False]


# ---- TC-20: free text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Login failed for alice", True),
        ("login-failed", True),
        ("failed login", False),
        ("Login failed DEBUG", False),
    ],
    ids=["phrase-case-insensitive", "phrase-across-punctuation", "wrong-order", "negated-term"],
)
def test_tc20_free_text_phrase_and_negated_term(message: str, expected: bool) -> None:
    assert match('"login failed" -debug', [msg(message)]) == [expected]


def test_tc20_all_messages_in_one_archive() -> None:
    messages = ["Login failed for alice", "login-failed", "failed login", "Login failed DEBUG"]
    assert match('"login failed" -debug', [msg(text) for text in messages]) == [
        True,
        True,
        False,
        False,
    ]


# ---- TC-21: tags vs attributes vs reserved ---------------------------------------------------


def test_tc21_tags_attributes_and_reserved_fields_resolve_differently() -> None:
    events = [
        {"tags": ["env:prod"], "service": "api", "attributes": {"team": "sec"}},
        {"service": "api", "attributes": {"env": "prod", "team": "sec"}},
        {"tags": ["env:prod", "service:api"], "service": "web", "attributes": {"team": "sec"}},
    ]
    assert match("env:prod service:api @team:sec", events) == [True, False, False]


# ---- TC-22: CIDR and arrays ------------------------------------------------------------------


def _client(ip: str) -> Event:
    return attrs(network={"client": {"ip": ip}}, usr={"roles": ["dev", "admin"]})


def test_tc22_ipv4_block_and_array_role() -> None:
    query = "CIDR(@network.client.ip,10.0.0.0/8) @usr.roles:admin"
    events = [_client("10.2.3.4"), _client("unknown"), _client("11.2.3.4")]
    assert match(query, events) == [True, False, False]


def test_tc22_ipv6_variant() -> None:
    query = "CIDR(@network.client.ip,fe80::/10) @usr.roles:admin"
    events = [_client("fe80::1"), _client("unknown"), _client("2001:db8::1")]
    assert match(query, events) == [True, False, False]


def test_tc22_role_missing_from_array_does_not_match() -> None:
    event = attrs(network={"client": {"ip": "10.2.3.4"}}, usr={"roles": ["dev"]})
    assert match("CIDR(@network.client.ip,10.0.0.0/8) @usr.roles:admin", [event]) == [False]


def test_tc21_tag_only_event_is_not_an_attribute_event() -> None:
    assert match("@env:prod", [tagged("env:prod"), attrs(env="prod")]) == [False, True]
