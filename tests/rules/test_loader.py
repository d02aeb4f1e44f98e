"""Loading rules from files and folders; every error names the file (and the array index)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.core.errors import RuleSetValidationError, RuleValidationError
from engine.rules import load_rule, load_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rules"


def rule(name: str = "r", condition: str = "a > 0") -> dict[str, Any]:
    return {
        "name": name,
        "queries": [{"query": "source:auth"}],
        "cases": [{"status": "low", "condition": condition}],
    }


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_load_rule_from_file() -> None:
    loaded = load_rule(FIXTURES / "brute_force.json")
    assert loaded.name == "Brute force on a user"
    assert loaded.options.evaluationWindow == 300


def test_load_rule_from_str_path_and_dict() -> None:
    assert load_rule(str(FIXTURES / "brute_force.json")).name == "Brute force on a user"
    assert load_rule(rule("from dict")).name == "from dict"


@pytest.mark.parametrize(
    "shape",
    ["flat", "jsonapi", "jsonapi-resource"],
)
def test_load_rule_export_shapes(tmp_path: Path, shape: str) -> None:
    data: Any = rule("shaped")
    if shape == "jsonapi":
        data = {"data": {"id": "abc-123", "type": "rule", "attributes": data}}
    elif shape == "jsonapi-resource":
        data = {"id": "abc-123", "type": "rule", "attributes": data}
    loaded = load_rule(write(tmp_path / "r.json", data))
    assert loaded.name == "shaped"
    assert loaded.id == (None if shape == "flat" else "abc-123")


@pytest.mark.parametrize(
    "data",
    [[rule(), rule()], {"data": [rule()]}],
    ids=["array", "data-list"],
)
def test_load_rule_refuses_lists(tmp_path: Path, data: Any) -> None:
    path = write(tmp_path / "many.json", data)
    with pytest.raises(RuleValidationError) as caught:
        load_rule(path)
    assert caught.value.source == str(path)
    assert "use load_rules" in caught.value.problems[0][1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1",
        ),
        ("", "not valid JSON: Expecting value at line 1, column 1"),
    ],
    ids=["broken", "empty"],
)
def test_non_json_file_named(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path / "broken.json", content)
    with pytest.raises(RuleValidationError) as caught:
        load_rule(path)
    assert caught.value.source == str(path)
    assert caught.value.problems[0][1].startswith(message)
    assert str(path) in str(caught.value)


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(RuleValidationError) as caught:
        load_rules(tmp_path / "nope.json")
    assert caught.value.problems == [("", "no such file or folder")]
    assert "nope.json" in str(caught.value)


def test_unreadable_file_named(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(RuleValidationError) as caught:
        load_rule(path)
    assert caught.value.source == str(path)
    assert caught.value.problems[0][1].startswith("cannot read the file")


def test_invalid_rule_error_names_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", rule(condition="c > 0"))
    with pytest.raises(RuleValidationError) as caught:
        load_rule(path)
    assert str(caught.value).startswith(f"rule {path} is invalid (1 problem):")
    assert caught.value.problems[0][0] == "cases[0].condition"


def test_load_rules_folder_recursive_sorted() -> None:
    rules = load_rules(FIXTURES / "library")
    assert [r.name for r in rules] == [
        "Console login without MFA",
        "New country for a user",
        "Failures then success",
    ]
    assert rules[0].id == "lib-000-001"


def test_load_rules_single_file_and_list_shapes(tmp_path: Path) -> None:
    assert [r.name for r in load_rules(FIXTURES / "brute_force.json")] == ["Brute force on a user"]
    write(tmp_path / "list.json", {"data": [rule("x"), {"id": "i", "attributes": rule("y")}]})
    assert [r.name for r in load_rules(tmp_path / "list.json")] == ["x", "y"]


def test_load_rules_empty_folder(tmp_path: Path) -> None:
    assert load_rules(tmp_path) == []


def test_array_index_named(tmp_path: Path) -> None:
    path = write(tmp_path / "rules.json", [rule(), rule(), rule(), rule(condition="3 < a")])
    with pytest.raises(RuleValidationError) as caught:
        load_rules(path)
    assert caught.value.source == f"{path}[3]"
    assert str(caught.value).startswith(f"rule {path}[3] is invalid")


def test_several_invalid_rules_reported_together(tmp_path: Path) -> None:
    write(tmp_path / "a.json", rule(condition="z > 0"))
    write(tmp_path / "sub" / "b.json", [rule(), {"name": "no queries"}])
    write(tmp_path / "c.json", "[")
    write(tmp_path / "ok.json", rule())
    with pytest.raises(RuleSetValidationError) as caught:
        load_rules(tmp_path)
    err = caught.value
    assert isinstance(err, RuleValidationError)
    assert [e.source for e in err.errors] == [
        str(tmp_path / "a.json"),
        str(tmp_path / "c.json"),
        str(tmp_path / "sub" / "b.json") + "[1]",
    ]
    assert str(err).startswith("3 rules are invalid:\n")
    assert f"{tmp_path / 'sub' / 'b.json'}[1]: queries" in dict(err.problems)
