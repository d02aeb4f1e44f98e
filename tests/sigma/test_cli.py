"""`hindsight sigma convert` and `hindsight run` over Sigma files, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import engine
from engine.cli import main
from tests.conftest import REPO
from tests.sigma.helpers import rule_text, write

CLOUDTRAIL = "product: aws\nservice: cloudtrail"
STOP = rule_text(
    "sel:\n    eventSource: cloudtrail.amazonaws.com\n    eventName: StopLogging\ncondition: sel",
    logsource=CLOUDTRAIL,
).replace("Test rule", "CloudTrail stopped")
DELETE = (
    rule_text("sel:\n    eventName: DeleteTrail\ncondition: sel", logsource=CLOUDTRAIL)
    .replace("Test rule", "CloudTrail deleted")
    .replace("0001", "0002")
)
REGEX = (
    rule_text("sel:\n    eventName|re: 'Delete.*'\ncondition: sel", logsource=CLOUDTRAIL)
    .replace("Test rule", "Regex rule")
    .replace("0001", "0003")
)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "sigma"
    write(folder, "stop.yml", STOP)
    write(folder, "aws/delete.yml", DELETE)
    return folder


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    engine.ingest(REPO / "tests" / "fixtures" / "stratus", root)
    return root


def test_convert_writes_one_rule_file_each_and_reports_it(
    rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["sigma", "convert", str(rules), "--output", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"converted  {rules / 'aws' / 'delete.yml'} -> {out / 'delete.json'}",
        f"converted  {rules / 'stop.yml'} -> {out / 'stop.json'}",
        "2 of 2 Sigma rule(s) converted",
    ]
    written = json.loads((out / "stop.json").read_text())
    assert written["name"] == "CloudTrail stopped"
    assert sorted(rule.name for rule in engine.load_rules(out)) == [
        "CloudTrail deleted",
        "CloudTrail stopped",
    ]


def test_convert_without_output_prints_a_json_array(
    rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sigma", "convert", str(rules / "stop.yml")]) == 0
    (rule,) = json.loads(capsys.readouterr().out)
    assert rule["queries"][0]["query"] == (
        "source:cloudtrail @eventSource:cloudtrail.amazonaws.com AND @evt.name:StopLogging"
    )


def test_convert_reports_the_reason_of_a_refused_rule_and_exits_2(
    rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(rules, "regex.yml", REGEX)
    out = tmp_path / "out"
    assert main(["sigma", "convert", str(rules), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        f"refused    {bad}: Regular expressions are not currently supported in Datadog's rule "
        "query format\n"
    ) in err
    assert err.endswith("2 of 3 Sigma rule(s) converted, 1 refused\n")
    assert "Traceback" not in err
    assert sorted(path.name for path in out.iterdir()) == ["delete.json", "stop.json"]


def test_convert_with_a_users_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pipeline = write(
        tmp_path,
        "p.yml",
        "name: p\ntransformations:\n  - type: field_name_mapping\n    mapping:\n"
        "      eventName: event.action\n",
    )
    rule = write(tmp_path, "r.yml", DELETE)
    assert main(["sigma", "convert", str(rule), "--pipeline", str(pipeline)]) == 0
    (converted,) = json.loads(capsys.readouterr().out)
    assert converted["queries"][0]["query"] == "@event.action:DeleteTrail"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--pipeline", "nope"], "error: Sigma pipeline nope: no such file"),
        (["--pipeline", "{rules}/stop.yml"], "error: Sigma pipeline {rules}/stop.yml: "),
    ],
    ids=["unknown-pipeline", "not-a-pipeline"],
)
def test_convert_errors_are_one_message_and_exit_2(
    rules: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    given = [argument.format(rules=rules) for argument in arguments]
    assert main(["sigma", "convert", str(rules), *given]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.format(rules=rules)) and "Traceback" not in err


def test_convert_a_missing_path_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sigma", "convert", str(tmp_path / "none.yml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_run_reads_a_folder_of_sigma_rules(
    rules: Path, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(rules), "--archive", str(archive), "--format", "jsonl"])
    assert code == 0
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rules = [doc["attributes"]["attributes"]["workflow"]["rule"] for doc in documents]
    titles = sorted(rule["name"] for rule in rules)
    assert titles == ["CloudTrail deleted", "CloudTrail stopped"]


def test_run_reports_a_refused_sigma_rule_and_runs_the_rest(
    rules: Path, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(rules, "regex.yml", REGEX)
    code = main(["run", str(rules), "--archive", str(archive), "--format", "jsonl"])
    assert code == 2
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert (
        f"skipped {bad}: cannot convert this Sigma rule: Regular expressions are not currently "
        "supported in Datadog's rule query format"
    ) in " ".join(captured.err.split())  # the summary may wrap long lines


def test_run_with_a_sigma_pipeline(
    rules: Path, archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nothing = write(tmp_path, "none.yml", "name: none\ntransformations: []\n")
    code = main(
        ["run", str(rules / "aws"), "--archive", str(archive), "--sigma-pipeline", str(nothing)]
    )
    assert code == 0
    # without the CloudTrail pipeline the rule reads the raw `eventName`, which the archive keeps
    assert "1 result(s) from 1 rule(s)" in capsys.readouterr().err
