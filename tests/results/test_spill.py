"""A run's results spilled batch by batch read back as one sorted sequence."""

from __future__ import annotations

import gc
import os
import pickle
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.results.result import JobResult, Sample
from engine.results.spill import ResultSpill, SpilledResults, by_time

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _result(number: int, second: int, rule: str) -> JobResult:
    moment = _EPOCH + timedelta(seconds=second)
    return JobResult(
        id=f"r{number:04d}",
        rule_name=rule,
        rule_id=None,
        rule_type="log_detection",
        detection_method="threshold",
        case_index=0,
        case_name="",
        case_condition="a > 0",
        severity="high",
        group_by_paths=["@usr.id"],
        group_by={"@usr.id": f"u{number}"},
        timestamp=moment,
        first_seen=moment,
        last_seen=moment,
        events_matched=1,
        events_per_query={"a": 1},
        queries=[],
        log_ids=[f"e{number}"],
        samples=[Sample(f"e{number}", 0, {"id": f"e{number}", "timestamp": 0})],
        tags=[],
        title=rule,
        message="",
    )


BATCHES = st.lists(
    st.lists(st.tuples(st.integers(0, 20), st.sampled_from(["a", "b"])), max_size=12),
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(BATCHES, st.integers(-30, 30), st.integers(-30, 30))
def test_spilled_results_are_the_sorted_batches(
    batches: list[list[tuple[int, str]]], low: int, high: int
) -> None:
    spill, every, number = ResultSpill(to_disk=True), [], 0
    for batch in batches:
        made = []
        for second, rule in batch:
            made.append(_result(number, second, rule))
            number += 1
        every += made
        spill.add(made)
    by_time(every)
    found = spill.results()
    assert len(found) == len(every) and list(found) == every and found == every
    assert list(found[low:high]) == every[low:high] and list(found[::-2]) == every[::-2]
    if every:
        assert found[low % len(every)] == every[low % len(every)] and found[-1] == every[-1]
    assert pickle.loads(pickle.dumps(found)) == every


def test_results_in_memory_are_a_sorted_list_and_files_go_with_the_last_reader() -> None:
    spill = ResultSpill(to_disk=False)
    spill.add([_result(1, 5, "a")])
    spill.add([_result(0, 1, "a")])
    found = spill.results()
    assert isinstance(found, list) and found == [_result(0, 1, "a"), _result(1, 5, "a")]
    spill = ResultSpill(to_disk=True)
    spill.add([_result(1, 5, "a")])
    spill.add([_result(0, 1, "a")])
    found = spill.results()
    assert isinstance(found, SpilledResults)
    folder = found._files.folder
    assert os.path.isdir(folder) and found == [_result(0, 1, "a"), _result(1, 5, "a")]
    part = found[1:]
    del found, spill
    gc.collect()
    assert os.path.isdir(folder) and list(part) == [_result(1, 5, "a")]
    del part
    gc.collect()
    assert not os.path.exists(folder)
