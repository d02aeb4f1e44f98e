"""`hindsight diff` / `engine.diff`: two rule versions on one scan, results matched across them."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import engine.workflow.diff as diff_module
from engine.cli import main
from engine.core.errors import HindsightError, RevisionError
from engine.workflow.diff import diff
from tests.detect.builders import event, query, rule

# alice: 6 failures (0..270 s, the last one "locked"), 2 more an hour later; bob: 4; carol: 1
LOCKED = {"outcome": "failure", "reason": "locked"}
EVENTS = (
    [event(s) for s in (0, 60, 120, 180, 240, 3600, 3660)]
    + [event(270, evt=LOCKED)]
    + [event(s, "bob") for s in (0, 30, 60, 90)]
    + [event(0, "carol", evt=LOCKED)]
)
BASE = rule()  # a > 3 in 300 s, high


def variant(**changes: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(BASE))
    if "condition" in changes:
        changed["cases"][0]["condition"] = changes.pop("condition")
    if "status" in changes:
        changed["cases"][0]["status"] = changes.pop("status")
    if "query" in changes:
        changed["queries"][0]["query"] = changes.pop("query")
    if "group_by" in changes:
        changed["queries"][0]["groupByFields"] = changes.pop("group_by")
    assert not changes
    return changed


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def run_diff(tmp_path: Path, old: dict[str, Any], new: dict[str, Any]) -> diff_module.DiffReport:
    return diff(write(tmp_path / "old.json", old), write(tmp_path / "new.json", new), EVENTS)


def groups(summaries: list[diff_module.ResultSummary]) -> list[str]:
    return [next(iter(s.group_by.values())) for s in summaries]


@pytest.mark.parametrize(
    ("new", "only_old", "only_new", "changed"),
    [
        pytest.param(BASE, [], [], [], id="identical"),
        pytest.param(variant(condition="a > 4"), ["bob"], [], [], id="tightened"),
        pytest.param(variant(condition="a > 0"), [], ["alice", "carol"], [], id="loosened"),
        pytest.param(
            variant(status="critical"),
            [],
            [],
            [("alice", ["severity"]), ("bob", ["severity"])],
            id="severity",
        ),
        pytest.param(
            variant(group_by=["@evt.outcome"]), ["alice", "bob"], ["failure"], [], id="group-by"
        ),
        pytest.param(
            variant(query="source:auth @evt.outcome:failure -@evt.reason:locked"),
            [],
            [],
            [("alice", ["last_seen", "events_matched"])],
            id="query-tightened",
        ),
    ],
)
def test_result_differences(
    tmp_path: Path,
    new: dict[str, Any],
    only_old: list[str],
    only_new: list[str],
    changed: list[tuple[str, list[str]]],
) -> None:
    report = run_diff(tmp_path, BASE, new)
    assert sorted(groups(report.only_old)) == only_old
    assert sorted(groups(report.only_new)) == only_new
    got = sorted(
        (next(iter(c.old.group_by.values())), [x.field for x in c.changes]) for c in report.changed
    )
    assert got == changed
    assert report.has_changes == bool(only_old or only_new or changed)


def test_changed_result_reports_times_and_events(tmp_path: Path) -> None:
    tightened = variant(query="source:auth @evt.outcome:failure -@evt.reason:locked")
    (change,) = run_diff(tmp_path, BASE, tightened).changed
    assert change.old.last_seen.timestamp() - change.new.last_seen.timestamp() == 30
    assert change.old.first_seen == change.new.first_seen
    assert (change.old.events_matched, change.new.events_matched) == (6, 5)
    assert (change.events_only_old, change.events_only_new) == (1, 0)


def test_per_query_events_one_version_catches_and_the_other_does_not(tmp_path: Path) -> None:
    tightened = variant(query="source:auth @evt.outcome:failure -@evt.reason:locked")
    report = run_diff(tmp_path, BASE, tightened)
    (item,) = report.queries
    assert (item.old_events, item.new_events, item.only_old, item.only_new) == (13, 11, 2, 0)
    times = [ref.timestamp for ref in item.examples_only_old]
    assert times == ["2024-01-01T00:00:00.000Z", "2024-01-01T00:04:30.000Z"]
    assert item.old_query == "source:auth @evt.outcome:failure"
    assert report.has_changes


def test_results_match_only_when_their_spans_overlap() -> None:
    def summary(first: int, last: int, group: str = "a") -> diff_module.Summarised:
        def moment(s: int) -> datetime:
            return datetime.fromtimestamp(s, tz=UTC)

        item = diff_module.ResultSummary(
            "r", "", "", "high", {"@u": group}, moment(first), moment(first), moment(last), 1, ""
        )
        return item, frozenset()

    pairs, lone_old, lone_new = diff_module.match_results(
        [summary(0, 100), summary(500, 600), summary(0, 50, "b")],
        [summary(100, 200), summary(700, 800), summary(0, 50, "c")],
    )
    assert [(a[0].first_seen.timestamp(), b[0].first_seen.timestamp()) for a, b in pairs] == [
        (0, 100)
    ]
    assert len(lone_old) == 2 and len(lone_new) == 2


def test_both_versions_run_in_one_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = diff_module.run

    def counting(rules: Any, logs: Any, **options: Any) -> Any:
        calls.append(len(rules))
        return real(rules, logs, **options)

    monkeypatch.setattr(diff_module, "run", counting)
    run_diff(tmp_path, BASE, variant(condition="a > 4"))
    assert calls == [2]


def test_events_of_one_query_and_nothing_else_changed_still_count_as_a_change(
    tmp_path: Path,
) -> None:
    tightened = variant(query="source:auth @evt.outcome:failure -@usr.id:carol")
    report = run_diff(tmp_path, BASE, tightened)
    assert not (report.only_old or report.only_new or report.changed)
    assert report.queries[0].only_old == 1
    assert report.has_changes


def test_folders_pair_rules_by_path_and_report_added_and_removed(tmp_path: Path) -> None:
    write(tmp_path / "old" / "a.json", BASE)
    write(tmp_path / "old" / "gone.json", rule(name="gone"))
    write(tmp_path / "new" / "a.json", BASE)
    write(tmp_path / "new" / "sub" / "added.json", rule(query(group_by=[]), name="added"))
    report = diff(tmp_path / "old", tmp_path / "new", EVENTS)
    identities = {(p.identity, p.old, p.new) for p in report.rules}
    assert identities == {
        ("a.json", "R1", "R1"),
        ("gone.json", "gone", None),
        ("sub/added.json", None, "added"),
    }
    assert sorted(s.rule for s in report.only_old) == ["gone", "gone"]
    assert [s.rule for s in report.only_new] == ["added"]
    assert report.unchanged == 2
    (day,) = report.per_day
    assert (day.old_results, day.new_results, day.old_events, day.new_events) == (4, 3, 13, 13)


def test_file_and_folder_cannot_be_compared(tmp_path: Path) -> None:
    with pytest.raises(HindsightError, match="a file with a file"):
        diff(write(tmp_path / "a.json", BASE), tmp_path, EVENTS)


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "init", "-q")
    write(folder / "rules" / "r.json", BASE)
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "base")
    write(folder / "rules" / "r.json", variant(condition="a > 4"))
    return folder


def test_git_revision_of_a_file_and_of_a_folder(repo: Path) -> None:
    report = diff(f"{repo}/rules/r.json@HEAD", repo / "rules" / "r.json", EVENTS)
    assert groups(report.only_old) == ["bob"]
    report = diff(f"{repo}/rules@HEAD", repo / "rules", EVENTS)
    assert groups(report.only_old) == ["bob"]
    assert [p.identity for p in report.rules] == ["r.json"]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("{repo}/rules/r.json@nosuchrev", "invalid object name 'nosuchrev'"),
        ("{repo}/rules/missing.json@HEAD", "does not exist in 'HEAD'"),
        ("{outside}/r.json@HEAD", "is not inside a git repository"),
        ("{repo}/nothing-here.json", "no such file or folder"),
    ],
)
def test_git_errors_are_clear(repo: Path, tmp_path: Path, spec: str, problem: str) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(RevisionError, match=problem):
        diff(spec.format(repo=repo, outside=outside), repo / "rules" / "r.json", EVENTS)


def test_bad_rule_at_a_revision_names_the_file_and_revision(repo: Path) -> None:
    (repo / "rules" / "r.json").write_text("{broken")
    git(repo, "commit", "-qam", "broken")
    with pytest.raises(HindsightError, match=r"rules/r\.json@HEAD"):
        diff(f"{repo}/rules/r.json@HEAD", f"{repo}/rules/r.json@HEAD~1", EVENTS)


def test_cli_formats_and_fail_on_change(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs.ndjson"
    logs.write_text("\n".join(json.dumps(item) for item in EVENTS) + "\n")
    archive = tmp_path / "archive"
    assert main(["ingest", str(logs), "--archive", str(archive)]) == 0
    capsys.readouterr()
    old, new = f"{repo}/rules/r.json@HEAD", str(repo / "rules" / "r.json")
    common = ["diff", old, new, "--archive", str(archive)]
    assert main(common) == 0
    out = capsys.readouterr().out
    assert "1 only in OLD" in out and "Only in OLD" in out and "@usr.id:bob" in out
    assert main([*common, "--format", "json", "--fail-on-change"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [s["group_by"] for s in data["only_old"]] == [{"@usr.id": "bob"}]
    assert main([*common, "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("### Hindsight rule diff: changes")
    assert "| R1 | @usr.id:bob | high |" in text
    assert main(["diff", old, old, "--archive", str(archive), "--fail-on-change"]) == 0
    assert main(["diff", f"{repo}/x.json@HEAD", new, "--archive", str(archive)]) == 2
    assert "does not exist in 'HEAD'" in capsys.readouterr().err
