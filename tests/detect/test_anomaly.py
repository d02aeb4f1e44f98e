"""`anomaly_detection` / `anomaly_threshold` (SPEC §3.12): the engine's bucketed baseline model."""

from __future__ import annotations

from typing import Any

import pytest

from engine.results.result import JobResult
from engine.run import run
from tests.detect.builders import T, at, event, query, rule, times

BUCKET = 300
H = 3600


def anomaly_rule(
    method: str = "anomaly_detection", condition: str = "a > 0.995", **options: Any
) -> dict[str, Any]:
    """Failed logins per user, 5-minute buckets, an hour of history unless told otherwise."""
    found = rule(
        query(),
        cases=[{"status": "high", "name": "burst", "condition": condition}],
        window=0,
        keep_alive=BUCKET,
        max_duration=H,
    )
    settings = {"bucketDuration": BUCKET, "learningDuration": 1, **options}
    found["options"].update(detectionMethod=method, anomalyDetectionOptions=settings)
    return found


def counts(per_bucket: list[int], start: int = 0, user: str = "alice") -> list[dict[str, Any]]:
    """`per_bucket[i]` failures of `user` in the i-th 5-minute bucket after `T + start`."""
    return [
        event(start + i * BUCKET + 10 * n, user)
        for i, count in enumerate(per_bucket)
        for n in range(count)
    ]


def found(rule_json: dict[str, Any], logs: list[dict[str, Any]], **job: Any) -> list[JobResult]:
    job.setdefault("start", T)
    job.setdefault("end", at(48 * H))
    return run(rule_json, logs, **job).results


STEADY = [2] * 24  # two hours of two failures per bucket


@pytest.mark.parametrize("method", ["anomaly_detection", "anomaly_threshold"])
def test_a_burst_above_the_baseline_fires(method: str) -> None:
    (result,) = found(anomaly_rule(method), counts([*STEADY, 3]))
    anomaly = result.extra["anomaly"]
    assert times(result)[0] == 24 * BUCKET  # the burst bucket's first event
    assert result.detection_method == method
    assert anomaly["bucket_duration"] == BUCKET
    assert anomaly["queries"]["a"] == {
        "count": 3,
        "baseline_mean": 2.0,
        "baseline_stdev": 0.0,
        "score": 1.0,
    }


def test_a_steady_stream_never_fires() -> None:
    assert found(anomaly_rule(), counts([*STEADY, 2])) == []


def test_the_learning_period_gives_no_score() -> None:
    assert found(anomaly_rule(), counts([2] * 11 + [30])) == []


def test_a_group_seen_for_the_first_time_never_fires() -> None:
    logs = counts(STEADY) + counts([30], start=24 * BUCKET, user="bob")
    assert found(anomaly_rule(), logs) == []


# Counts alternating 2 and 4: mean 3, stdev 1 over the last hour of buckets.
WAVY = [2, 4] * 12


@pytest.mark.parametrize(
    ("tolerance", "burst", "fires"),
    [(None, 5, True), (3, 5, False), (3, 6, False), (3, 7, True)],
    ids=["no_tolerance", "below_mean_plus_3sd", "at_mean_plus_3sd", "above_mean_plus_3sd"],
)
def test_detection_tolerance_requires_count_above_mean_plus_k_stdev(
    tolerance: int | None, burst: int, fires: bool
) -> None:
    options = {} if tolerance is None else {"detectionTolerance": tolerance}
    rule_json = anomaly_rule(condition="a > 0.95", **options)
    assert bool(found(rule_json, counts([*WAVY, burst]))) is fires


@pytest.mark.parametrize(("count", "fires"), [(5, False), (6, True)], ids=["at", "above"])
def test_learning_period_baseline_scores_the_learning_period(count: int, fires: bool) -> None:
    rule_json = anomaly_rule(learningPeriodBaseline=5)
    assert bool(found(rule_json, counts([1, count]))) is fires


@pytest.mark.parametrize(("flag", "fires"), [(True, True), (False, False)])
def test_instantaneous_baseline_reads_the_learning_window_before_from(
    flag: bool, fires: bool
) -> None:
    logs = counts([*[2] * 12, 30], start=-12 * BUCKET)
    results = found(anomaly_rule(instantaneousBaseline=flag), logs)
    assert [times(r)[0] for r in results] == ([0] if fires else [])


@pytest.mark.parametrize(
    ("bucket", "fires"), [(300, True), (3600, False)], ids=["5_minutes", "one_hour"]
)
def test_bucket_duration_sets_what_is_counted(bucket: int, fires: bool) -> None:
    # a 5-minute burst of 6 against 2 per 5 minutes is anomalous; in hourly buckets (24 per
    # hour, history 1 hour: no full hour before it) it is not
    rule_json = anomaly_rule(bucketDuration=bucket)
    assert bool(found(rule_json, counts([*STEADY, 6]))) is fires
