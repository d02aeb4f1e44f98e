"""`hindsight lint` / `engine.lint`: every check, its severity, the sample and the cost, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.archive.reader import open_archive
from engine.cli import main
from engine.workflow.lint import lint
from engine.workflow.sample import take_sample
from tests.conftest import REPO
from tests.detect.builders import T, query, rule

LONG = "GET /api/v1/orders?page=2 " + "x" * 150


def log(minute: int, **attributes: Any) -> dict[str, Any]:
    base = {"evt": {"name": "ConsoleLogin", "outcome": "failure"}, "usr": {"id": "alice"}}
    return {
        "timestamp": T + minute * 60_000,
        "source": "auth",
        "message": LONG,
        "tags": ["env:prod"],
        "attributes": {**base, "level": "Error", "ip": "10.0.0.1", **attributes},
    }


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lint")
    logs = [log(n) for n in range(0, 600, 5)] + [log(700, usr={"name": "x"})]
    path = folder / "logs.ndjson"
    path.write_text("\n".join(json.dumps(item) for item in logs) + "\n")
    engine.ingest(path, folder / "archive")
    return folder / "archive"


NO_MATCH = ("warning", "no-match-in-sample")  # the test archive is small: the sample is complete


def findings(archive: Path, definition: dict[str, Any]) -> set[tuple[str, str]]:
    (report,) = lint(definition, archive).rules
    return {(item.severity, item.check) for item in report.findings}


def messages(archive: Path, definition: dict[str, Any]) -> list[str]:
    (report,) = lint(definition, archive).rules
    return [item.message for item in report.findings]


def q(text: str, **extra: Any) -> dict[str, Any]:
    return query(text, **extra)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        pytest.param(rule(q("source:auth @evt.outcome:failure")), set(), id="clean"),
        pytest.param(
            rule(q("@evt.nmae:ConsoleLogin")),
            {("warning", "unknown-field"), ("warning", "never-matches"), NO_MATCH},
            id="unknown-field",
        ),
        pytest.param(
            rule(q("source:auth -@threat.name:*")), {("warning", "unknown-field")}, id="negated"
        ),
        pytest.param(
            rule(q("source:auth failure or success")),
            {("warning", "lowercase-operator"), ("warning", "free-text-in-attribute"), NO_MATCH},
            id="lowercase-or",
        ),
        pytest.param(
            rule(q("source:auth message:*orders*")), {("warning", "leading-wildcard")}, id="wild"
        ),
        pytest.param(
            rule(q("source:auth ConsoleLogin")),
            {("warning", "free-text-in-attribute"), ("warning", "no-match-in-sample")},
            id="free-text",
        ),
        pytest.param(
            rule(q("source:auth level:Error")),
            {("warning", "tag-or-attribute"), ("warning", "no-match-in-sample")},
            id="tag-vs-attribute",
        ),
        pytest.param(
            rule(q("source:auth team:blue")),
            {("info", "unknown-tag"), ("warning", "no-match-in-sample")},
            id="unknown-tag",
        ),
        pytest.param(
            rule(q("source:auth -@level:error")), {("warning", "value-case")}, id="value-case"
        ),
        pytest.param(
            rule(q("source:auth", group_by=["@usr.idd"])),
            {("error", "group-by-missing")},
            id="group-by-not-in-archive",
        ),
        pytest.param(
            rule(q("source:auth @usr.name:x", group_by=["@usr.id"])),
            {("warning", "group-by-missing")},
            id="group-by-missing-on-matches",
        ),
        pytest.param(
            rule(q("source:auth @usr.name:x", group_by=["@usr.id"], hasOptionalGroupByFields=True)),
            {("info", "group-by-missing")},
            id="optional-group-by",
        ),
        pytest.param(
            rule(
                q(
                    "source:auth @usr.name:x",
                    group_by=[],
                    aggregation="cardinality",
                    distinctFields=["@usr.id"],
                ),
                cases=[{"status": "high", "condition": "a > 1"}],
            ),
            {("warning", "distinct-missing")},
            id="distinct-missing",
        ),
        pytest.param(
            rule(keep_alive=3600, max_duration=600),
            {("warning", "useless-option")},
            id="keepalive-beyond-max-duration",
        ),
        pytest.param(
            rule(window=0, keep_alive=0, max_duration=600),
            {("info", "useless-option"), ("warning", "useless-option")},
            id="zero-window-and-keepalive",
        ),
        pytest.param(
            rule(q("source:auth", distinctFields=["@ip"])),
            {("info", "useless-option")},
            id="distinct-on-count",
        ),
        pytest.param(
            rule(
                cases=[
                    {"status": "high", "condition": "a > 3"},
                    {"status": "low", "condition": "a>3"},
                ]
            ),
            {("warning", "unreachable-case")},
            id="duplicate-case",
        ),
        pytest.param(
            rule(q("source:auth"), q("source:auth @usr.id:bob")),
            {("info", "unused-query"), ("warning", "no-match-in-sample")},
            id="unused-query",
        ),
        pytest.param(
            rule(
                q("source:auth", name="x"),
                q("source:auth", name="y"),
                cases=[{"status": "high", "condition": "x > 0 THEN y > 0"}],
                window=0,
                keep_alive=0,
                max_duration=0,
            ),
            {("warning", "useless-option")},
            id="then-with-zero-window",
        ),
        pytest.param(
            {
                **rule(q("source:auth")),
                "cases": [{"status": "info"}],
                "options": {"detectionMethod": "hardcoded", "hardcodedEvaluatorType": "log4shell"},
            },
            {("error", "unsupported")},
            id="unsupported-method",
        ),
    ],
)
def test_checks(archive: Path, definition: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert findings(archive, definition) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("@evt.nmae:ConsoleLogin", "did you mean @evt.name?"),
        ("source:auth failure or success", "'or' at column 21 is searched as the word 'or'"),
        ("source:auth ConsoleLogin", "did you mean @evt.name:ConsoleLogin?"),
        ("source:auth level:Error", "did you mean @level:…?"),
        ("source:auth -@level:error", "the sample has 'Error': attribute values are case-sens"),
        ("source:auth message:*orders*", "every value is read in full"),
    ],
)
def test_messages_say_what_to_do(archive: Path, text: str, fragment: str) -> None:
    assert any(fragment in message for message in messages(archive, rule(q(text)))), messages(
        archive, rule(q(text))
    )


def test_cost_comes_from_the_manifest_and_the_sample(archive: Path) -> None:
    report = lint(rule(q("source:auth @usr.name:x")), archive)
    (result,) = report.rules
    assert result.cost is not None
    info = open_archive(archive).info()
    assert (result.cost.rows, result.cost.files, result.cost.bytes) == (
        info.events,
        info.files,
        info.bytes,
    )
    assert result.cost.estimated_matches == {"a": 1}  # the sample holds every row here
    assert result.cost.columns == ["@usr.id", "@usr.name", "id", "source", "timestamp"]
    pruned = lint(rule(), archive, start=T, end=T + 3_600_000)
    assert pruned.rows_in_range < info.events
    assert pruned.start == "2024-01-01T00:00:00.000Z"


def test_the_sample_never_reads_the_whole_range(archive: Path) -> None:
    files = open_archive(archive).files()
    assert len(files) > 4
    sample = take_sample(archive, max_rows=10, max_files=4)
    assert sample.rows.height <= 12 and not sample.complete
    assert sample.rows_in_range == sum(entry.rows for entry in files)
    times = sample.rows["timestamp"].to_list()
    assert times[-1] > times[0]  # spread over time, not the first rows only
    full = take_sample(archive)
    assert full.complete and full.rows.height == full.rows_in_range
    assert "env" in full.tag_keys


def test_no_match_in_a_complete_sample_is_a_warning(archive: Path) -> None:
    assert ("warning", "no-match-in-sample") in findings(archive, rule(q("source:nothing")))


def test_invalid_rule_files_are_findings_and_the_others_are_linted(
    archive: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({**rule(), "cases": [{"status": "urgent"}]}))
    (tmp_path / "good.json").write_text(json.dumps(rule(q("@evt.nmae:x"))))
    report = lint(tmp_path, archive)
    bad, good = report.rules
    assert [f.check for f in bad.findings] == ["invalid-rule"]
    assert "cases[0].status" in bad.findings[0].message
    assert "unknown-field" in {f.check for f in good.findings}
    assert report.fails("error")


def test_ootb_rules_against_the_sample_archive() -> None:
    report = lint(REPO / "rules" / "aws", REPO / "sample_logs" / "archive")
    assert report.count("error") == 0
    assert not report.sample_complete and report.sample_rows <= 20_000
    by_rule = {r.rule: {f.check for f in r.findings} for r in report.rules}
    assert "value-case" in by_rule["AWS S3 Public Access Block removed"]
    assert "unknown-field" in by_rule["AWS AMI Made Public"]
    assert by_rule["AWS console login failures for one IAM user"] == set()


def test_cli(archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rule(q("@evt.nmae:ConsoleLogin"))))
    assert main(["lint", str(path), "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "unknown-field" in out and "did you mean @evt.name?" in out
    assert "0 error(s), 3 warning(s)" in out
    assert main(["lint", str(path), "--archive", str(archive), "--fail-on", "warning"]) == 1
    capsys.readouterr()
    assert main(["lint", str(path), "--archive", str(archive), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rules"][0]["findings"][0]["check"] == "unknown-field"
    path.write_text(json.dumps(rule(q("source:auth", group_by=["@nope"]))))
    assert main(["lint", str(path), "--archive", str(archive)]) == 1
    assert main(["lint", str(tmp_path / "missing.json"), "--archive", str(archive)]) == 2


def test_run_prints_lint_warnings_first(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rule(q("@evt.nmae:ConsoleLogin"))))
    assert main(["run", str(path), "--archive", str(archive)]) == 0
    err = capsys.readouterr().err
    assert "lint: R1: warning: queries[0].query: no log of the archive has @evt.nmae" in err
    path.write_text(json.dumps(rule(q("source:auth @evt.outcome:failure"))))
    assert main(["run", str(path), "--archive", str(archive)]) == 0
    assert "lint:" not in capsys.readouterr().err
