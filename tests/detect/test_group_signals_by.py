"""`groupSignalsBy` (SPEC §3.7, §3.8): cases per full group, the lifecycle per signal key.

A new result attaches the events in the current window of its signal key (every sub-group that
projects to it, all queries); an update attaches the current event. Table tests pin the cases; a
deliberately naive reference evaluator, written straight from SPEC §3.6-§3.8 with plain loops over
events, is compared with the engine on random event streams (with and without `groupSignalsBy`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.run import run
from tests.detect.builders import T, at, query, rule

BY_USER_AND_ENV = ["@usr.id", "env"]


def log(seconds: float, user: str | None, env: str | None = "dev", **fields: Any) -> dict[str, Any]:
    """A log of `user` in `env` at `T + seconds` (`status`, `id` and attributes in `fields`)."""
    attributes = {key: value for key, value in fields.items() if key not in ("id", "status")}
    if user is not None:
        attributes["usr"] = {"id": user}
    made: dict[str, Any] = {
        "timestamp": at(seconds),
        "source": "app",
        "status": fields.get("status", "info"),
        "tags": [] if env is None else [f"env:{env}"],
        "attributes": attributes,
    }
    if "id" in fields:
        made["id"] = fields["id"]
    return made


def issue_rule(**options: Any) -> dict[str, Any]:
    """The issue's rule: a=`*` (event_count), b=`status:error`, both by [@usr.id, env]."""
    return rule(
        query("*", BY_USER_AND_ENV, aggregation="event_count", name="a"),
        query("status:error", BY_USER_AND_ENV, name="b"),
        cases=options.pop("cases", [{"status": "high", "condition": "b > 0"}]),
        window=options.pop("window", 1800),
        keep_alive=options.pop("keep_alive", 3600),
        max_duration=options.pop("max_duration", 86400),
        groupSignalsBy=options.pop("group_signals_by", ["env"]),
        **options,
    )


# --- table tests -------------------------------------------------------------------------------


def test_a_new_result_attaches_the_window_of_its_signal_key() -> None:
    # the issue's example: bob's error fires for env dev; alice's log, in dev's window, is attached
    logs = [log(0, "alice", id="e1"), log(0.544, "bob", status="error", id="e2")]
    (result,) = run(issue_rule(), logs).results
    assert result.group_by == {"env": "dev"}
    assert (result.first_seen.timestamp() * 1000, result.events_matched) == (T, 2)
    assert result.events_per_query == {"a": 2, "b": 1}
    assert sorted(result.log_ids) == ["e1", "e2"]


def test_two_sub_groups_only_of_the_same_signal_key() -> None:
    logs = [
        log(0, "alice", id="e1"),
        log(10, "carol", env="prod", id="e2"),  # another signal key: never attached
        log(20, "bob", status="error", id="e3"),
        log(30, "dave", id="e4"),  # dev, but after the opening instant, and never matching
        log(40, "bob", status="error", id="e5"),  # updates dev's result
    ]
    (result,) = run(issue_rule(), logs).results
    assert (result.group_by, result.events_matched) == ({"env": "dev"}, 3)
    assert sorted(result.log_ids) == ["e1", "e3", "e5"]
    assert (result.first_seen.timestamp() * 1000, result.last_seen.timestamp() * 1000) == (
        T,
        at(40),
    )


def test_sub_groups_matching_at_one_time_join_one_result_in_event_order() -> None:
    # both sub-groups of dev match at 5 s; bob's event comes first (id e1), so bob's case opens the
    # result and alice's equally severe case does not replace it; both events are attached
    cases = [
        {"name": "alice", "status": "high", "condition": "b > 0 && a > 1"},
        {"name": "bob", "status": "high", "condition": "b > 0"},
    ]
    logs = [
        log(0, "alice", id="e0"),
        log(5, "bob", status="error", id="e1"),
        log(5, "alice", status="error", id="e2"),
    ]
    (result,) = run(issue_rule(cases=cases), logs).results
    assert (result.case_name, result.events_matched) == ("bob", 3)
    assert result.first_seen.timestamp() * 1000 == T
    assert result.events_per_query == {"a": 3, "b": 2}


def test_an_update_attaches_the_current_event_for_each_sub_group_it_belongs_to() -> None:
    # the event at 60 s belongs to alice's and bob's sub-groups (an array fans out): it is one
    # event, attached once, counted in each query it matched
    logs = [
        log(0, "bob", status="error", id="e1"),
        {**log(60, None, status="error", id="e2"), "attributes": {"usr": {"id": ["alice", "bob"]}}},
        log(70, "erin", id="e3"),  # dev but not matching at 70: not attached
    ]
    (result,) = run(issue_rule(window=0, keep_alive=600, max_duration=600), logs).results
    assert sorted(result.log_ids) == ["e1", "e2"]
    assert result.events_per_query == {"a": 2, "b": 2}


def test_an_ungrouped_query_counts_in_every_sub_group() -> None:
    # b has no group-by: its events join every group of a, hence every sub-group of env dev
    ungrouped = rule(
        query("@evt.name:login", BY_USER_AND_ENV, name="a"),
        query("status:error", [], name="b"),
        cases=[{"status": "high", "condition": "a > 0 && b > 0"}],
        window=300,
        keep_alive=600,
        max_duration=3600,
        groupSignalsBy=["env"],
    )
    logs = [
        log(0, "alice", evt={"name": "login"}, id="e1"),
        log(10, None, env=None, status="error", id="e2"),
        log(20, "bob", evt={"name": "login"}, id="e3"),
        log(30, "carol", env="prod", evt={"name": "other"}, id="e4"),
    ]
    (result,) = run(ungrouped, logs).results
    assert result.group_by == {"env": "dev"}
    assert (result.first_seen.timestamp() * 1000, result.last_seen.timestamp() * 1000) == (
        T,
        at(20),
    )
    assert sorted(result.log_ids) == ["e1", "e2", "e3"]
    assert result.events_per_query == {"a": 2, "b": 1}


# --- a naive reference, straight from SPEC §3.6-§3.8 ---------------------------------------------

SEVERITY = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True)
class RefQuery:
    """A rule query with its meaning as a Python predicate."""

    name: str
    text: str
    test: Callable[[dict[str, Any]], bool]
    aggregation: str
    grouped: bool

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.aggregation == "cardinality":
            extra["distinctFields"] = ["@ip"]
        if self.aggregation in ("sum", "max"):
            extra["metrics"] = ["@n"]
        by = BY_USER_AND_ENV if self.grouped else []
        return query(self.text, by, aggregation=self.aggregation, name=self.name, **extra)


QUERY_TEXTS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("*", lambda e: True),
    ("status:error", lambda e: e["status"] == "error"),
    ("@evt.outcome:failure", lambda e: e["attributes"].get("evt", {}).get("outcome") == "failure"),
]
CONDITIONS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("a > 0", lambda v: _gt(v["a"], 0)),
    ("a > 1", lambda v: _gt(v["a"], 1)),
    ("b > 0", lambda v: _gt(v["b"], 0)),
    ("a > 0 && b > 0", lambda v: _gt(v["a"], 0) and _gt(v["b"], 0)),
    ("a > 2 || b >= 2", lambda v: _gt(v["a"], 2) or (v["b"] is not None and v["b"] >= 2)),
]


def _gt(value: float | None, bound: float) -> bool:
    return value is not None and value > bound


@dataclass
class RefSignal:
    key: tuple[str, ...]
    opened_at: int
    first_seen: int
    last_seen: int
    case: int
    severity: int
    rows: set[tuple[str, str]] = field(default_factory=set)  # (event id, query name)


def _group_of(event: dict[str, Any]) -> tuple[str, str] | None:
    user = event["attributes"].get("usr", {}).get("id")
    env = next((tag[4:] for tag in event["tags"] if tag.startswith("env:")), None)
    return None if user is None or env is None else (user, env)


def _aggregate(q: RefQuery, events: list[dict[str, Any]]) -> float | None:
    if q.aggregation in ("count", "event_count"):
        return float(len(events))
    if q.aggregation == "cardinality":
        return float(len({e["attributes"]["ip"] for e in events if "ip" in e["attributes"]}))
    numbers = [e["attributes"]["n"] for e in events if "n" in e["attributes"]]
    if q.aggregation == "sum":
        return float(sum(numbers))
    return float(max(numbers)) if numbers else None


def reference(
    queries: list[RefQuery],
    cases: list[tuple[str, Callable[[dict[str, Any]], bool]]],
    statuses: list[str],
    events: list[dict[str, Any]],
    window: int,
    keep_alive: int,
    max_duration: int,
    group_signals_by: list[str] | None,
) -> list[dict[str, Any]]:
    """The results SPEC §3.6-§3.8 describe, event by event."""
    ordered = sorted(events, key=lambda e: (e["timestamp"], e["id"]))
    grouped = any(q.grouped for q in queries)
    all_groups = {
        g
        for e in ordered
        for q in queries
        if q.grouped and q.test(e)
        for g in [_group_of(e)]
        if g is not None
    }

    def groups(e: dict[str, Any], q: RefQuery) -> set[tuple[str, ...]]:
        """The groups event e belongs to through query q (SPEC §3.6 step 2 and 3)."""
        if not q.test(e):
            return set()
        if not grouped:
            return {()}
        if not q.grouped:
            return set(all_groups)
        g = _group_of(e)
        return set() if g is None else {g}

    def in_window(e: dict[str, Any], t: int) -> bool:
        return e["timestamp"] == t if window == 0 else t - window * 1000 < e["timestamp"] <= t

    positions = [BY_USER_AND_ENV.index(f) for f in group_signals_by or []] or list(
        range(2 if grouped else 0)
    )

    def project(g: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(g[p] for p in positions)

    def rows_of_key(k: tuple[str, ...], chosen: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """(id, query) of the chosen events, for each query they match in a sub-group of k."""
        return {
            (e["id"], q.name)
            for e in chosen
            for q in queries
            if any(project(g) == k for g in groups(e, q))
        }

    open_signals: dict[tuple[str, ...], RefSignal] = {}
    signals: list[RefSignal] = []
    for e in ordered:
        t = e["timestamp"]
        for g in sorted(set().union(*(groups(e, q) for q in queries))):
            values = {
                q.name: _aggregate(q, [x for x in ordered if in_window(x, t) and g in groups(x, q)])
                for q in queries
            }
            matched = next((i for i, (_, holds) in enumerate(cases) if holds(values)), None)
            if matched is None:
                continue
            k = project(g)
            s = open_signals.get(k)
            if s is not None and (
                t - s.last_seen > keep_alive * 1000 or t - s.first_seen > max_duration * 1000
            ):
                s = None
            if s is None:
                current = [x for x in ordered if in_window(x, t)]  # the window of k: all queries
                rows = rows_of_key(k, current)
                first = min(x["timestamp"] for x in current if x["id"] in {i for i, _ in rows})
                s = RefSignal(k, t, first, t, matched, SEVERITY[statuses[matched]], rows)
                open_signals[k] = s
                signals.append(s)
            else:
                s.last_seen = t
                s.rows |= rows_of_key(k, [e])  # attach e, for every sub-group of k it belongs to
                if SEVERITY[statuses[matched]] > s.severity:
                    s.severity, s.case = SEVERITY[statuses[matched]], matched
    return [
        {
            "key": s.key,
            "opened_at": s.opened_at,
            "first_seen": s.first_seen,
            "last_seen": s.last_seen,
            "case": s.case,
            "events_matched": len({i for i, _ in s.rows}),
            "per_query": {q.name: len({i for i, n in s.rows if n == q.name}) for q in queries},
            "ids": sorted({i for i, _ in s.rows}),
        }
        for s in sorted(signals, key=lambda s: (s.opened_at, s.key))
    ]


def _engine(outcome: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": tuple(r.group_by.values()),
            "opened_at": round(r.timestamp.timestamp() * 1000),
            "first_seen": round(r.first_seen.timestamp() * 1000),
            "last_seen": round(r.last_seen.timestamp() * 1000),
            "case": r.case_index,
            "events_matched": r.events_matched,
            "per_query": r.events_per_query,
            "ids": sorted(r.log_ids),
        }
        for r in sorted(outcome.results, key=lambda r: (r.timestamp, tuple(r.group_by.values())))
    ]


EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "at": st.tuples(st.integers(0, 24), st.sampled_from([0, 0, 1, 544])),
            "user": st.sampled_from(["alice", "bob", "carol", None]),
            "env": st.sampled_from(["dev", "dev", "prod", None]),
            "status": st.sampled_from(["info", "error"]),
            "outcome": st.sampled_from(["success", "failure"]),
            "ip": st.sampled_from(["1", "2", None]),
            "n": st.sampled_from([1, 5, None]),
        }
    ),
    min_size=1,
    max_size=12,
)
TIMING = st.tuples(
    st.sampled_from([0, 60, 300]),
    st.sampled_from([0, 60, 300, 600]),
    st.sampled_from([0, 300, 900]),
).filter(lambda w: w[0] <= w[1] and w[0] <= w[2])
QUERIES = st.lists(
    st.tuples(
        st.sampled_from(QUERY_TEXTS),
        st.sampled_from(["count", "event_count", "cardinality", "sum", "max"]),
        st.sampled_from([True, True, True, False]),
    ),
    min_size=2,
    max_size=2,
)

CASES = st.lists(
    st.tuples(st.sampled_from(CONDITIONS), st.sampled_from(list(SEVERITY))),
    min_size=1,
    max_size=2,
)


def _log(number: int, drawn: dict[str, Any]) -> dict[str, Any]:
    seconds, ms = drawn["at"]
    attributes: dict[str, Any] = {"evt": {"outcome": drawn["outcome"]}}
    for name in ("ip", "n"):
        if drawn[name] is not None:
            attributes[name] = drawn[name]
    if drawn["user"] is not None:
        attributes["usr"] = {"id": drawn["user"]}
    return {
        "id": f"e{number:02d}",
        "timestamp": T + seconds * 50_000 + ms,
        "source": "app",
        "status": drawn["status"],
        "tags": [] if drawn["env"] is None else [f"env:{drawn['env']}"],
        "attributes": attributes,
    }


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    EVENTS,
    QUERIES,
    CASES,
    TIMING,
    st.sampled_from([None, ["env"], ["@usr.id"]]),
)
def test_the_engine_agrees_with_the_naive_reference(
    drawn_events: list[dict[str, Any]],
    drawn_queries: list[tuple[Any, str, bool]],
    drawn_cases: list[tuple[tuple[str, Callable[[dict[str, Any]], bool]], str]],
    timing: tuple[int, int, int],
    group_signals_by: list[str] | None,
) -> None:
    queries = [
        RefQuery(name, text, test, aggregation, grouped)
        for name, ((text, test), aggregation, grouped) in zip("ab", drawn_queries, strict=True)
    ]
    if group_signals_by and not any(q.grouped for q in queries):
        group_signals_by = None  # groupSignalsBy needs a group-by
    window, keep_alive, max_duration = timing
    events = [_log(number, drawn) for number, drawn in enumerate(drawn_events)]
    spec = rule(
        *(q.to_json() for q in queries),
        cases=[{"status": status, "condition": text} for (text, _), status in drawn_cases],
        window=window,
        keep_alive=keep_alive,
        max_duration=max_duration,
        **({"groupSignalsBy": group_signals_by} if group_signals_by else {}),
    )
    expected = reference(
        queries,
        [condition for condition, _ in drawn_cases],
        [status for _, status in drawn_cases],
        events,
        window,
        keep_alive,
        max_duration,
        group_signals_by,
    )
    assert _engine(run(spec, events)) == expected


@pytest.mark.parametrize("group_signals_by", [["env"], None])
def test_the_reference_reads_the_issue_example(group_signals_by: list[str] | None) -> None:
    # the reference itself, on the issue's example: one result for dev from T with both events
    # (by full group, alice never matches b > 0: only bob's result, from bob's own window)
    events = [log(0, "alice", id="e1"), log(0.544, "bob", status="error", id="e2")]
    queries = [
        RefQuery("a", "*", QUERY_TEXTS[0][1], "event_count", True),
        RefQuery("b", "status:error", QUERY_TEXTS[1][1], "count", True),
    ]
    found = reference(
        queries, [CONDITIONS[2]], ["high"], events, 1800, 3600, 86400, group_signals_by
    )
    expected_ids = ["e1", "e2"] if group_signals_by else ["e2"]
    assert [(r["first_seen"], r["ids"]) for r in found] == [
        (T if group_signals_by else at(0.544), expected_ids)
    ]
