"""Sigma rule -> Datadog rule: severity, tags, message, the single-event shape, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.rules.sigma.convert import convert_sigma
from tests.sigma.helpers import (
    convert_one,
    convert_text,
    process_creation,
    query_of,
    rule_text,
    write,
)

SELECTION = """
selection:
    Image|endswith: '\\reg.exe'
condition: selection
"""


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("informational", "info"),
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("critical", "critical"),
    ],
)
def test_level_becomes_the_case_severity(tmp_path: Path, level: str, severity: str) -> None:
    text = rule_text(SELECTION).replace("level: high", f"level: {level}")
    converted = convert_one(tmp_path, text)
    assert converted.rule is not None
    assert [case["status"] for case in converted.rule["cases"]] == [severity]


def test_a_rule_without_level_is_low(tmp_path: Path) -> None:
    converted = convert_one(tmp_path, rule_text(SELECTION).replace("level: high\n", ""))
    assert converted.rule is not None
    assert converted.rule["cases"][0]["status"] == "low"


def test_single_event_rule_is_a_count_above_zero_over_window_zero(tmp_path: Path) -> None:
    converted = convert_one(tmp_path, rule_text(SELECTION))
    rule = converted.rule
    assert rule is not None
    assert rule["type"] == "log_detection"
    assert [(q["aggregation"], q["groupByFields"]) for q in rule["queries"]] == [("count", [])]
    assert [case["condition"] for case in rule["cases"]] == ["a > 0"]
    assert rule["options"] == {
        "detectionMethod": "threshold",
        "evaluationWindow": 0,
        "keepAlive": 0,
        "maxSignalDuration": 0,
    }
    assert converted.kind == "rule" and converted.output and not converted.notes


def test_each_matching_log_at_its_own_time_is_one_result(tmp_path: Path) -> None:
    rules = engine.load_rules(write(tmp_path, "r.yml", rule_text(SELECTION)))
    events = [
        process_creation("C:\\Windows\\System32\\reg.exe", "reg add a"),
        process_creation("C:\\Windows\\System32\\reg.exe", "reg add b"),
        process_creation("C:\\Windows\\System32\\cmd.exe", "cmd"),
    ]
    events[1]["Event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"] = (
        "2025-12-25T14:31:00Z"
    )
    run = engine.run(rules, events, format="evtx-json")
    assert [result.events_matched for result in run.results] == [1, 1]
    assert {result.severity for result in run.results} == {"high"}


def test_tags_keep_attack_references_id_and_log_source(tmp_path: Path) -> None:
    text = rule_text(
        SELECTION,
        extra="""
        tags:
            - attack.execution
            - attack.t1059.001
            - cve.2021-44228
            - detection.threat-hunting
        """,
    )
    converted = convert_one(tmp_path, text)
    assert converted.rule is not None
    assert converted.rule["tags"] == [
        "attack:execution",
        "attack:t1059.001",
        "cve:2021-44228",
        "detection:threat-hunting",
        "sigma_id:5b0e5c55-0000-4000-8000-000000000001",
        "sigma_product:windows",
        "sigma_category:process_creation",
    ]


def test_title_and_id_name_the_rule_and_the_rest_is_in_the_message(tmp_path: Path) -> None:
    text = rule_text(
        SELECTION,
        extra="""
        description: Detects reg.exe.
        author: Jane Doe
        date: 2024-01-02
        modified: 2025-03-04
        references:
            - https://example.com/reg
        falsepositives:
            - Admin scripts
            - Installers
        license: DRL-1.1
        """,
    )
    converted = convert_one(tmp_path, text)
    rule = converted.rule
    assert rule is not None
    assert rule["name"] == "Test rule"
    assert rule["id"] == "5b0e5c55-0000-4000-8000-000000000001"
    message = rule["message"]
    for expected in (
        "Detects reg.exe.",
        "Sigma rule `5b0e5c55-0000-4000-8000-000000000001`, status test, level high",
        "Author: Jane Doe",
        "date 2024-01-02, modified 2025-03-04",
        "Log source: product windows, category process_creation",
        "False positives: Admin scripts; Installers",
        "  - https://example.com/reg",
        "License: DRL-1.1",
        f"Rule file: {tmp_path / 'rule.yml'}",
    ):
        assert expected in message


def test_template_markers_in_a_description_are_kept_verbatim(tmp_path: Path) -> None:
    text = rule_text(SELECTION, extra="description: 'looks for {{user}} in the command line'\n")
    rules = engine.load_rules(write(tmp_path, "r.yml", text))
    run = engine.run(rules, [process_creation("C:\\x\\reg.exe", "reg")], format="evtx-json")
    (result,) = run.results
    assert "looks for {{user}} in the command line" in result.message


def test_results_name_the_sigma_rule(tmp_path: Path) -> None:
    rules = engine.load_rules(write(tmp_path, "r.yml", rule_text(SELECTION)))
    run = engine.run(rules, [process_creation("C:\\x\\reg.exe", "reg")], format="evtx-json")
    (result,) = run.results
    assert (result.rule_name, result.rule_id) == (
        "Test rule",
        "5b0e5c55-0000-4000-8000-000000000001",
    )


@pytest.mark.parametrize(
    ("detection", "reason"),
    [
        (
            "selection:\n    CommandLine|re: '\\s-c\\s'\ncondition: selection",
            "Regular expressions are not currently supported in Datadog's rule query format",
        ),
        (
            "selection:\n    User|fieldref: ParentUser\ncondition: selection",
            "field references (|fieldref) cannot be expressed in Datadog log search: it cannot "
            "compare two fields of one log",
        ),
        (
            "selection:\n    Image|expand: '%admin_tools%'\ncondition: selection",
            "Attempt to convert unhandled placeholder 'admin_tools' into query.",
        ),
        (
            "selection:\n    Image: x\ncondition: selection | count() > 5",
            "aggregation conditions (count, min, max, avg, sum, near) are deprecated Sigma; "
            "write a correlation rule instead",
        ),
    ],
    ids=["regex", "fieldref", "placeholder", "aggregation"],
)
def test_a_rule_the_backend_cannot_express_is_refused_with_its_reason(
    tmp_path: Path, detection: str, reason: str
) -> None:
    converted = convert_one(tmp_path, rule_text(detection))
    assert converted.rule is None
    assert converted.error == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("title: x\ndetection: [unclosed\n", "not valid YAML"),
        (
            "title: No detection\nlogsource:\n    product: windows\n",
            "Sigma rule must have a detection definitions",
        ),
        (rule_text("sel:\n    Image: x\ncondition: other"), "Detection 'other' not defined"),
    ],
    ids=["yaml", "no-detection", "unknown-identifier"],
)
def test_a_broken_rule_is_refused_with_the_parser_message(
    tmp_path: Path, text: str, reason: str
) -> None:
    (converted,) = convert_text(tmp_path, text)
    assert converted.rule is None
    assert converted.error is not None and reason in converted.error
    assert str(tmp_path) not in converted.error  # the file is named once, by the caller


def test_every_rule_of_a_multi_document_file_is_numbered(tmp_path: Path) -> None:
    second = rule_text(SELECTION).replace("Test rule", "Second").replace("0001", "0002")
    conversions = convert_text(tmp_path, rule_text(SELECTION) + "---\n" + second)
    path = tmp_path / "rule.yml"
    assert [(c.source, c.title) for c in conversions] == [
        (f"{path}[0]", "Test rule"),
        (f"{path}[1]", "Second"),
    ]


def test_a_folder_is_read_recursively_and_a_missing_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "b/two.yml", rule_text(SELECTION).replace("Test rule", "Two"))
    write(tmp_path, "a/one.yaml", rule_text(SELECTION).replace("Test rule", "One"))
    assert [c.title for c in convert_sigma(tmp_path)] == ["One", "Two"]
    (missing,) = convert_sigma(tmp_path / "nope.yml")
    assert missing.error == "no such file or folder"


def test_load_rules_reports_a_refused_sigma_rule_by_file(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yml", rule_text("sel:\n    a|re: x\ncondition: sel"))
    with pytest.raises(engine.RuleValidationError) as caught:
        engine.load_rules(path)
    assert caught.value.source == str(path)
    assert caught.value.problems == [
        (
            "",
            "cannot convert this Sigma rule: Regular expressions are not currently supported "
            "in Datadog's rule query format",
        )
    ]


def test_a_folder_mixes_json_and_sigma_rules_and_skips_other_yaml(tmp_path: Path) -> None:
    write(tmp_path, "sigma/r.yml", rule_text(SELECTION))
    write(tmp_path, "pipeline-tests/sample_tests.yaml", "tests:\n  - sample: x\n")
    (tmp_path / "datadog.json").write_text(
        '{"name": "JSON rule", "queries": [{"query": "source:x"}], '
        '"cases": [{"status": "info", "condition": "a > 0"}]}'
    )
    assert sorted(rule.name for rule in engine.load_rules(tmp_path)) == ["JSON rule", "Test rule"]


def test_a_sigma_filter_in_the_folder_applies_to_the_rules_it_names(tmp_path: Path) -> None:
    write(tmp_path, "rules/rule.yml", rule_text(SELECTION))
    write(
        tmp_path,
        "rules/filters/not-admin.yml",
        """
        title: Not the admin
        logsource:
            product: windows
            category: process_creation
        filter:
            rules:
                - 5b0e5c55-0000-4000-8000-000000000001
            selection:
                User: admin
            condition: not selection
        """,
    )
    (converted,) = convert_sigma(tmp_path / "rules")
    assert query_of(converted).endswith("AND (@Image:*\\\\reg.exe AND (NOT @User:admin))")
