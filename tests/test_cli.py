"""The `hindsight` command: every subcommand, its outputs, and user errors without tracebacks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

import engine.cli.ingest as ingest_cli
import engine.cli.run as run_cli
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


def test_ingest_jobs_takes_a_positive_count(
    tmp_path: Path, logs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = str(tmp_path / "a")
    assert main(["ingest", str(logs_file), "--archive", archive, "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err
    assert main(["ingest", str(logs_file), "--archive", archive, "--jobs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events_written"] == 6


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
    else:  # the run file: the histsignal documents under `data`, as the job API lists them
        frame = pl.DataFrame(json.loads(output.read_text())["data"])
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


def test_a_correlation_of_an_absent_rule_exits_2_and_names_it(
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
    assert main(["run", str(correlation), "--archive", str(archive)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"skipped {correlation}: rule 'correlated' correlates the results of rule" in err
    assert "'abc-def-ghi', which is neither in this run nor among the earlier results" in err


# --- search by id, columns, CloudTrail without a message --------------------------------------


def test_search_by_id(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "*", "--archive", str(archive), "--format", "jsonl"]) == 0
    users = {
        log["id"]: log["attributes"]["usr"]["id"]
        for log in map(json.loads, capsys.readouterr().out.splitlines())
    }
    alice = next(i for i, user in users.items() if user == "alice")
    bob = next(i for i, user in users.items() if user == "bob")
    args = ["search", "--archive", str(archive), "--id", bob, "--id", alice]
    assert main([*args, "--format", "jsonl"]) == 0
    found = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert sorted(found) == sorted([alice, bob])
    assert main([*args, "--count"]) == 0
    assert capsys.readouterr().out.strip() == "2"
    assert main([*args, "@usr.id:bob", "--format", "jsonl"]) == 0  # the query narrows the ids
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [bob]


def test_search_needs_a_query_or_an_id(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--archive", str(archive)]) == 2
    assert "give a QUERY, or --id ID" in capsys.readouterr().err


def test_no_results_for_an_id_tag_query_suggests_id(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "id:h123", "--archive", str(archive)]) == 0
    captured = capsys.readouterr()
    assert "0 event(s)" in captured.out
    assert "note: `id:` in a query names a tag (id:value), not the log's id" in captured.err
    assert "use --id h123" in captured.err
    assert main(["search", "@usr.id:nobody", "--archive", str(archive)]) == 0
    assert "note:" not in capsys.readouterr().err


@pytest.fixture
def trail_archive(tmp_path: Path) -> Path:
    stratus = Path(__file__).parent / "fixtures" / "stratus"
    root = tmp_path / "trail"
    assert (
        main(
            [
                "ingest",
                str(stratus / "aws.defense-evasion.cloudtrail-stop.json"),
                "--archive",
                str(root),
            ]
        )
        == 0
    )
    return root


def test_search_shows_what_identifies_an_event_without_a_message(
    trail_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["search", "source:cloudtrail", "--archive", str(trail_archive)]) == 0
    out = capsys.readouterr().out
    arn = "arn:aws:iam::143434273843:user/christophe"
    assert f"@evt.name:StopLogging @userIdentity.arn:{arn}" in out


def test_search_columns(trail_archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    args = ["search", "*", "--archive", str(trail_archive)]
    assert main([*args, "--columns", "timestamp,@evt.name,@network.client.ip"]) == 0
    header, row = [
        line for line in capsys.readouterr().out.splitlines() if "┃" in line or "│" in line
    ][:2]
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == [
        "timestamp",
        "@evt.name",
        "@network.client.ip",
    ]
    assert "StopLogging" in row and "message" not in header
    assert main([*args, "--columns", "@evt.name,tags", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "@evt.name,tags",
        'StopLogging,"account:143434273843,region:apiso-centralnorth-2r"',
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--columns", "@evt.nam"], "--columns: no field @evt.nam", id="unknown"),
        pytest.param(
            ["--columns", "@evt.name", "--format", "jsonl"], "--columns applies to", id="jsonl"
        ),
    ],
)
def test_search_columns_user_errors(
    trail_archive: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["search", "*", "--archive", str(trail_archive), *extra]) == 2
    assert message in capsys.readouterr().err


# --- run: skipped rules, exit statuses, --rule ---------------------------------------------------

CWS_RULE = {
    "name": "cws",
    "type": "workload_security",
    "queries": [{"query": 'exec.file.name == "sh"'}],
    "cases": [{"status": "low"}],
    "options": {},
    "message": "",
}


@pytest.fixture
def mixed_rules(tmp_path: Path) -> Path:
    """A library with two good rules, a CWS rule, a broken file and a hardcoded rule."""
    folder = tmp_path / "library"
    (folder / "auth").mkdir(parents=True)
    (folder / "auth" / "alice.json").write_text(json.dumps(rule(name="failures", id="abc-111")))
    quiet = rule(name="quiet", cases=[{"status": "low", "condition": "a > 100"}])
    (folder / "auth" / "quiet.json").write_text(json.dumps(quiet))
    (folder / "cws.json").write_text(json.dumps(CWS_RULE))
    (folder / "broken.json").write_text('{"name": ')
    log4shell = rule(name="log4shell")
    log4shell["options"] |= {"detectionMethod": "hardcoded", "hardcodedEvaluatorType": "log4shell"}
    (folder / "log4shell.json").write_text(json.dumps(log4shell))
    return folder


def test_run_runs_every_valid_rule_and_reports_the_skipped(
    archive: Path, mixed_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(mixed_rules), "--archive", str(archive)]) == 2
    captured = capsys.readouterr()
    assert "failures" in captured.out and "@usr.id:alice" in captured.out
    assert f"skipped {mixed_rules / 'broken.json'}: not valid JSON" in captured.err
    assert (
        f"skipped {mixed_rules / 'cws.json'}: type: unsupported rule type 'workload_security'"
        in captured.err
    )
    assert "rule 'log4shell': unsupported detection method 'hardcoded'" in " ".join(
        captured.err.split()
    )
    assert f"skipped {mixed_rules / 'log4shell.json'}" in captured.err
    assert "1 result(s) from 2 rule(s) over 6 events" in captured.err
    assert "3 rule(s) skipped" in captured.err


def test_run_strict_stops_at_a_rule_that_cannot_run(
    archive: Path, mixed_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(mixed_rules), "--archive", str(archive), "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "broken.json" in captured.err and "cws.json" in captured.err
    (mixed_rules / "broken.json").unlink()
    (mixed_rules / "cws.json").unlink()
    assert main(["run", str(mixed_rules), "--archive", str(archive), "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "rule 'log4shell': unsupported detection method 'hardcoded'" in captured.err


@pytest.mark.parametrize(
    ("selector", "fail_on_results", "status"),
    [
        pytest.param("failures", False, 0, id="results-found"),
        pytest.param("quiet", False, 0, id="no-results"),
        pytest.param("failures", True, 1, id="results-found-fail-on-results"),
        pytest.param("quiet", True, 0, id="no-results-fail-on-results"),
    ],
)
def test_run_exit_status(
    archive: Path, mixed_rules: Path, selector: str, fail_on_results: bool, status: int
) -> None:
    args = ["run", str(mixed_rules), "--archive", str(archive), "--rule", selector]
    assert main([*args, *(["--fail-on-results"] if fail_on_results else [])]) == status


@pytest.mark.parametrize(
    ("selectors", "rules"),
    [
        pytest.param(["failures"], {"failures"}, id="name"),
        pytest.param(["abc-111"], {"failures"}, id="id"),
        pytest.param(["q*.json"], {"quiet"}, id="file-name-glob"),
        pytest.param(["*/auth/*"], {"failures", "quiet"}, id="path-glob"),
        pytest.param(["quiet", "failures"], {"failures", "quiet"}, id="repeated"),
    ],
)
def test_run_selects_rules(
    archive: Path,
    mixed_rules: Path,
    capsys: pytest.CaptureFixture[str],
    selectors: list[str],
    rules: set[str],
) -> None:
    chosen = [arg for selector in selectors for arg in ("--rule", selector)]
    args = ["run", str(mixed_rules), "--archive", str(archive), "--format", "csv", *chosen]
    assert main(args) == 0
    summary = capsys.readouterr().err
    assert f"from {len(rules)} rule(s)" in summary
    assert {name for name in ("failures", "quiet", "learning") if f"│ {name} " in summary} == rules


@pytest.mark.parametrize(
    ("selector", "expected", "unexpected"),
    [
        pytest.param("nope*", "--rule 'nope*' matches no rule", "skipped", id="matches-nothing"),
        pytest.param("broken.json", "broken.json: not valid JSON", "cws.json", id="invalid-file"),
    ],
)
def test_run_rule_selecting_nothing_or_an_invalid_file(
    archive: Path,
    mixed_rules: Path,
    capsys: pytest.CaptureFixture[str],
    selector: str,
    expected: str,
    unexpected: str,
) -> None:
    # a selector that matches nothing is a user error; a selected invalid file is reported
    selectors = ["--rule", "failures", "--rule", selector]
    assert main(["run", str(mixed_rules), "--archive", str(archive), *selectors]) == 2
    err = capsys.readouterr().err
    assert expected in err and unexpected not in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["ingest", "run"])
def test_progress_shows_rate_and_eta_on_a_terminal_only(
    command: str,
    tmp_path: Path,
    logs_file: Path,
    archive: Path,
    rules_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = {
        "ingest": ["ingest", str(logs_file), "--archive", str(tmp_path / "a")],
        "run": ["run", str(rules_dir), "--archive", str(archive)],
    }[command]
    module = ingest_cli if command == "ingest" else run_cli
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=200)
    monkeypatch.setattr(module, "err_console", terminal)
    main(args)
    drawn = screen.getvalue()
    assert "ETA" in drawn
    if command == "ingest":
        assert "events/s" in drawn
    pipe = io.StringIO()
    monkeypatch.setattr(module, "err_console", Console(file=pipe, force_terminal=False))
    main([*args[:-1], str(tmp_path / "b")] if command == "ingest" else args)
    assert "ETA" not in pipe.getvalue()


# --- run --tables: reference tables ---------------------------------------------------------------


def _joined(table: str = "watched") -> dict[str, object]:
    reference = {
        "tableName": table,
        "columnName": "user",
        "logFieldPath": "@usr.id",
        "checkPresence": False,
        "ruleQueryName": "a",
    }
    return rule(name="unwatched", referenceTables=[reference])


def test_run_tables_joins_the_rules_reference_tables(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "watched.csv").write_text("user\nalice\n")
    joined = tmp_path / "joined.json"
    joined.write_text(json.dumps(_joined()))
    args = ["run", str(joined), "--archive", str(archive), "--format", "jsonl"]
    assert main([*args, "--tables", str(tables)]) == 0
    assert capsys.readouterr().out == ""  # alice is in the table: NOT IN keeps nothing of hers
    (tables / "watched.csv").write_text("user\nbob\n")
    assert main([*args, "--tables", str(tables)]) == 0
    assert "alice" in capsys.readouterr().out
    assert main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "reference table 'watched' was not found (tables: none)" in err
