"""Reading and detecting by hash partitions of the signal key finds exactly what one pass finds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import run
from engine.archive.ingest import ingest
from engine.results.spill import SpilledResults
from engine.scan.backends import local
from engine.scan.backends.local import LocalBackend
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource
from tests.detect.builders import query, rule
from tests.detect.test_group_signals_by import (
    CASES,
    EVENTS,
    QUERIES,
    TIMING,
    RefQuery,
    _log,
)


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
    split = run(rules, events, backend=LocalBackend(partitions=partitions))
    assert split.results == whole.results
    for one, other in zip(split.stats, whole.stats, strict=True):
        assert (one.rule, one.results, one.events_matched, one.error) == (
            other.rule,
            other.results,
            other.events_matched,
            other.error,
        )


def test_partitions_split_the_rows_of_grouped_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # the partitioned path is taken: each partition's scan holds a part of the matched rows
    users = [f"user{n}" for n in range(40)]
    events = [
        {
            "id": f"e{n}",
            "timestamp": 1_700_000_000_000 + n * 1000,
            "source": "app",
            "attributes": {"usr": {"id": users[n % 40]}},
        }
        for n in range(400)
    ]
    heights: list[int] = []
    apply = ScanPlan.apply

    def spy(self: ScanPlan, scan: pl.LazyFrame, partition: Any = None) -> pl.LazyFrame:
        heights.append(apply(self, scan, partition).collect().height)
        return apply(self, scan, partition)

    monkeypatch.setattr(ScanPlan, "apply", spy)
    spec = rule(query("source:app", ["@usr.id"]), cases=[{"status": "high", "condition": "a > 2"}])
    split = run(spec, events, backend=LocalBackend(partitions=4))
    assert len(heights) == 4 and sum(heights) == 400 and max(heights) < 400
    monkeypatch.undo()
    assert split.results == run(spec, events).results and split.results


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
