"""Threshold semantics beyond the SPEC §8 cases: aggregations, joins, fan-out, windows, THEN."""

from __future__ import annotations

from typing import Any

import pytest

from engine.run import run
from tests.detect.builders import at, event, query, rule, times


def single(value_rule: dict[str, Any], logs: list[dict[str, Any]]) -> Any:
    found = run(value_rule, logs).results
    assert len(found) == 1, [result.to_dict() for result in found]
    return found[0]


# --- aggregations ----------------------------------------------------------------------------


def aggregation_rule(aggregation: str, condition: str, **fields: Any) -> dict[str, Any]:
    return rule(
        query("source:auth", aggregation=aggregation, **fields),
        cases=[{"status": "high", "condition": condition}],
        window=300,
    )


@pytest.mark.parametrize(
    ("aggregation", "fields", "values", "condition", "fires_at"),
    [
        pytest.param("count", {}, [{}] * 3, "a >= 3", 2, id="count"),
        pytest.param("event_count", {}, [{}] * 3, "a == 3", 2, id="event_count"),
        pytest.param(
            "cardinality",
            {"distinctFields": ["@ip"]},
            [{"ip": "1"}, {"ip": "1"}, {}, {"ip": "2"}],
            "a > 1",
            3,
            id="cardinality-ignores-missing",
        ),
        pytest.param(
            "cardinality",
            {"distinctFields": ["@ip", "@ua"]},
            [{"ip": "1", "ua": "x"}, {"ip": "1", "ua": "y"}, {"ip": "1", "ua": "x"}],
            "a == 2",
            1,
            id="cardinality-of-field-tuples",
        ),
        pytest.param(
            "cardinality",
            {"distinctFields": ["@ips"]},
            [{"ips": ["1", "2"]}, {"ips": ["2", "3"]}],
            "a == 3",
            1,
            id="cardinality-counts-array-elements",
        ),
        pytest.param(
            "sum",
            {"metrics": ["@bytes"]},
            [{"bytes": 10}, {"bytes": "15"}, {"bytes": [5, 20]}, {"bytes": True}],
            "a == 50",
            2,
            id="sum-reads-numbers-numeric-strings-arrays-not-booleans",
        ),
        pytest.param(
            "max",
            {"metrics": ["@bytes"]},
            [{"bytes": 3}, {"bytes": "oops"}, {"bytes": [1, 99]}],
            "a >= 99",
            2,
            id="max",
        ),
        pytest.param(
            "sum",
            {"metric": "@bytes"},
            [{"bytes": 2}, {"bytes": 2}],
            "a == 4",
            1,
            id="deprecated-metric-field",
        ),
    ],
)
def test_aggregations(
    aggregation: str,
    fields: dict[str, Any],
    values: list[dict[str, Any]],
    condition: str,
    fires_at: int,
) -> None:
    logs = [event(10 * i, **attrs) for i, attrs in enumerate(values)]
    result = single(aggregation_rule(aggregation, condition, **fields), logs)
    assert result.timestamp.timestamp() * 1000 == at(10 * fires_at)


def test_max_of_an_empty_window_satisfies_no_condition() -> None:
    # b (max) has no event in the window when a's events arrive: even `b < 1` must be false
    two = rule(
        query("source:auth", name="a"),
        query("source:other", aggregation="max", metrics=["@bytes"], name="b"),
        cases=[{"status": "high", "condition": "a > 0 && b < 1"}],
    )
    assert run(two, [event(0), event(10)]).results == []


def test_sum_of_an_empty_window_is_zero() -> None:
    two = rule(
        query("source:auth", name="a"),
        query("source:other", aggregation="sum", metrics=["@bytes"], name="b"),
        cases=[{"status": "high", "condition": "a > 0 && b < 1"}],
    )
    assert len(run(two, [event(0)]).results) == 1


# --- group keys: joins, fan-out, optional, tags and reserved fields -----------------------------


def test_queries_join_on_values_even_with_different_field_names() -> None:
    joined = rule(
        query("@evt.outcome:failure", ["@usr.id"]),
        query("@evt.outcome:success", ["@actor.name"]),
        cases=[{"status": "high", "condition": "a > 1 && b > 0"}],
    )
    logs = [
        event(0),
        event(10),
        event(20, None, actor={"name": "alice"}, evt={"outcome": "success"}),
    ]
    result = single(joined, logs)
    assert result.group_by == {"@usr.id": "alice"}
    assert result.events_per_query == {"a": 2, "b": 1}


def test_a_value_missing_from_one_query_never_meets_a_condition_needing_it() -> None:
    joined = rule(
        query("@evt.outcome:failure", ["@usr.id"]),
        query("@evt.outcome:success", ["@usr.id"]),
        cases=[{"status": "high", "condition": "a > 1 && b > 0"}],
    )
    logs = [event(0), event(10), event(20, "bob", evt={"outcome": "success"})]
    assert run(joined, logs).results == []


def test_query_without_group_by_applies_to_every_group() -> None:
    mixed = rule(
        query("@evt.outcome:failure", ["@usr.id"]),
        query("source:alerts", [], name="b"),
        cases=[{"status": "high", "condition": "a > 0 && b > 0"}],
    )
    logs = [event(0), event(5, "bob"), event(10, None, source="alerts")]
    found = run(mixed, logs).results
    assert sorted(result.group_by["@usr.id"] for result in found) == ["alice", "bob"]


def test_array_group_by_fans_out_to_one_group_per_element() -> None:
    fan = rule(query(group_by=["@usr.roles"]), cases=[{"status": "high", "condition": "a > 1"}])
    logs = [event(0, roles=["dev", "admin"]), event(10, roles=["admin"])]
    usr_roles = [{"usr": {"roles": ["dev", "admin"]}}, {"usr": {"roles": ["admin"]}}]
    logs = [event(10 * i, None, **attrs) for i, attrs in enumerate(usr_roles)]
    result = single(fan, logs)
    assert result.group_by == {"@usr.roles": "admin"}


def test_two_array_group_bys_form_a_cartesian_product() -> None:
    fan = rule(
        query(group_by=["@a", "@b"]),
        cases=[{"status": "high", "condition": "a > 0"}],
        window=0,
        keep_alive=0,
        max_duration=0,
    )
    found = run(fan, [event(0, a=["x", "y"], b=["1", "2"])]).results
    assert sorted(tuple(r.group_by.values()) for r in found) == [
        ("x", "1"),
        ("x", "2"),
        ("y", "1"),
        ("y", "2"),
    ]


def test_empty_array_group_by_counts_as_missing() -> None:
    fan = rule(query(group_by=["@tags_list"]), cases=[{"status": "high", "condition": "a > 0"}])
    assert run(fan, [event(0, tags_list=[])]).results == []
    optional = rule(
        query(group_by=["@tags_list"], hasOptionalGroupByFields=True),
        cases=[{"status": "high", "condition": "a > 0"}],
    )
    assert single(optional, [event(0, tags_list=[])]).group_by == {"@tags_list": "N/A"}


@pytest.mark.parametrize(
    ("field", "log", "expected"),
    [
        pytest.param("host", {"host": "web-1"}, "web-1", id="reserved-field"),
        pytest.param(
            "env", {"tags": ["team:x", "env:prod", "env:dev"]}, "prod", id="tag-key-first"
        ),
        pytest.param("@http.status", {"attributes": {"http": {"status": 404}}}, "404", id="number"),
        pytest.param("@flag", {"attributes": {"flag": True}}, "true", id="boolean"),
    ],
)
def test_group_by_value_sources_compare_as_text(
    field: str, log: dict[str, Any], expected: str
) -> None:
    by_field = rule(query("*", [field]), cases=[{"status": "high", "condition": "a > 0"}])
    result = single(by_field, [{"timestamp": at(0), **log}])
    assert result.group_by == {field: expected}


def test_group_signals_by_projects_the_signal_key() -> None:
    # cases run per full group; (api, 2.2.2.2) matches only at 30, whose event joins the signal
    # that (api, 1.1.1.1) opened (SPEC §3.7 attaches an updating instant's events, not its window)
    grouped = rule(
        query("source:web", ["service", "@http.client_ip"]),
        cases=[{"status": "high", "condition": "a > 1"}],
        groupSignalsBy=["service"],
    )
    logs = [
        event(10 * i, None, source="web", service="api", http={"client_ip": ip})
        for i, ip in enumerate(["1.1.1.1", "1.1.1.1", "2.2.2.2", "2.2.2.2"])
    ]
    result = single(grouped, logs)
    assert result.group_by == {"service": "api"}
    assert result.group_by_paths == ["service", "@http.client_ip"]
    assert result.events_matched == 3


# --- windows ---------------------------------------------------------------------------------


def test_zero_window_holds_only_events_at_the_same_millisecond() -> None:
    burst = rule(
        cases=[{"status": "high", "condition": "a > 1"}], window=0, keep_alive=0, max_duration=0
    )
    assert run(burst, [event(0, n=1), event(0.001, n=2)]).results == []
    result = single(burst, [event(0, n=1), event(0, n=2)])
    assert result.events_matched == 2


@pytest.mark.parametrize(
    ("second", "fires"),
    [pytest.param(299.999, True, id="inside"), pytest.param(300, False, id="at-lower-bound")],
)
def test_window_boundary(second: float, fires: bool) -> None:
    pair = rule(cases=[{"status": "high", "condition": "a > 1"}], window=300)
    assert bool(run(pair, [event(0), event(second)]).results) is fires


def test_keep_alive_zero_opens_a_result_per_later_instant() -> None:
    each = rule(
        cases=[{"status": "high", "condition": "a > 0"}], window=0, keep_alive=0, max_duration=0
    )
    found = run(each, [event(0, n=1), event(0, n=2), event(1)]).results
    assert [times(result) for result in found] == [(0, 0), (1, 1)]
    assert [result.events_matched for result in found] == [2, 1]


def test_events_between_matches_are_not_attached_nor_extend_keep_alive() -> None:
    # a > 1 over 60 s: the isolated event at 500 does not match and must not keep the signal open
    sparse = rule(cases=[{"status": "high", "condition": "a > 1"}], window=60, keep_alive=600)
    found = run(sparse, [event(0), event(5), event(500), event(700), event(705)]).results
    assert [times(result) for result in found] == [(0, 5), (700, 705)]
    assert [result.events_matched for result in found] == [2, 2]


# --- THEN -------------------------------------------------------------------------------------


def then_rule(condition: str) -> dict[str, Any]:
    return rule(
        query("@evt.name:CreateUser", ["@usr.id"], name="create"),
        query("@evt.name:AttachPolicy", ["@usr.id"], name="attach"),
        cases=[{"status": "high", "condition": condition}],
        window=300,
    )


@pytest.mark.parametrize(
    ("first", "second", "fires"),
    [
        pytest.param(("CreateUser", 0), ("AttachPolicy", 60), True, id="in-order"),
        # SPEC §3.4: Y is judged on its window, so a Y event before X still counts while in it
        pytest.param(("AttachPolicy", 0), ("CreateUser", 60), True, id="reversed-within-window"),
        pytest.param(("AttachPolicy", 0), ("CreateUser", 301), False, id="reversed-y-left-window"),
        pytest.param(("CreateUser", 0), ("AttachPolicy", 0), True, id="same-time-counts-in-order"),
        pytest.param(("CreateUser", 0), ("AttachPolicy", 300), False, id="first-left-the-window"),
    ],
)
def test_then(first: tuple[str, float], second: tuple[str, float], fires: bool) -> None:
    logs = [event(when, evt={"name": name}) for name, when in (first, second)]
    assert bool(run(then_rule("create > 0 THEN attach > 0"), logs).results) is fires


def test_then_chains_left_to_right() -> None:
    chain = rule(
        query("@evt.name:x", name="x"),
        query("@evt.name:y", name="y"),
        query("@evt.name:z", name="z"),
        cases=[{"status": "high", "condition": "x > 0 then y > 0 THEN z > 0"}],
        window=60,
    )
    ordered = [
        event(0, evt={"name": "x"}),
        event(40, evt={"name": "y"}),
        event(50, evt={"name": "z"}),
    ]
    # y at 0 has left (x THEN y)'s window by the time x arrives at 70
    shuffled = [
        event(0, evt={"name": "y"}),
        event(70, evt={"name": "x"}),
        event(80, evt={"name": "z"}),
    ]
    assert len(run(chain, ordered).results) == 1
    assert run(chain, shuffled).results == []


# --- filters and extensions ---------------------------------------------------------------------


def test_additional_filters_and_custom_query_extension_are_anded() -> None:
    narrowed = rule(
        query(additionalFilters="@geo:FR", customQueryExtension="-@usr.id:svc_*"),
        cases=[{"status": "high", "condition": "a > 0"}],
    )
    logs = [event(0, geo="FR"), event(10, geo="US"), event(20, "svc_backup", geo="FR")]
    result = single(narrowed, logs)
    assert result.events_matched == 1
    assert result.group_by == {"@usr.id": "alice"}


def test_legacy_filters_require_and_suppress() -> None:
    legacy = rule(
        cases=[{"status": "high", "condition": "a > 0"}],
        filters=[
            {"action": "require", "query": "@geo:FR"},
            {"action": "suppress", "query": "@usr.id:bob"},
        ],
    )
    logs = [event(0, geo="FR"), event(10, geo="US"), event(20, "bob", geo="FR")]
    assert single(legacy, logs).events_matched == 1


# --- results: message, title, samples, tags ------------------------------------------------------


def test_result_message_title_tags_and_samples() -> None:
    rich = rule(
        cases=[{"status": "medium", "name": "burst", "condition": "a > 11"}],
        message="{{@usr.id}} failed {{events_matched}} times ({{severity}}) from {{first_seen}}",
        tags=["security:attack", "tactic:TA0006"],
    )
    logs = [event(i, service="okta") for i in range(15)]
    result = single(rich, logs)
    assert result.title == "R1 - burst"
    assert result.message == "alice failed 15 times (2) from Mon Jan 01 00:00:00 UTC 2024"
    assert result.tags == ["security:attack", "tactic:TA0006", "source:auth"]
    assert len(result.samples) == 10
    assert [s.log["timestamp"] for s in result.samples] == [at(i) for i in range(10)]
    assert len(result.log_ids) == result.events_matched == 15
    document = result.to_histsignal()
    assert document["attributes"]["message"] == f"%%%\n{result.message}\n%%%"
    assert document["attributes"]["service"] == ["okta"]


def test_histsignal_by_id_puts_the_attributes_under_custom() -> None:
    result = single(rule(), [event(s) for s in (0, 60, 120, 180)])
    document = result.to_histsignal(attributes_key="custom")
    assert set(document["attributes"]) == {
        "message",
        "timestamp",
        "tags",
        "status",
        "service",
        "host",
        "custom",
    }
    assert document["attributes"]["custom"]["workflow"]["events_matched"] == 4


# --- one scan for many rules ----------------------------------------------------------------------


def test_many_rules_in_one_call_equal_separate_runs() -> None:
    logs = [event(s) for s in range(0, 200, 20)] + [
        event(s, "bob", geo="FR") for s in range(5, 60, 5)
    ]
    first = rule(name="count")
    second = rule(
        query(additionalFilters="@geo:FR", name="fr"),
        cases=[{"status": "low", "condition": "fr > 5"}],
        name="french",
    )
    together = run([first, second], logs)
    apart = run(first, logs).results + run(second, logs).results
    assert sorted(r.id for r in together.results) == sorted(r.id for r in apart)
    assert [stat.rule for stat in together.stats] == ["count", "french"]
    assert together.stats[1].events_matched == {"fr": 11}


def test_unsupported_method_is_reported_for_that_rule_only() -> None:
    hardcoded = {
        "name": "log4shell",
        "type": "log_detection",
        "queries": [{"query": "*"}],
        "cases": [{"status": "info"}],
        "options": {"detectionMethod": "hardcoded", "hardcodedEvaluatorType": "log4shell"},
        "message": "",
    }
    outcome = run([hardcoded, rule()], [event(s) for s in (0, 60, 120, 180)])
    assert outcome.stats[0].error == "rule 'log4shell': unsupported detection method 'hardcoded'"
    assert outcome.stats[1].error is None
    assert len(outcome.results) == 1
