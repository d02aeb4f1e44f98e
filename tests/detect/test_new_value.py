"""`new_value` (SPEC §3.10): TC-23..TC-28, each option at its edges, and a naive reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.results.result import JobResult
from engine.run import run
from tests.detect.builders import T, at, event, query, rule, times

H = 3600
DAY = 86_400


def new_value_rule(
    learning: int = 1,
    forget: int | None = 7,
    keep_alive: int = 0,
    max_duration: int = DAY,
    metrics: list[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """SPEC §8 TC-23's rule: new countries of a user's successful logins."""
    found = rule(
        query(
            "source:auth @evt.outcome:success",
            aggregation="new_value",
            metrics=metrics or ["@geo.country"],
        ),
        cases=[{"status": "info", "name": "new country"}],
        window=0,
        keep_alive=keep_alive,
        max_duration=max_duration,
    )
    settings_ = {"learningMethod": "duration", "learningDuration": learning, **options}
    if forget is not None:
        settings_["forgetAfter"] = forget
    found["options"].update(detectionMethod="new_value", newValueOptions=settings_)
    return found


def login(seconds: float, country: Any, user: str = "alice", **attributes: Any) -> dict[str, Any]:
    """A successful login of `user` from `country` at `T + seconds`."""
    found = event(seconds, user, geo={"country": country}, **attributes)
    found["attributes"]["evt"]["outcome"] = "success"
    return found


def found(rule_json: dict[str, Any], logs: list[dict[str, Any]], **job: Any) -> list[JobResult]:
    """The results of a job over `[T, T + 30 days)` unless told otherwise."""
    job.setdefault("start", T)
    job.setdefault("end", at(30 * DAY))
    return run(rule_json, logs, **job).results


def new_values(result: JobResult) -> list[Any]:
    """The new values a result carries."""
    values: list[Any] = result.extra["new_value"]["values"]
    return values


def test_tc23_new_value_duration_learning() -> None:
    logs = [login(0, "US"), login(12 * H, "FR"), login(36 * H, "DE"), login(37 * H, "DE")]
    (result,) = found(new_value_rule(), [*logs, login(48 * H, "US")])
    assert times(result) == (36 * H, 36 * H)
    assert new_values(result) == ["DE"]
    assert result.extra["new_value"]["fields"] == ["@geo.country"]
    assert result.group_by == {"@usr.id": "alice"}


def test_tc24_learning_duration_zero_learns_the_first_value_silently() -> None:
    logs = [login(0, "US"), login(H, "US"), login(2 * H, "FR")]
    (result,) = found(new_value_rule(learning=0), logs)
    assert new_values(result) == ["FR"]
    assert times(result) == (2 * H, 2 * H)


def test_tc25_forget_after_counts_from_the_last_observation() -> None:
    (result,) = found(new_value_rule(learning=1, forget=1), [login(0, "US"), login(3 * DAY, "US")])
    assert times(result) == (3 * DAY, 3 * DAY)
    assert new_values(result) == ["US"]


def test_tc26_learning_is_per_job_so_a_late_scope_fires() -> None:
    (result,) = found(new_value_rule(), [login(0, "US"), login(2 * DAY, "US", user="bob")])
    assert result.group_by == {"@usr.id": "bob"}
    assert new_values(result) == ["US"]


@pytest.mark.parametrize(
    ("keep_alive", "expected"),
    [(3600, [(600, 1200, ["FR", "DE"])]), (0, [(600, 600, ["FR"]), (1200, 1200, ["DE"])])],
    ids=["keep_alive_merges", "keep_alive_0_splits"],
)
def test_tc27_successive_new_values_merge_by_keep_alive(
    keep_alive: int, expected: list[tuple[int, int, list[str]]]
) -> None:
    logs = [login(0, "US"), login(600, "FR"), login(1200, "DE")]
    results = found(new_value_rule(learning=0, keep_alive=keep_alive), logs)
    assert [(*times(r), new_values(r)) for r in results] == expected


@pytest.mark.parametrize(
    ("baseline", "expected"), [(True, [2 * H]), (False, [])], ids=["flag", "no_flag"]
)
def test_tc28_instantaneous_baseline_reads_before_from(baseline: bool, expected: list[int]) -> None:
    logs = [login(-3 * DAY, "DE"), login(H, "DE"), login(2 * H, "JP")]
    rule_json = new_value_rule(learning=7, instantaneousBaseline=baseline)
    results = found(rule_json, logs)
    assert [times(r)[0] for r in results] == expected
    assert all(new_values(r) == ["JP"] for r in results)


def test_instantaneous_baseline_without_earlier_data_behaves_as_without_the_flag() -> None:
    logs = [login(H, "DE"), login(2 * H, "JP"), login(8 * DAY, "FR")]
    rule_json = new_value_rule(learning=7, instantaneousBaseline=True)
    assert [new_values(r) for r in found(rule_json, logs)] == [["FR"]]


@pytest.mark.parametrize(
    ("seconds", "fires"),
    [(DAY - 1, False), (DAY, True)],
    ids=["last_learning_second", "first_detecting_second"],
)
def test_the_learning_period_ends_exactly_learning_duration_after_the_start(
    seconds: int, fires: bool
) -> None:
    results = found(new_value_rule(learning=1), [login(0, "US"), login(seconds, "FR")])
    assert bool(results) is fires


def test_the_learning_period_starts_at_the_first_event_when_it_is_after_from() -> None:
    logs = [login(5 * DAY, "US"), login(5 * DAY + 12 * H, "FR"), login(6 * DAY + H, "DE")]
    assert [new_values(r) for r in found(new_value_rule(learning=1), logs)] == [["DE"]]


@pytest.mark.parametrize(
    ("gap", "fires"),
    [(DAY, False), (DAY + 1, True)],
    ids=["unseen_exactly_forget_after", "one_second_more"],
)
def test_forget_after_edge(gap: int, fires: bool) -> None:
    logs = [login(0, "US"), login(20 * H, "US"), login(20 * H + gap, "US")]
    results = found(new_value_rule(learning=1, forget=1), logs)
    assert [times(r)[0] for r in results] == ([20 * H + gap] if fires else [])


def test_every_observation_refreshes_the_value() -> None:
    logs = [login(0, "US"), *[login(n * 20 * H, "US") for n in range(1, 8)]]
    assert found(new_value_rule(learning=1, forget=1), logs) == []


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(0, [["US"], ["FR"]]), (1, [["FR"]])],
    ids=["threshold_0_fires_the_first_value", "threshold_1_learns_it"],
)
def test_learning_method_threshold(threshold: int, expected: list[list[str]]) -> None:
    rule_json = new_value_rule(learningMethod="threshold", learningThreshold=threshold)
    results = found(rule_json, [login(0, "US"), login(H, "US"), login(2 * H, "FR")])
    assert [new_values(r) for r in results] == expected


def test_a_value_is_the_combination_of_the_metric_fields() -> None:
    rule_json = new_value_rule(learning=0, metrics=["@geo.country", "@device"])
    logs = [
        login(0, "US", device="laptop"),
        login(H, "US", device="phone"),
        login(2 * H, "US", device="phone"),
        login(3 * H, "FR", device="phone"),
        login(4 * H, "FR"),  # no device: no value
    ]
    results = found(rule_json, logs)
    assert [new_values(r) for r in results] == [[["US", "phone"]], [["FR", "phone"]]]
    assert results[0].extra["new_value"]["fields"] == ["@geo.country", "@device"]


def test_an_array_fans_out_and_the_first_event_learns_all_its_values() -> None:
    logs = [login(0, ["US", "FR"]), login(H, ["FR", "DE"]), login(2 * H, "US")]
    results = found(new_value_rule(learning=0), logs)
    assert [new_values(r) for r in results] == [["DE"]]


def test_an_optional_group_by_learns_the_missing_scope_as_na() -> None:
    rule_json = new_value_rule(learning=0)
    rule_json["queries"][0]["hasOptionalGroupByFields"] = True
    logs = [login(0, "US", user=None), login(H, "FR", user=None)]  # type: ignore[arg-type]
    (result,) = found(rule_json, logs)
    assert result.group_by == {"@usr.id": "N/A"}


# --- property: the engine against a deliberately naive replay ---------------------------------


def naive_new_values(
    logins: list[tuple[int, str, str]], learning_days: int, forget_days: int | None
) -> list[tuple[str, int, str]]:
    """(user, time, value) of each firing, by replaying `(time, user, country)` logins one by one
    (times distinct, job from T) as SPEC §3.10 words it."""
    ordered = sorted(logins)
    learning_end = ordered[0][0] + learning_days * DAY if ordered else 0
    learned: dict[str, dict[str, int]] = {}
    fired = []
    for time, user, country in ordered:
        first_of_scope = user not in learned
        seen = learned.setdefault(user, {})
        last = seen.get(country)
        new = last is None or (forget_days is not None and time - last > forget_days * DAY)
        seen[country] = time
        if not new or time < learning_end:
            continue
        if learning_days == 0 and first_of_scope:
            continue
        fired.append((user, time, country))
    return fired


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stream=st.lists(
        st.tuples(st.integers(0, 6 * 4), st.sampled_from(["alice", "bob"]), st.sampled_from("ABC")),
        max_size=25,
        unique_by=lambda item: item[0],
    ),
    learning=st.integers(0, 2),
    forget=st.one_of(st.none(), st.integers(1, 2)),
)
def test_new_value_matches_a_naive_replay(
    stream: list[tuple[int, str, str]], learning: int, forget: int | None
) -> None:
    # a 6-hour grid: gaps of exactly a day (the forget and learning edges) are frequent
    logins = [(quarter * 6 * H, user, country) for quarter, user, country in stream]
    logs = [login(time, country, user=user) for time, user, country in logins]
    results = found(new_value_rule(learning=learning, forget=forget), logs) if logs else []
    engine = sorted(
        (r.group_by["@usr.id"], times(r)[0], value) for r in results for value in new_values(r)
    )
    assert engine == sorted(naive_new_values(logins, learning, forget))
