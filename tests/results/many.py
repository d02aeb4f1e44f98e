"""Many synthetic results, spilled as a run of several partitions spills them, and a way to
measure the Python memory a writer of them takes at its peak."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from engine.results.outcome import JobRun, RuleStats
from engine.results.result import JobResult, QueryDetail, Sample
from engine.results.spill import ResultSpill

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
#: Group-by fields of the results: each result is grouped by one or two of them.
FIELDS = ("@usr.id", "host", "@network.client.ip")
#: The results per batch the memory tests write with (`RESULT_BATCH` patched), and the counts
#: of results they compare: N, then 10 N.
BATCH = 50
COUNTS = (150, 1_500)


def result(number: int) -> JobResult:
    """A result with three samples, grouped by one or two of `FIELDS` (by its number)."""
    moment = _EPOCH + timedelta(seconds=number % 9_973)
    fields = FIELDS[number % 3 : number % 3 + 1 + number % 2]
    logs = [f"e{number}-{item}" for item in range(3)]
    return JobResult(
        id=f"r{number:07d}",
        rule_name=f"rule {number % 4}",
        rule_id=None,
        rule_type="log_detection",
        detection_method="threshold",
        case_index=0,
        case_name="",
        case_condition="a > 0",
        severity="high",
        group_by_paths=list(fields),
        group_by={field: f"{field}-{number % 101}" for field in fields},
        timestamp=moment,
        first_seen=moment,
        last_seen=moment + timedelta(seconds=30),
        events_matched=3,
        events_per_query={"a": 3},
        queries=[QueryDetail("a", "source:auth", "count", list(fields), [], None, 3)],
        log_ids=logs,
        samples=[
            Sample(log, 0, {"id": log, "timestamp": 0, "host": "web-1", "message": "x" * 200})
            for log in logs
        ],
        tags=["env:test"],
        title=f"rule {number % 4} on {number % 101}",
        message="Failed logins " * 10,
    )


def spilled_run(count: int, *, partitions: int = 3) -> JobRun:
    """A run of `count` results spilled in `partitions` batches (a lazy `SpilledResults`)."""
    spill = ResultSpill(to_disk=True)
    for partition in range(partitions):
        spill.add([result(number) for number in range(partition, count, partitions)])
    return JobRun(spill.results(), [RuleStats("rule 0", "threshold")], None, None, 0, 0.0)


def peak_bytes(write: Callable[[], object]) -> int:
    """The most Python memory `write()` held at once (tracemalloc), above what was before it."""
    gc.collect()
    tracemalloc.start()
    try:
        write()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_flat(peaks: Sequence[int], what: str, *, slack: int = 256 * 1024) -> None:
    """Assert that the peak of writing `COUNTS[1]` results stays under 1.5 times the peak of
    writing `COUNTS[0]`, plus `slack` bytes: a streamed writer holds one batch whatever the
    count, one that holds every result peaks about 10 times higher."""
    small, large = peaks
    assert large <= 1.5 * small + slack, (
        f"{what}: peak {small:,} B for {COUNTS[0]:,} results, {large:,} B for {COUNTS[1]:,}"
    )
