"""Reading and detecting by hash partitions of the signal key finds exactly what one pass finds."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import JobRun, run
from engine.archive.ingest import ingest
from engine.results.spill import SpilledResults
from engine.run.first_time import first_times
from engine.scan.backends import local
from engine.scan.backends.local import LocalBackend
from engine.scan.partitioned import PartitionedRows
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource
from tests.detect.builders import archive_of, at, event, query, rule
from tests.detect.test_anomaly import anomaly_rule
from tests.detect.test_group_signals_by import (
    CASES,
    EVENTS,
    QUERIES,
    TIMING,
    RefQuery,
    _log,
)
from tests.detect.test_impossible_travel import PLACES, access, travel_rule
from tests.detect.test_new_value import DAY, login, new_value_rule
from tests.detect.test_sequence import sequence_rule
from tests.detect.test_third_party import finding, third_party_rule


def _rules(
    drawn_queries: list[tuple[Any, str, bool]],
    drawn_cases: list[tuple[tuple[str, Callable[[dict[str, Any]], bool]], str]],
    timing: tuple[int, int, int],
    group_signals_by: list[str] | None,
) -> list[dict[str, Any]]:
    queries = [
        RefQuery(name, text, test, aggregation, grouped)
        for name, ((text, test), aggregation, grouped) in zip("ab", drawn_queries, strict=True)
    ]
    window, keep_alive, max_duration = timing
    cases = [{"status": status, "condition": text} for (text, _), status in drawn_cases]
    signal_key = {"groupSignalsBy": group_signals_by} if group_signals_by else {}
    both = [q.to_json() for q in queries]
    return [
        rule(
            *both,
            cases=cases,
            window=window,
            keep_alive=keep_alive,
            max_duration=max_duration,
            name="both",
            **(signal_key if any(q.grouped for q in queries) else {}),
        ),
        # the same filters, grouped by one field: shared filters partitioned by two keys
        rule(
            query(queries[0].text, ["@usr.id"]),
            name="by user",
            window=window,
            keep_alive=keep_alive,
            max_duration=max_duration,
        ),
        rule(
            query(queries[1].text, ["env"]),
            name="by env",
            window=timing[0],
            cases=[{"status": "low", "condition": "a > 1"}],
            keep_alive=keep_alive,
            max_duration=max_duration,
        ),
        rule(
            query(queries[0].text, []),
            name="ungrouped",
            window=window,
            keep_alive=keep_alive,
            max_duration=max_duration,
        ),
    ]


def _same_runs(one: JobRun, other: JobRun) -> None:
    """The two runs found the same results and per-rule statistics."""
    assert one.results == other.results
    for mine, theirs in zip(one.stats, other.stats, strict=True):
        assert (mine.rule, mine.results, mine.events_matched, mine.error) == (
            theirs.rule,
            theirs.results,
            theirs.events_matched,
            theirs.error,
        )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    EVENTS,
    QUERIES,
    CASES,
    TIMING,
    st.sampled_from([None, ["env"], ["@usr.id"]]),
    st.sampled_from([2, 3, 7]),
)
def test_partitioned_runs_equal_one_pass(
    drawn_events: list[dict[str, Any]],
    drawn_queries: list[tuple[Any, str, bool]],
    drawn_cases: list[tuple[tuple[str, Callable[[dict[str, Any]], bool]], str]],
    timing: tuple[int, int, int],
    group_signals_by: list[str] | None,
    partitions: int,
) -> None:
    events = [_log(number, drawn) for number, drawn in enumerate(drawn_events)]
    rules = _rules(drawn_queries, drawn_cases, timing, group_signals_by)
    whole = run(rules, events)
    _same_runs(run(rules, events, backend=LocalBackend(partitions=partitions)), whole)


@pytest.mark.parametrize(
    "spec",
    [
        rule(query("source:auth", ["@usr.id"]), cases=[{"status": "high", "condition": "a > 2"}]),
        new_value_rule(learning=0, forget=None),
        travel_rule(),
        anomaly_rule(),
        sequence_rule(),
        third_party_rule(),
    ],
    ids=lambda spec: spec["options"].get("detectionMethod", "threshold"),
)
def test_partitions_split_the_rows_of_grouped_rules(
    spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the partitioned path is taken: each partition's scan holds a part of the matched rows
    drawn = [  # 40 users, one event every 54 s for 6 hours, travelling, in 3 countries
        (n / 400, f"user{n % 40}", "USFRJP"[n % 3 * 2 :][:2], PLACES[n // 40 % 5], outcome, 0)
        for n in range(400)
        for outcome in [["failure", "success"][n // 40 % 2]]
    ]
    drawn += [  # then a burst of failures and a success for 10 of them
        ((5 * 3600 + user * 60 + k * 5) / SIX_HOURS, f"user{user}", "US", None, outcome, 0)
        for user in range(10)
        for k, outcome in enumerate(["failure"] * 10 + ["success"])
    ]
    events = [_method_log(one, SIX_HOURS) for one in drawn]
    events += [finding(n * 60, 8, account=f"a{n}") for n in range(40)]
    heights: list[int] = []
    rows_of = PartitionedRows.rows

    def spy(self: PartitionedRows, number: int) -> pl.DataFrame:
        rows = rows_of(self, number)
        heights.append(rows.height)
        return rows

    monkeypatch.setattr(PartitionedRows, "rows", spy)
    whole = run(spec, events)
    (read,) = heights
    split = run(spec, events, backend=LocalBackend(partitions=4))
    assert len(heights) == 5 and sum(heights[1:]) == read and max(heights[1:]) < read
    monkeypatch.undo()
    assert split.results == whole.results and split.results


def test_sub_groups_of_one_signal_key_stay_in_one_partition() -> None:
    # groupSignalsBy env: every user's group updates the one result of its env, whatever the
    # partition its full group key would hash to
    events = [
        {
            "id": f"e{n:02d}",
            "timestamp": 1_700_000_000_000 + n * 1000,
            "source": "app",
            "tags": [f"env:{'dev' if n % 3 else 'prod'}"],
            "attributes": {"usr": {"id": f"u{n}"}},
        }
        for n in range(30)
    ]
    spec = rule(
        query("source:app", ["@usr.id", "env"]),
        cases=[{"status": "high", "condition": "a > 0"}],
        groupSignalsBy=["env"],
    )
    whole = run(spec, events)
    assert len(whole.results) == 2
    for partitions in (2, 4, 8):
        assert (
            run(spec, events, backend=LocalBackend(partitions=partitions)).results == whole.results
        )


# --- every per-group method ------------------------------------------------------------------

USER_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
STREAM = st.lists(
    st.tuples(
        st.floats(0, 1, allow_nan=False),  # when, as a share of the stream's span
        st.sampled_from([*USER_NAMES, "N/A", None]),  # "N/A": what a missing value is to `opt`
        st.sampled_from(["US", "FR", "JP", "DE", "N/A"]),
        st.sampled_from([*PLACES, None]),
        st.sampled_from(["failure", "failure", "success", "password_change"]),
        st.integers(0, 9),  # severity
    ),
    min_size=1,
    max_size=60,
)
SIX_HOURS = 6 * 3600
SPAN = st.sampled_from([3600, 6 * 3600, 3 * DAY])  # seconds the stream lasts


def _method_log(drawn: tuple[Any, ...], span: int) -> dict[str, Any]:
    share, user, country, place, outcome, severity = drawn
    made = access(round(share * span), place, user)
    evt = {"outcome": outcome} if outcome != "password_change" else {"name": outcome}
    made["attributes"].update(evt=evt, geo={"country": country}, severity=severity)
    return made


def _third_party_rule() -> dict[str, Any]:
    spec = third_party_rule()
    options = spec["options"]["thirdPartyRuleOptions"]
    options["rootQueries"] = [{"query": "source:auth", "groupByFields": ["@usr.id"]}]
    return spec


def _method_rules(learning: int, optional: bool) -> list[dict[str, Any]]:
    """One rule of every per-group method but threshold (which the test above covers)."""
    by_user = query("source:auth", ["@usr.id"], hasOptionalGroupByFields=optional)
    learning_rules = [
        new_value_rule(learning=learning, forget=1) | {"name": "new, duration"},
        new_value_rule(learningMethod="threshold", learningThreshold=learning % 2, forget=None)
        | {"name": "new, threshold"},
        new_value_rule(learning=learning, instantaneousBaseline=True) | {"name": "new, before"},
        anomaly_rule() | {"name": "anomaly"},
        anomaly_rule(learningDuration=6, instantaneousBaseline=True) | {"name": "anomaly, before"},
    ]
    optional_counts = rule(by_user, cases=[{"status": "low", "condition": "a > 2"}], name="opt")
    return [
        *learning_rules,
        travel_rule() | {"name": "travel"},
        travel_rule(baselineUserLocations=True) | {"name": "travel, baseline"},
        sequence_rule() | {"name": "sequence"},
        _third_party_rule() | {"name": "third party"},
        optional_counts,
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    STREAM,
    SPAN,
    st.sampled_from([0, 1]),
    st.booleans(),
    st.sampled_from([None, 0.25, 0.5]),  # the job's start, as a share of the span
    st.sampled_from([2, 3, 7]),
)
def test_every_per_group_method_partitioned_equals_one_pass(
    drawn_events: list[tuple[Any, ...]],
    span: int,
    learning: int,
    optional: bool,
    start: float | None,
    partitions: int,
) -> None:
    events = [_method_log(drawn, span) for drawn in drawn_events]
    rules = _method_rules(learning, optional)
    job = {} if start is None else {"start": at(start * span)}
    whole = run(rules, events, **job)
    assert not [stat.error for stat in whole.stats if stat.error]
    _same_runs(run(rules, events, backend=LocalBackend(partitions=partitions), **job), whole)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 3 * DAY), st.sampled_from(USER_NAMES), st.sampled_from("ABCD")),
        min_size=2,
        max_size=40,
    ),
    st.sampled_from([2, 3, 7]),
)
def test_the_learning_period_starts_at_the_rules_first_event_in_every_partition(
    drawn: list[tuple[int, str, str]], partitions: int
) -> None:
    # no job start: the learning day starts at the rule's first event over ALL users; a partition
    # that found its own first event would learn later, and miss the new values before it
    events = [login(seconds, country, user) for seconds, user, country in drawn]
    spec = new_value_rule(learning=1, forget=None)
    whole = run(spec, events)
    assert run(spec, events, backend=LocalBackend(partitions=partitions)).results == whole.results


@pytest.mark.parametrize(("wanted", "slices_read"), [("FR", 1), ("JP", 8)])
def test_the_first_time_pre_pass_stops_at_the_first_slice_with_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wanted: str, slices_read: int
) -> None:
    # 72 hours of logins, in 8 slices: a filter matching from the first slice on is found there;
    # one matching nothing reads every slice
    events = [
        login(hour * 3600, ["US", "FR"][hour % 2], USER_NAMES[hour % 8]) for hour in range(72)
    ]
    source = LogSource.of(archive_of(events, tmp_path))
    slices = LogSource.slices
    monkeypatch.setattr(
        LogSource, "slices", lambda self, low, high: slices(self, low, high, target_rows=10)
    )
    read: list[object] = []
    scan = LogSource.scan
    monkeypatch.setattr(LogSource, "scan", lambda *args: read.append(args) or scan(*args))
    plan = ScanPlan(source.schema)
    flag = plan.flag(pl.col("@geo.country") == wanted)
    found = first_times([([flag], None), ([flag], at(7200))], source, plan, None, None)
    assert len(source.slices(None, None)) == 8 and len(read) == slices_read
    assert found == ([at(3600), at(7200 + 3600)] if wanted == "FR" else [None, None])


def test_a_missing_optional_group_value_is_in_the_partition_of_its_na_group() -> None:
    # with hasOptionalGroupByFields a missing @usr.id is the group `N/A`, like the value "N/A"
    events = [event(n, None if n % 2 else "N/A") for n in range(4)]
    spec = rule(
        query(hasOptionalGroupByFields=True), cases=[{"status": "low", "condition": "a > 3"}]
    )
    (whole,) = run(spec, events).results
    assert whole.events_matched == 4
    for partitions in (2, 3, 7):
        assert run(spec, events, backend=LocalBackend(partitions=partitions)).results == [whole]


def test_a_partitioned_run_streams_its_results_through_temporary_files() -> None:
    # each partition's results are finished (samples read) and spilled as the run goes; the run's
    # results read them back lazily: the same results, documents and manifest as one pass
    users = [f"user{n}" for n in range(30)]
    events = [
        {
            "id": f"e{n:03d}",
            "timestamp": 1_700_000_000_000 + n * 7000,
            "source": "app",
            "attributes": {"usr": {"id": users[n % 30]}},
        }
        for n in range(300)
    ]
    spec = rule(query("source:app", ["@usr.id"]), cases=[{"status": "high", "condition": "a > 1"}])
    whole = run(spec, events)
    split = run(spec, events, backend=LocalBackend(partitions=3))
    assert isinstance(split.results, SpilledResults) and not isinstance(
        whole.results, SpilledResults
    )
    assert len(split.results) == len(whole.results) > 3
    assert list(split.results) == list(whole.results)
    assert split.results[1] == whole.results[1] and split.results[-1] == whole.results[-1]
    assert list(split.results[1:5]) == list(whole.results[1:5])
    assert [r.to_histsignal() for r in split.results] == [r.to_histsignal() for r in whole.results]
    assert split.manifest is not None and whole.manifest is not None
    assert split.manifest.documents == whole.manifest.documents
    truncated = run(spec, events, backend=LocalBackend(partitions=3), max_results=4)
    assert truncated.truncated and list(truncated.results) == list(whole.results[:4])


def test_a_local_run_is_partitioned_by_the_memory_its_files_take(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [
        orjson.dumps(
            {
                "id": f"e{n}",
                "timestamp": 1_700_000_000_000 + n * 600_000,
                "source": "app",
                "usr": {"id": f"u{n % 7}"},
            }
        ).decode()
        for n in range(200)
    ]
    (tmp_path / "logs.ndjson").write_text("\n".join(lines) + "\n")
    ingest(tmp_path / "logs.ndjson", tmp_path / "archive")
    source = LogSource.of(str(tmp_path / "archive"))
    assert source.archive is not None
    files = source.archive.files(source.index)
    size = sum(entry.bytes for entry in files) * local.MEMORY_PER_FILE_BYTE
    assert LocalBackend().partitions(source, None, None) == 1
    monkeypatch.setattr(local, "PARTITION_MEMORY", -(-size // 3))  # a third, rounded up
    assert LocalBackend().partitions(source, None, None) == 3
    assert LocalBackend(partitions=2).partitions(source, None, None) == 2
    assert LocalBackend().partitions(LogSource.of([{"timestamp": 0}]), None, None) == 1


def test_a_partitioned_run_reads_the_range_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 hours of failures of 6 users: several slices; 4 partitions read them once, then the
    # sample logs of every partition's results in one more pass
    logs = [event(n * 30, f"u{n % 6}") for n in range(480)]
    archive = archive_of(logs, tmp_path)
    spec = rule(cases=[{"status": "high", "condition": "a > 1"}])
    whole = run(spec, archive)
    slices = LogSource.slices

    def small(self: LogSource, start: int | None, end: int | None, **_: Any) -> list[Any]:
        return slices(self, start, end, target_rows=100)

    reads: list[tuple[int | None, int | None]] = []
    scan = LogSource.scan

    def counted(
        self: LogSource, start: int | None = None, end: int | None = None, **kw: Any
    ) -> Any:
        reads.append((start, end))
        return scan(self, start, end, **kw)

    monkeypatch.setattr(LogSource, "slices", small)
    monkeypatch.setattr(LogSource, "scan", counted)
    split = run(spec, archive, backend=LocalBackend(partitions=4))
    monkeypatch.undo()
    cuts = small(LogSource.of(str(archive)), None, None)
    assert len(cuts) >= 3
    assert reads == [*cuts, reads[-1]] and reads[-1] not in cuts
    assert split.results == whole.results and len({str(r.group_by) for r in split.results}) > 4


def test_a_partitioned_run_removes_its_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # finished, cancelled mid-scan or failing mid-scan: the partitions' files are gone at the end
    archive = archive_of([event(n * 30, f"u{n % 6}") for n in range(480)], tmp_path)
    spec = rule(cases=[{"status": "high", "condition": "a > 1"}])
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    slices = LogSource.slices
    monkeypatch.setattr(
        LogSource, "slices", lambda self, start, end, **_: slices(self, start, end, target_rows=100)
    )

    def left() -> list[str]:
        return sorted(p.name.split("-")[1] for p in folder.iterdir() if "results" not in p.name)

    assert run(spec, archive, backend=LocalBackend(partitions=3)).results
    assert left() == []
    asked: list[int] = []
    made: list[str] = []
    mkdtemp = tempfile.mkdtemp

    def recorded(*args: Any, **kw: Any) -> str:
        made.append(mkdtemp(*args, **kw))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    stopped = run(
        spec,
        archive,
        backend=LocalBackend(partitions=3),
        should_stop=lambda: len(asked) > 2 or bool(asked.append(1)),
    )
    assert stopped.cancelled and made and left() == []
    add = PartitionedRows.add

    def failing(self: PartitionedRows, rows: pl.DataFrame) -> None:
        if self.added:
            raise OSError("disk full")
        add(self, rows)
        self.added = True

    monkeypatch.setattr(PartitionedRows, "added", False, raising=False)
    monkeypatch.setattr(PartitionedRows, "add", failing)
    before = len(made)
    with pytest.raises(OSError, match="disk full") as failed:
        run(spec, archive, backend=LocalBackend(partitions=3))
    assert failed.traceback and len(made) > before and left() == []  # its frames still alive
