"""The rule editor's checks: the API's validation, the CLI's caret message, placed problems."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.core.errors import QuerySyntaxError
from engine.query import parse
from engine.web.rule_check import check_rule_text, locate, path_parts
from tests.web.conftest import EACH_FAILURE, SAMPLE_ARCHIVE, Web

BAD_QUERIES = [
    "source:okta AND (@evt.name:foo",
    "source:okta AND",
    "@usr.id:",
    "@evt.name:\u201cquoted\u201d",
    "!@usr.id:alice",
    "@network.client.ip:[10 TO",
    "source:okta OR OR @a:b",
]


def _rule(query: str, **changes: Any) -> dict[str, Any]:
    queries = [{**EACH_FAILURE["queries"][0], "query": query}]
    return {**EACH_FAILURE, "queries": queries, **changes}


def _code_points(text: str, utf16_offset: int) -> int:
    """A UTF-16 offset of `text` back to a code-point offset."""
    return len(text.encode("utf-16-le")[: 2 * utf16_offset].decode("utf-16-le"))


def _selected(text: str, start: int | None, end: int | None) -> str:
    assert start is not None and end is not None
    return text[_code_points(text, start) : _code_points(text, end)]


def test_a_valid_rule_passes(shared: Web) -> None:
    check = check_rule_text(shared.service, json.dumps(EACH_FAILURE, indent=2))
    assert check.ok and check.summary == "1 query, 2 cases"


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_a_query_error_carries_the_clis_caret_message(
    shared: Web, query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check = check_rule_text(shared.service, json.dumps(_rule(query), indent=2))
    (problem,) = check.problems
    assert main(["search", query, "--archive", str(SAMPLE_ARCHIVE)]) == 2
    printed = capsys.readouterr().err
    assert problem.path == "queries[0].query"
    assert problem.caret is not None
    assert printed.strip() == f"error: {problem.caret}".strip()


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_a_query_error_selects_the_offending_character(shared: Web, query: str) -> None:
    text = json.dumps(_rule(query), indent=2)
    (problem,) = check_rule_text(shared.service, text).problems
    with pytest.raises(QuerySyntaxError) as raised:
        parse(query)
    error = raised.value
    offset = sum(len(line) + 1 for line in query.split("\n")[: error.line - 1]) + error.column - 1
    expected = query[offset : offset + error.width] or query[-1:]
    assert json.loads(f'"{_selected(text, problem.start, problem.end)}"') == expected


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 2, 4]),
)
def test_the_selection_survives_escapes_and_wide_characters(
    shared: Web, prefix: str, ascii_only: bool, indent: int | None
) -> None:
    query = f'@msg:"{prefix.replace(chr(92), "").replace(chr(34), "")}" AND ('
    text = json.dumps(_rule(query), indent=indent, ensure_ascii=ascii_only)
    problem = next(p for p in check_rule_text(shared.service, text).problems if p.caret)
    assert json.loads(f'"{_selected(text, problem.start, problem.end)}"') == "("


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [('{"name": "x",\n  "queries": [}', 2, 15), ("{\n\n  oops", 3, 3), ("", 1, 1)],
)
def test_a_json_error_points_at_its_character(
    shared: Web, text: str, line: int, column: int
) -> None:
    (problem,) = check_rule_text(shared.service, text).problems
    assert problem.path == "(JSON)"
    assert f"line {line}, column {column}" in problem.message
    assert problem.caret is not None and problem.caret.endswith("^")
    position = sum(len(part) + 1 for part in text.split("\n")[: line - 1]) + column - 1
    assert (problem.start, problem.end) == (position, position + 1)


def test_problems_are_those_the_rules_api_answers(shared: Web) -> None:
    bad = _rule(
        "source:okta AND",
        cases=[{"status": "urgent", "condition": "nope > 1"}],
        options={"evaluationWindow": 3600, "keepAlive": 60},
    )
    check = check_rule_text(shared.service, json.dumps(bad))
    response = shared.client.post(
        "/api/v2/security_monitoring/rules", json=bad, headers=shared.api_headers()
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Invalid rule configuration",
        *(f"{problem.path}: {problem.message}" for problem in check.problems),
    ]
    assert len(check.problems) >= 3


def test_a_condition_error_selects_the_offending_character(shared: Web) -> None:
    text = json.dumps(
        _rule("source:okta", cases=[{"status": "high", "condition": "failure > 1 && nope > 2"}])
    )
    problem = next(p for p in check_rule_text(shared.service, text).problems if "cases" in p.path)
    assert "unknown query name 'nope'" in problem.message
    assert _selected(text, problem.start, problem.end) == "n"


def test_a_non_query_problem_selects_the_whole_value(shared: Web) -> None:
    text = json.dumps(_rule("source:okta", cases=[{"status": "urgent", "condition": "a > 1"}]))
    problem = next(p for p in check_rule_text(shared.service, text).problems if "status" in p.path)
    assert _selected(text, problem.start, problem.end) == '"urgent"'


def test_the_validation_fragment_answers_as_you_type(shared: Web) -> None:
    fragment = shared.post("/rules/validate", {"rule": json.dumps(_rule("a:b AND"))}).text
    assert "dangling operator" in fragment and 'class="caret"' in fragment
    assert "Show in editor" in fragment and "data-start=" in fragment
    valid = shared.post("/rules/validate", {"rule": json.dumps(EACH_FAILURE)}).text
    assert "Valid rule" in valid


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    found = [(prefix, value)] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@settings(max_examples=150, deadline=None)
@given(
    value=st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=4),
    indent=st.sampled_from([None, 1, 3]),
    ascii_only=st.booleans(),
)
def test_locate_finds_the_text_of_every_value(
    value: dict[str, Any], indent: int | None, ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    for path, item in _paths(value):
        span = locate(text, list(path))
        assert span is not None
        assert json.loads(text[span[0] : span[1]]) == item


def test_path_parts_reads_the_validation_paths() -> None:
    assert path_parts("queries[0].query") == ["queries", 0, "query"]
    assert path_parts("options.sequenceDetectionOptions.steps[2].name") == [
        "options",
        "sequenceDetectionOptions",
        "steps",
        2,
        "name",
    ]
    assert path_parts("") is None


def test_the_checks_do_not_touch_the_store(shared: Web) -> None:
    check_rule_text(shared.service, json.dumps(EACH_FAILURE))
    assert shared.service.rules.all() == []
