"""The `hindsight` command: every subcommand, its outputs, and user errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from engine.cli import main
from tests.detect.builders import event, rule

EVENTS = [event(s) for s in (0, 60, 120, 180)] + [event(s, "bob") for s in (0, 600)]


@pytest.fixture
def logs_file(tmp_path: Path) -> Path:
    path = tmp_path / "logs.ndjson"
    path.write_text("\n".join(json.dumps(item) for item in EVENTS) + "\n")
    return path


@pytest.fixture
def archive(tmp_path: Path, logs_file: Path) -> Path:
    root = tmp_path / "archive"
    assert main(["ingest", str(logs_file), "--archive", str(root)]) == 0
    return root


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "r1.json").write_text(json.dumps(rule(message="{{@usr.id}} failed")))
    return folder


def test_ingest_prints_the_report(
    tmp_path: Path, logs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["ingest", str(logs_file), "--archive", str(tmp_path / "a")])
    out = capsys.readouterr().out
    assert code == 0
    assert "events written" in out and "6" in out


def test_ingest_json_report_lists_rejected_lines(
    tmp_path: Path, logs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs_file.write_text(logs_file.read_text() + "{broken\n")
    code = main(["ingest", str(logs_file), "--archive", str(tmp_path / "a"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["events_written"] == 6
    assert report["rejected"] == 1
    assert report["rejections"][0]["line"] == 7
    assert report["rejections"][0]["file"].endswith("logs.ndjson")


def test_search_table_count_and_jsonl(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "@usr.id:bob", "--archive", str(archive), "--count"]) == 0
    assert capsys.readouterr().out.strip() == "2"
    assert main(["search", "@usr.id:bob", "--archive", str(archive), "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["attributes"]["usr"]["id"] for line in lines] == ["bob", "bob"]
    assert main(["search", "*", "--archive", str(archive), "--limit", "3"]) == 0
    assert "3 event(s)" in capsys.readouterr().out


def test_search_time_bounds(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bounds = ["--from", "2024-01-01T00:01:00Z", "--to", "1704067380000"]
    assert main(["search", "*", "--archive", str(archive), "--count", *bounds]) == 0
    assert capsys.readouterr().out.strip() == "2"  # T+60 and T+120


def test_bad_query_shows_the_caret_and_exits_2(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["search", "@usr.id:(alice", "--archive", str(archive)])
    err = capsys.readouterr().err
    assert code == 2
    assert "invalid query at line 1, column 9" in err
    assert "^" in err
    assert "Traceback" not in err


def test_info_lists_the_index(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "main" in out and "2024-01-01T00:00:00.000Z" in out


def test_run_table_and_summary(
    archive: Path, rules_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(rules_dir), "--archive", str(archive)]) == 0
    captured = capsys.readouterr()
    assert "R1" in captured.out and "high" in captured.out and "@usr.id:alice" in captured.out
    assert "1 result(s) from 1 rule(s) over 6 events" in captured.err


def test_run_jsonl_writes_histsignals(
    archive: Path, rules_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(rules_dir), "--archive", str(archive), "--format", "jsonl"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    document = json.loads(line)
    assert document["type"] == "signal"
    assert document["attributes"]["message"] == "%%%\nalice failed\n%%%"
    assert document["attributes"]["attributes"]["workflow"]["events_matched"] == 4


@pytest.mark.parametrize("output_format", ["csv", "parquet", "json"])
def test_run_writes_files(
    archive: Path, rules_dir: Path, tmp_path: Path, output_format: str
) -> None:
    output = tmp_path / f"results.{output_format}"
    args = ["run", str(rules_dir), "--archive", str(archive), "--format", output_format]
    assert main([*args, "--output", str(output)]) == 0
    if output_format == "csv":
        frame = pl.read_csv(output)
    elif output_format == "parquet":
        frame = pl.read_parquet(output)
    else:
        frame = pl.DataFrame(json.loads(output.read_text()))
    assert frame.height == 1


def test_run_time_range_excludes_everything(
    archive: Path, rules_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", str(rules_dir), "--archive", str(archive), "--from", "1d", "--to", "now"]
    assert main(args) == 0
    assert "0 result(s)" in capsys.readouterr().err


def test_invalid_rule_is_a_user_error(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rule(cases=[{"status": "urgent", "condition": "a > 0"}])))
    code = main(["run", str(bad), "--archive", str(archive)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.json" in err and "cases[0].status" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--index", "nope"], "index 'nope' does not exist", id="unknown-index"),
        pytest.param(["--from", "yesterday"], "cannot read time 'yesterday'", id="bad-time"),
        pytest.param(["--format", "parquet"], "--format parquet needs --output", id="parquet"),
    ],
)
def test_run_user_errors(
    archive: Path,
    rules_dir: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code = main(["run", str(rules_dir), "--archive", str(archive), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_missing_archive_is_a_user_error(
    rules_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(rules_dir), "--archive", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unsupported_rule_exits_1_and_names_it(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    correlation = tmp_path / "corr.json"
    correlation.write_text(
        json.dumps(
            {
                "name": "correlated",
                "type": "signal_correlation",
                "queries": [{"ruleId": "abc-def-ghi", "aggregation": "count"}],
                "cases": [{"status": "high", "condition": "a > 0"}],
                "options": {},
                "message": "",
            }
        )
    )
    assert main(["run", str(correlation), "--archive", str(archive)]) == 1
    assert "unsupported rule type signal_correlation" in capsys.readouterr().err
