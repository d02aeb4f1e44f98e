"""The Datadog search the backend writes for each Sigma construct, and what it matches.

Each row pins the text and checks its meaning with `engine.match` against events that the
Sigma rule matches and events it does not; the property tests check that any literal value
survives escaping (equality and `contains`).
"""

from __future__ import annotations

import string
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection
from sigma.processing.pipeline import ProcessingPipeline

import engine
from engine.rules.sigma.backend import ESCAPED, HindsightDatadogBackend


def datadog_query(detection: dict[str, Any]) -> str:
    """The search for one Sigma detection, with no field-mapping pipeline."""
    rule = {
        "title": "t",
        "logsource": {"product": "test"},
        "detection": detection,
    }
    backend = HindsightDatadogBackend(ProcessingPipeline())
    (query,) = backend.convert(SigmaCollection.from_dicts([rule]))
    assert isinstance(query, str)
    return query


def matches(query: str, *values: Any, field: str = "f") -> list[bool]:
    """Whether `query` matches an event whose `field` is each value (`...`: no such field)."""
    events = [{"attributes": {} if value is ... else {field: value}} for value in values]
    return engine.match(query, events)


# (Sigma selection, Datadog search, values matched, values not matched)
CASES: list[tuple[str, dict[str, Any], str, list[Any], list[Any]]] = [
    (
        "backslash-kept",
        {"f|endswith": "\\reg.exe"},
        "@f:*\\\\reg.exe",
        ["C:\\Windows\\reg.exe"],
        ["C:\\Windows\\xreg.exe", "C:\\Windows\\reg.exe.bak"],
    ),
    (
        "single-char-wildcard",
        {"f": "a?c"},
        "@f:a?c",
        ["abc", "a-c"],
        ["ac", "abbc"],
    ),
    ("lte", {"f|lte": 5}, "@f:<=5", [5, 4, "3"], [6, "x"]),
    ("lt", {"f|lt": 5}, "@f:<5", [4], [5]),
    ("gte", {"f|gte": 5}, "@f:>=5", [5, 9], [4]),
    ("empty-value", {"f": ""}, '@f:""', [""], ["x", ...]),
    ("null", {"f": None}, "-@f:*", [..., None], ["x", ""]),
    ("exists-false", {"f|exists": False}, "-@f:*", [...], ["x"]),
    ("exists-true", {"f|exists": True}, "@f:*", ["x", ""], [...]),
    (
        "cidr",
        {"f|cidr": "10.0.0.0/8"},
        "CIDR(@f, 10.0.0.0/8)",
        ["10.1.2.3", "10.255.0.1"],
        ["11.0.0.1", "n/a"],
    ),
    ("cased", {"f|cased": "Abc"}, "@f:Abc", ["Abc"], ["abc"]),
    ("number", {"f": 4688}, "@f:4688", [4688, "4688"], [4689]),
    ("spaces-escaped", {"f": "a b"}, "@f:a\\ b", ["a b"], ["a  b", "ab"]),
    (
        "specials-escaped",
        {"f|contains": 'x(1):"y"'},
        '@f:*x\\(1\\)\\:\\"y\\"*',
        ['-x(1):"y"-'],
        ["x(1)y"],
    ),
    (
        "contains-all",
        {"f|contains|all": ["a", "b"]},
        "@f:*a* AND @f:*b*",
        ["xaybz"],
        ["xaz"],
    ),
    (
        "list-is-or",
        {"f": ["a", "b"]},
        "@f:a OR @f:b",
        ["a", "b"],
        ["c"],
    ),
    (
        "startswith",
        {"f|startswith": "C:\\Windows\\"},
        "@f:C\\:\\\\Windows\\\\*",
        ["C:\\Windows\\x"],
        ["D:\\Windows\\x", "C:Windows"],
    ),
]


@pytest.mark.parametrize(
    ("selection", "query", "hits", "misses"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_sigma_construct_to_datadog_search(
    selection: dict[str, Any], query: str, hits: list[Any], misses: list[Any]
) -> None:
    written = datadog_query({"selection": selection, "condition": "selection"})
    assert written == query
    assert matches(written, *hits) == [True] * len(hits)
    assert matches(written, *misses) == [False] * len(misses)


def test_windash_expands_the_dash_variants() -> None:
    written = datadog_query(
        {"selection": {"f|windash|contains": " -enc "}, "condition": "selection"}
    )
    assert matches(written, "x -enc y", "x /enc y", "x \u2013enc y") == [True, True, True]
    assert matches(written, "x enc y") == [False]


def test_keywords_search_the_message() -> None:
    written = datadog_query({"keywords": ["rm -rf"], "condition": "keywords"})
    assert written == '"rm\\ \\-rf"'
    events = [{"message": "sudo rm -rf /"}, {"message": "rm x"}, {"attributes": {"m": "rm -rf"}}]
    assert engine.match(written, events) == [True, False, False]


def test_not_and_grouping_keep_their_meaning() -> None:
    written = datadog_query(
        {
            "sel": {"f": "a"},
            "filter_1": {"g": "x"},
            "filter_2": {"g": "y"},
            "condition": "sel and not 1 of filter_*",
        }
    )
    events = [{"attributes": {"f": "a", "g": g}} for g in ("x", "y", "z")]
    events.append({"attributes": {"f": "a"}})
    assert engine.match(written, events) == [False, False, True, True]


LITERAL = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="*?\\", exclude_categories=("Cs",))
    | st.sampled_from([*string.punctuation.replace("*", "").replace("?", ""), " ", "\t"]),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(LITERAL)
def test_any_literal_value_matches_itself_only(value: str) -> None:
    written = datadog_query({"selection": {"f": value}, "condition": "selection"})
    assert matches(written, value, value + "x", "x" + value) == [True, False, False]


@settings(max_examples=60, deadline=None)
@given(LITERAL, st.text(max_size=3), st.text(max_size=3))
def test_contains_finds_any_literal_inside_any_text(value: str, before: str, after: str) -> None:
    written = datadog_query({"selection": {"f|contains": value}, "condition": "selection"})
    assert matches(written, before + value + after) == [True]


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="ab\\", min_size=1, max_size=8).filter(lambda text: "\\\\" not in text))
def test_backslashes_are_literal(value: str) -> None:
    # In Sigma a backslash is literal unless it escapes a wildcard or a backslash.
    written = datadog_query({"selection": {"f": value}, "condition": "selection"})
    assert matches(written, value, value.replace("\\", "")) == [True, "\\" not in value]


def test_every_whitespace_character_is_escaped() -> None:
    spaces = {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}
    assert spaces <= set(ESCAPED)
