"""`hindsight explain` / `engine.explain` and `explain-query`: instants, cases, lifecycle and
failing clauses, checked against `engine.run` and a naive reference on random streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine.cli import main
from engine.core.errors import GroupError, HindsightError
from engine.workflow.clauses import explain_query
from engine.workflow.explain import explain
from tests.conftest import REPO
from tests.detect.builders import T, at, event, query, rule

ARCHIVE = REPO / "sample_logs" / "archive"
WINDOWS = (0, 60, 300, 600)


def explained(definition: dict[str, Any], logs: list[dict[str, Any]], user: str = "alice") -> Any:
    return explain(definition, logs, group=[user], at=T, around=10**6)


# --- clauses ------------------------------------------------------------------------------------

EVENT = {
    "source": "okta",
    "message": "User login failed",
    "tags": ["env:prod"],
    "attributes": {
        "evt": {"name": "user.session.start", "outcome": "FAILURE"},
        "usr": {"id": "svc_backup"},
        "team": "blue",
        "http": {"status_code": "n/a"},
        "network": {"client": {"ip": "10.1.2.3"}},
        "word": "ConsoleLogin",
    },
}


CIDR = "CIDR(@network.client.ip, 11.0.0.0/8)"


@pytest.mark.parametrize(
    ("query_text", "failing"),
    [
        ("source:okta", []),
        ("@evt.outcome:failure", [("@evt.outcome:failure", "attribute values are case-sensitive")]),
        ("@evt.nmae:x", [("@evt.nmae:x", "the log has no @evt.nmae")]),
        ("-@usr.id:svc_*", [("NOT @usr.id:svc_*", "the negated clause holds")]),
        ("team:blue", [("team:blue", "did you mean @team:blue?")]),
        ("ConsoleLogin", [("ConsoleLogin", "did you mean @word:ConsoleLogin?")]),
        ("@http.status_code:>=400", [("@http.status_code:>=400", "'n/a' is not a number")]),
        (
            "CIDR(@network.client.ip, 11.0.0.0/8)",
            [("CIDR(@network.client.ip, 11.0.0.0/8)", "not inside")],
        ),
        ("_exists_:@geo", [("_exists_:@geo", "the log has no @geo")]),
        (
            "@evt.outcome:success OR status:error",
            [("@evt.outcome:success", "FAILURE"), ("status:error", "the log has no status")],
        ),
        ("source:okta (login OR failed) -env:dev", []),
    ],
)
def test_failing_clauses_and_reasons(query_text: str, failing: list[tuple[str, str]]) -> None:
    (verdict,) = explain_query(query_text, [EVENT])
    assert verdict.holds == (not failing)
    assert verdict.holds == engine.match(query_text, [EVENT])[0]
    got = verdict.failing()
    assert [leaf.clause for leaf in got] == [clause for clause, _ in failing]
    for leaf, (_, fragment) in zip(got, failing, strict=True):
        assert fragment in leaf.reason, leaf.reason


@given(
    st.lists(
        st.sampled_from(
            ["source:okta", "@evt.outcome:failure", "-@usr.id:svc_*", "team:blue", "login", "*"]
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from([" ", " OR ", " AND "]),
)
def test_every_clause_verdict_is_the_engines_own(parts: list[str], joiner: str) -> None:
    text = joiner.join(parts)
    (verdict,) = explain_query(text, [EVENT])
    assert verdict.holds == engine.match(text, [EVENT])[0]
    for child, part in zip(verdict.children, parts, strict=False):
        if verdict.kind != "clause" and len(parts) > 1:
            assert child.holds == engine.match(part, [EVENT])[0], (text, part)


# --- instants, cases, lifecycle ------------------------------------------------------------------


def test_near_miss_instants_show_the_numbers() -> None:
    logs = [event(s) for s in (0, 100, 200)]
    report = explained(rule(), logs)
    assert [i.queries[0].value for i in report.instants] == [1, 2, 3]
    last = report.instants[-1]
    assert last.cases[0].why == "a = 3, needs > 3" and not last.cases[0].holds
    assert last.matched_case is None
    assert last.window == "(2023-12-31T23:58:20.000Z, 2024-01-01T00:03:20.000Z]"
    assert last.queries[0].events == 3 and len(last.queries[0].event_ids) == 3
    assert last.lifecycle == "no case holds: nothing changes"
    assert report.results == []


@pytest.mark.parametrize(
    ("seconds", "keep_alive", "max_duration", "closing"),
    [
        pytest.param(
            (0, 200, 550),
            300,
            3600,
            "result 1 closed: 350 s after its last_seen > keepAlive 300 s",
            id="keep-alive",
        ),
        pytest.param(
            (0, 300, 600, 900, 1200),
            600,
            900,
            "result 1 closed: 1200 s after its first_seen > maxSignalDuration 900 s",
            id="max-duration",
        ),
    ],
)
def test_lifecycle_texts(
    seconds: tuple[int, ...], keep_alive: int, max_duration: int, closing: str
) -> None:
    definition = rule(
        cases=[{"status": "high", "condition": "a > 0"}],
        window=60,
        keep_alive=keep_alive,
        max_duration=max_duration,
    )
    report = explained(definition, [event(s) for s in seconds])
    lifecycles = [i.lifecycle for i in report.instants]
    assert lifecycles[0] == "opens result 1"
    assert lifecycles[1].startswith("extends result 1: last_seen")
    assert lifecycles[-1] == f"opens result 2 ({closing})"
    assert report.results[0].ended == closing
    assert report.results[-1].ended.startswith("no later match: final")


def test_severity_raise_and_then_explained() -> None:
    two = rule(
        query("source:auth", name="x"),
        query("source:auth @evt.outcome:success", name="y"),
        cases=[
            {"status": "critical", "condition": "x > 2 THEN y > 0"},
            {"status": "low", "condition": "x > 1"},
        ],
    )
    logs = [event(s) for s in (0, 10, 20)] + [event(30, evt={"outcome": "success"})]
    report = explained(two, logs)
    final = report.instants[-1]
    assert final.matched_case == 0
    assert final.cases[0].why == (
        "y = 1, needs > 0; x > 2 held at 2024-01-01T00:00:30.000Z, in the window"
    )
    assert "severity raised to critical" in final.lifecycle
    assert report.instants[1].cases[0].why.endswith("but x > 2 held at no instant of the window")


def test_group_signals_by_keeps_the_sibling_groups() -> None:
    definition = rule(
        query(group_by=["service", "@usr.id"]),
        cases=[{"status": "high", "condition": "a > 0"}],
        groupSignalsBy=["service"],
        window=60,
    )
    logs = [event(0), event(100, "bob"), event(200)]
    report = explain(definition, logs, group=["auth-api", "alice"], at=T, around=10**6)
    assert [i.lifecycle for i in report.instants] == [
        "opens result 1",
        "extends result 1: last_seen 2024-01-01T00:03:20.000Z",
    ]
    (story,) = report.results
    assert story.instants == 3  # bob's instant extended it too
    assert report.results[0].id == engine.run(definition, logs).results[0].id


@pytest.mark.parametrize(
    ("group", "problem"),
    [(["alice", "extra"], "groups by 1 field(s) (@usr.id); got 2"), ([], "got 0")],
)
def test_group_must_fit_the_group_by(group: list[str], problem: str) -> None:
    with pytest.raises(GroupError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        explain(rule(), [event(0)], group=group, at=T)


def test_unsupported_method_is_refused() -> None:
    definition = rule(query())
    definition["options"] = {"detectionMethod": "hardcoded", "hardcodedEvaluatorType": "log4shell"}
    definition["cases"] = [{"status": "info"}]
    with pytest.raises(HindsightError, match="unsupported detection method 'hardcoded'"):
        explain(definition, [event(0)], group=["alice"], at=T)


# --- explain agrees with engine.run on random streams --------------------------------------------

users = st.sampled_from(["alice", "bob"])
stream = st.lists(st.tuples(st.integers(0, 1800), users, st.booleans()), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stream,
    st.sampled_from(WINDOWS),
    st.sampled_from((0, 60, 300, 600)),
    st.sampled_from((0, 300, 900)),
    st.integers(0, 4),
    st.booleans(),
)
def test_explain_agrees_with_run(
    items: list[tuple[int, str, bool]],
    window: int,
    keep_alive: int,
    max_duration: int,
    threshold: int,
    with_then: bool,
) -> None:
    keep_alive, max_duration = max(keep_alive, window), max(max_duration, window)
    cases = [{"status": "high", "condition": f"a > {threshold}"}]
    if with_then:
        cases.insert(0, {"status": "critical", "condition": "a > 0 THEN b > 0"})
    definition = rule(
        query("source:auth"),
        query("source:auth @evt.outcome:success"),
        cases=cases,
        window=window,
        keep_alive=keep_alive,
        max_duration=max_duration,
    )
    logs = [
        event(s, user, evt={"outcome": "success" if ok else "failure"}) for s, user, ok in items
    ]
    run = engine.run(definition, logs)
    for user in sorted({user for _, user, _ in items}):
        report = explained(definition, logs, user)
        mine = [r for r in run.results if r.group_by == {"@usr.id": user}]
        assert [s.id for s in report.results] == [r.id for r in mine]
        assert [(s.first_seen, s.last_seen, s.severity) for s in report.results] == [
            (r.to_dict()["first_seen"], r.to_dict()["last_seen"], r.severity) for r in mine
        ]
        times = sorted({at(s) for s, u, _ in items if u == user})
        assert [i.time for i in report.instants] == [
            engine.workflow.report.time_text(t) for t in times
        ]
        reach = max(window * 1000, 1)
        for instant, moment in zip(report.instants, times, strict=True):
            in_window = [ok for s, u, ok in items if u == user and moment - reach < at(s) <= moment]
            counts = [len(in_window), sum(in_window)]  # naive reference per query
            assert [q.value for q in instant.queries] == counts
            assert [q.events for q in instant.queries] == counts
            first_true = next((c.case for c in instant.cases if c.holds), None)
            assert first_true == instant.matched_case
            assert (instant.result is not None) == (instant.matched_case is not None)
        opened = sum(i.lifecycle.startswith("opens") for i in report.instants)
        assert opened == len(mine)


# --- the sample archive and the CLI -------------------------------------------------------------


def test_near_miss_in_the_sample_archive() -> None:
    report = explain(
        REPO / "rules/okta/okta-brute-force.json",
        ARCHIVE,
        group="noah.fischer@example.com",
        at="2024-03-05T06:00:00Z",
        around="30m",
    )
    assert report.results == []
    assert max(i.queries[0].value or 0 for i in report.instants) == 2
    assert all(i.cases[0].why.endswith("needs > 9") for i in report.instants)
    assert report.unmatched_total == 2
    reasons = [f.reason for e in report.unmatched for f in e.failures["failed_login"]]
    assert "the value is 'success'" in reasons


def test_cli_explain_and_explain_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "explain",
        str(REPO / "rules/okta/okta-brute-force-then-success.json"),
        "--archive",
        str(ARCHIVE),
        "--group",
        "emma.larsen@example.com",
        "--at",
        "2024-03-07T03:15:00Z",
        "--around",
        "4m",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "opens result 1" in out and "account likely compromised (high):" in out
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["results"][0]["events_matched"] == 13
    assert data["instants"][-1]["cases"][0]["why"] == (
        "failed_login = 12, needs > 9 and successful_login = 1, needs > 0"
    )
    assert main([*args[:4], "--at", "2024-03-07T03:15:00Z"]) == 2
    assert "groups by 1 field(s)" in capsys.readouterr().err
    path = tmp_path / "event.json"
    path.write_text(json.dumps(EVENT))
    assert main(["explain-query", "@evt.outcome:failure", str(path)]) == 1
    out = capsys.readouterr().out
    assert "✗ @evt.outcome:failure — the value is 'FAILURE': attribute values are case" in out
    assert main(["explain-query", "source:okta", str(path)]) == 0
    assert main(["explain-query", "source:(", str(path)]) == 2


# --- the other detection methods: what each found at its matched instants ------------------------


@pytest.mark.parametrize(
    ("rule_file", "group", "at", "found"),
    [
        (
            "okta/okta-impossible-travel.json",
            "camille.durand@example.com",
            "2024-03-06T10:08:40Z",
            "Paris, France -> Singapore, Singapore: 10,729.0 km, 10,143.0 km/h",
        ),
        (
            "okta/okta-login-from-new-country.json",
            "sofia.keller@example.com",
            "2024-03-09T02:37:14Z",
            "new: Romania",
        ),
        (
            "okta/okta-brute-force-sequence.json",
            "emma.larsen@example.com",
            "2024-03-07T03:15:20Z",
            "step_a 2024-03-07T03:14:39.000Z -> step_b 2024-03-07T03:15:20.000Z",
        ),
        (
            "web/web-url-burst-anomaly.json",
            "web-store",
            "2024-03-10T04:11:48Z",
            "paths: 37 vs 6.8403 ± 5.846 (score 1.0)",
        ),
    ],
    ids=["impossible_travel", "new_value", "sequence_detection", "anomaly_detection"],
)
def test_explain_says_what_each_method_found(
    rule_file: str, group: str, at: str, found: str
) -> None:
    report = explain(REPO / "rules" / rule_file, ARCHIVE, group=group, at=at, around="2m")
    (opening,) = [i for i in report.instants if i.lifecycle.startswith("opens")]
    assert opening.found == found
    assert all(not i.found for i in report.instants if i.matched_case is None)


@pytest.mark.parametrize(
    ("rule_file", "says"),
    [
        ("okta/okta-threatinsight-alert.json", "a third_party rule has no evaluation"),
        ("okta/okta-spray-flagged-by-threatinsight.json", "reads the results of other rules"),
    ],
)
def test_explain_says_what_it_cannot_show(rule_file: str, says: str) -> None:
    with pytest.raises(HindsightError, match=says):
        explain(REPO / "rules" / rule_file, ARCHIVE, group="45.134.26.19", at=T)
