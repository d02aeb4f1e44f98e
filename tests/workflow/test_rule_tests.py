"""`hindsight test` / `engine.test_rule`: rule unit tests, their events, expectations, outputs."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.workflow.examples import relative_ms, to_events
from engine.workflow.tests import run_tests, test_rule
from tests.conftest import REPO
from tests.detect.builders import rule

FAIL = {"source": "auth", "attributes": {"evt": {"outcome": "failure"}, "usr": {"id": "alice"}}}
START = "2024-01-01T00:00:00Z"
T0 = 1_704_067_200_000


def failures(count: int, every: str = "30s", user: str = "alice") -> list[dict[str, Any]]:
    event = {**FAIL, "attributes": {**FAIL["attributes"], "usr": {"id": user}}}
    return [{"repeat": count, "every": every, "event": event}]


R1 = rule(message="{{@usr.id}} failed {{events_matched}} times")  # a > 3 in 300 s, high


@pytest.mark.parametrize(
    ("events", "expect", "status", "mismatches"),
    [
        pytest.param(failures(4), {"fires": True}, "passed", [], id="fires"),
        pytest.param(failures(3), {"fires": False}, "passed", [], id="quiet"),
        pytest.param(failures(3), {"fires": True}, "failed", [("fires", True, False)], id="none"),
        pytest.param(failures(4), {"count": 2}, "failed", [("results", 2, 1)], id="count"),
        pytest.param(
            failures(4),
            {"severity": "low"},
            "failed",
            [("result 1 severity", "low", "high")],
            id="severity",
        ),
        pytest.param(
            failures(4),
            {"group_by": {"@usr.id": "bob"}},
            "failed",
            [("result 1 group_by", {"@usr.id": "bob"}, {"@usr.id": "alice"})],
            id="group-by",
        ),
        pytest.param(
            failures(5),
            {"events_matched": 4},
            "failed",
            [("result 1 events_matched", 4, 5)],
            id="events-matched",
        ),
        pytest.param(
            failures(4), {"message_contains": "alice failed 4 times"}, "passed", [], id="message"
        ),
        pytest.param(
            failures(4) + failures(4, user="bob"),
            {"results": [{"group_by": {"@usr.id": "alice"}}, {"group_by": {"@usr.id": "bob"}}]},
            "passed",
            [],
            id="per-result-list",
        ),
        pytest.param(
            failures(3),
            {"severity": "high"},
            "failed",
            [("results", "at least 1", 0)],
            id="per-result-fields-need-a-result",
        ),
    ],
)
def test_expectation_outcomes(
    events: list[dict[str, Any]],
    expect: dict[str, Any],
    status: str,
    mismatches: list[tuple[str, Any, Any]],
) -> None:
    report = test_rule(R1, [{"name": "t", "start": START, "events": events, "expect": expect}])
    (outcome,) = report.outcomes
    assert outcome.status == status, outcome
    assert [(m.what, m.expected, m.got) for m in outcome.mismatches] == mismatches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+60s", T0 + 60_000),
        ("+5m", T0 + 300_000),
        ("-1h", T0 - 3_600_000),
        ("+250ms", T0 + 250),
        ("+2", T0 + 2000),
        ("+1.5d", T0 + 129_600_000),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
        ("60s", "60s"),
    ],
)
def test_relative_times(text: str, expected: object) -> None:
    assert relative_ms(text, T0) == expected


def test_repeat_every_and_index_placeholder() -> None:
    records = [
        {"repeat": 3, "every": "20s", "event": {"timestamp": "+1m", "message": "try {i}"}},
        {"message": "no time: at start"},
    ]
    events = to_events(records, "auto", T0, "inline")
    assert [e["timestamp"] - T0 for e in events] == [60_000, 80_000, 100_000, 0]
    assert [e["message"] for e in events] == ["try 0", "try 1", "try 2", "no time: at start"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_events_files_in_ingest_formats(tmp_path: Path) -> None:
    """NDJSON (gzip), a CloudTrail Records file and a Datadog archive line: with relative times."""
    ndjson = "\n".join(json.dumps({**FAIL, "timestamp": f"+{n * 10}s"}) for n in range(4)).encode()
    (tmp_path / "auth.ndjson.gz").write_bytes(gzip.compress(ndjson))
    trail = {
        "Records": [
            {
                "eventTime": f"+{n}m",
                "eventSource": "signin.amazonaws.com",
                "eventName": "ConsoleLogin",
                "userIdentity": {"arn": "arn:aws:iam::1:user/x"},
                "responseElements": {"ConsoleLogin": "Failure"},
            }
            for n in range(4)
        ]
    }
    write(tmp_path / "trail.txt", json.dumps(trail))
    console = rule(
        {
            "query": "source:cloudtrail @evt.name:ConsoleLogin @evt.outcome:failure",
            "groupByFields": ["@userIdentity.arn"],
        }
    )
    write(tmp_path / "auth.json", json.dumps(R1))
    write(tmp_path / "console.json", json.dumps(console))
    write(
        tmp_path / "auth.tests.yaml",
        "- {name: gz ndjson, events_file: auth.ndjson.gz, expect: {events_matched: 4}}\n",
    )
    write(
        tmp_path / "console.tests.yaml",
        "- {name: cloudtrail file, events_file: trail.txt, format: cloudtrail,"
        " expect: {count: 1, events_matched: 4}}\n",
    )
    report = run_tests([tmp_path])
    assert report.ok, report.to_json()
    assert report.count("passed") == 2


def test_tests_inside_the_rule_file_and_run_still_loads_it(tmp_path: Path) -> None:
    body = {
        **R1,
        "tests": [{"name": "inline", "events": failures(4), "expect": {"fires": True}}],
    }
    path = write(tmp_path / "r.json", json.dumps(body))
    report = test_rule(path)
    assert [o.status for o in report.outcomes] == ["passed"]
    assert report.tests_source == str(path)
    assert main(["run", str(path), "--archive", str(REPO / "sample_logs" / "archive")]) == 0


@pytest.mark.parametrize(
    ("tests_text", "problem"),
    [
        ("- {name: x, expect: {fires: true}, evnts: []}\n", "evnts: unknown field"),
        ("- {name: x, expect: {}}\n", "expect must say something"),
        ("- {name: x, expect: {fires: false, count: 2}}\n", "contradicts"),
        ("- {name: x, expect: {fires: yes}, format: xml}\n", "format must be one of"),
        ("tests: [\n", "not valid YAML"),
        ("just text\n", "expected a list of tests"),
    ],
)
def test_bad_tests_files_are_errors_naming_the_problem(
    tmp_path: Path, tests_text: str, problem: str
) -> None:
    write(tmp_path / "r.json", json.dumps(R1))
    tests = write(tmp_path / "r.tests.yaml", tests_text)
    report = test_rule(tmp_path / "r.json")
    assert report.error is not None and problem in report.error, report.error
    assert str(tests) in report.error
    assert not report.ok


@pytest.mark.parametrize(
    ("test", "problem"),
    [
        ({"events_file": "missing.ndjson"}, "missing.ndjson"),
        ({"events": [{"timestamp": "yesterday-ish"}]}, "event 1"),
        ({"start": "not a time"}, "start"),
        ({"events": [{"repeat": 0, "event": {}}]}, "repeat: N >= 1"),
    ],
)
def test_bad_events_are_a_test_error_and_the_others_still_run(
    tmp_path: Path, test: dict[str, Any], problem: str
) -> None:
    tests = [
        {"name": "bad", "expect": {"fires": True}, **test},
        {"name": "good", "events": failures(4), "expect": {"fires": True}},
    ]
    report = test_rule(R1, tests)
    bad, good = report.outcomes
    assert bad.status == "error" and bad.error is not None and problem in bad.error, bad.error
    assert good.status == "passed"


def test_a_rule_that_cannot_run_is_a_test_error() -> None:
    unsupported = rule()
    unsupported["cases"] = [{"status": "info"}]
    unsupported["options"] = {"detectionMethod": "hardcoded", "hardcodedEvaluatorType": "log4shell"}
    report = test_rule(unsupported, [{"name": "t", "events": failures(1), "expect": {"count": 1}}])
    assert report.outcomes[0].status == "error"
    assert "unsupported detection method 'hardcoded'" in (report.outcomes[0].error or "")


def test_orphan_tests_files_and_untested_rules_are_reported(tmp_path: Path) -> None:
    write(tmp_path / "lonely.tests.yaml", "- {name: x, expect: {fires: true}}\n")
    write(tmp_path / "untested.json", json.dumps(R1))
    report = run_tests([tmp_path])
    assert report.untested == [str(tmp_path / "untested.json")]
    (orphan,) = report.rules
    assert orphan.error == "no rule file lonely.json beside it"
    assert not report.ok


def test_junit_xml_and_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "r.json", json.dumps(R1))
    write(
        tmp_path / "r.tests.yaml",
        "- {name: fires, events: [{repeat: 4, event: {source: auth, attributes: "
        "{evt: {outcome: failure}, usr: {id: a}}}}], expect: {fires: true}}\n"
        "- {name: wrong, expect: {fires: true}}\n",
    )
    junit = tmp_path / "junit.xml"
    assert main(["test", str(tmp_path), "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "PASSED fires" in out and "FAILED wrong" in out
    assert "expected: true" in out and "got:      false" in out
    assert "1 failed, 1 passed" in out
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    failure = root.find("testsuite/testcase[@name='wrong']/failure")
    assert failure is not None and failure.get("message") == "fires: expected True, got False"
    write(tmp_path / "r.tests.yaml", "- {name: quiet, expect: {fires: false}}\n")
    assert main(["test", str(tmp_path / "r.json"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["rules"][0]["outcomes"][0]["status"] == "passed"
    assert main(["test", str(tmp_path / "nope")]) == 2


# --- the bundled rules --------------------------------------------------------------------------


def test_every_bundled_rule_has_a_firing_test_and_a_near_miss_and_they_pass() -> None:
    report = run_tests([REPO / "rules"])
    assert report.untested == []
    assert report.ok, report.to_json()
    assert len(report.rules) == len(list((REPO / "rules").rglob("*.json")))
    for rule_report in report.rules:
        fired = [o for o in rule_report.outcomes if o.results]
        quiet = [o for o in rule_report.outcomes if not o.results]
        assert fired and quiet, rule_report.source


@pytest.mark.parametrize(
    ("change", "statuses"),
    [
        pytest.param({"condition": "failed_login > 10"}, ["failed", "passed"], id="tightened"),
        pytest.param({"evaluationWindow": 3600}, ["passed", "failed"], id="window-widened"),
    ],
)
def test_bundled_tests_catch_a_changed_rule(
    tmp_path: Path, change: dict[str, Any], statuses: list[str]
) -> None:
    changed = json.loads((REPO / "rules/okta/okta-brute-force.json").read_text())
    if "condition" in change:
        changed["cases"][0]["condition"] = change["condition"]
    else:
        changed["options"] |= {**change, "keepAlive": 3600, "maxSignalDuration": 3600}
    write(tmp_path / "okta-brute-force.json", json.dumps(changed))
    tests = (REPO / "rules/okta/okta-brute-force.tests.yaml").read_text()
    write(tmp_path / "okta-brute-force.tests.yaml", tests)
    report = test_rule(tmp_path / "okta-brute-force.json")
    assert [o.status for o in report.outcomes] == statuses


def test_a_tests_file_given_apart_from_the_rule_reads_events_beside_itself(tmp_path: Path) -> None:
    rule_path = write(tmp_path / "rules" / "r.json", json.dumps(R1))
    events = "\n".join(json.dumps({**FAIL, "timestamp": f"+{n}s"}) for n in range(4))
    write(tmp_path / "suite" / "auth.ndjson", events + "\n")
    tests = write(
        tmp_path / "suite" / "checks.yaml",
        "- {name: t, events_file: auth.ndjson, expect: {count: 1}}\n",
    )
    report = test_rule(rule_path, tests)
    assert [o.status for o in report.outcomes] == ["passed"]
    broken = write(tmp_path / "suite" / "broken.yaml", "- {name: t}\n")
    report = test_rule(rule_path, broken)
    assert report.error is not None and "expect: is required" in report.error
