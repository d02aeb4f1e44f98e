"""`JobRun.events(result)`: every log a result matched, checked against an independent polars
filter over the same logs (the result's group, query and time span), in memory and in an archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import ingest, run
from engine.cli import main
from engine.core.errors import HindsightError
from engine.results.outcome import JobRun
from tests.detect.builders import T, rule

USERS = ("alice", "bob", "carol")
SOURCES = ("auth", "vpn")
OUTCOMES = ("failure", "success")

log_strategy = st.tuples(
    st.integers(0, 3_600),
    st.sampled_from(USERS),
    st.sampled_from(SOURCES),
    st.sampled_from(OUTCOMES),
)


def logs_of(draws: list[tuple[int, str, str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"log-{number}",
            "timestamp": T + seconds * 1000,
            "source": source,
            "service": "login",
            "message": f"{user} {outcome}",
            "attributes": {"usr": {"id": user}, "evt": {"outcome": outcome}},
        }
        for number, (seconds, user, source, outcome) in enumerate(draws)
    ]


def reference(logs: list[dict[str, Any]], user: str, first_ms: int, last_ms: int) -> set[str]:
    """The ids a result of RULE for `user` matched, by a plain polars filter over the logs."""
    frame = pl.DataFrame(
        {
            "id": [log["id"] for log in logs],
            "timestamp": [log["timestamp"] for log in logs],
            "source": [log["source"] for log in logs],
            "user": [log["attributes"]["usr"]["id"] for log in logs],
            "outcome": [log["attributes"]["evt"]["outcome"] for log in logs],
        }
    )
    found = frame.filter(
        (pl.col("source") == "auth")
        & (pl.col("outcome") == "failure")
        & (pl.col("user") == user)
        & pl.col("timestamp").is_between(first_ms, last_ms)
    )
    return set(found["id"])


RULE = rule(window=300, keep_alive=600, max_duration=3600)


def check_events(outcome: JobRun, logs: list[dict[str, Any]]) -> None:
    for result in outcome.results:
        events = outcome.events(result)
        first = int(result.first_seen.timestamp() * 1000)
        last = int(result.last_seen.timestamp() * 1000)
        assert set(events["id"]) == reference(logs, result.group_by["@usr.id"], first, last)
        assert events.height == len(result.log_ids) == result.events_matched
        assert events["timestamp"].is_sorted()
        assert {"service", "message", "@usr.id", "@evt.outcome"} <= set(events.columns)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(log_strategy, min_size=0, max_size=80))
def test_events_are_every_matched_log_of_a_result(draws: list[tuple[int, str, str, str]]) -> None:
    logs = logs_of(draws)
    check_events(run(RULE, logs), logs)


def test_events_from_an_archive_and_the_cli(tmp_path: Path) -> None:
    draws = [
        (seconds, USERS[seconds // 30 % 2], "auth", "failure") for seconds in range(0, 3600, 30)
    ]
    logs = logs_of(draws)
    source = tmp_path / "logs.ndjson"
    source.write_text("".join(json.dumps(log) + "\n" for log in logs))
    ingest(source, tmp_path / "archive")
    outcome = run(RULE, tmp_path / "archive")
    assert len(outcome.results) >= 2
    assert max(len(result.log_ids) for result in outcome.results) > 10  # beyond the samples
    check_events(outcome, logs)

    run_file = tmp_path / "run.json"
    args = ["run", str(tmp_path / "rule.json"), "--archive", str(tmp_path / "archive")]
    (tmp_path / "rule.json").write_text(json.dumps(RULE))
    assert main([*args, "--output", str(run_file)]) == 0
    for result in outcome.results:
        out = tmp_path / f"{result.id}.csv"
        assert main(["events", result.id, "--run", str(run_file), "--output", str(out)]) == 0
        back = pl.read_csv(out)
        assert back["id"].to_list() == result.log_ids
        assert set(back["result_id"]) == {result.id}
        assert set(back["group.@usr.id"]) == {result.group_by["@usr.id"]}


def test_events_need_the_logs_of_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = logs_of([(seconds, "alice", "auth", "failure") for seconds in range(0, 100, 10)])
    outcome = run(RULE, logs)
    outcome.logs = None
    with pytest.raises(HindsightError, match="does not know the logs"):
        outcome.events(outcome.results[0])
    run_file = tmp_path / "run.json"
    run_file.write_text('{"data": [], "meta": {"kind": "something else"}}')
    assert main(["events", "x", "--run", str(run_file)]) == 2
    assert "not a Hindsight run file" in capsys.readouterr().err
    assert main(["events", "x"]) == 2
    assert "--run RUN.json or --job ID" in capsys.readouterr().err
