"""Result building (`engine.detect.assemble`): the column-wise builder gives the same results, to
the byte, as the per-result builder it replaced.

The reference below is that per-result builder (session 18): one `_SignalFacts` per signal read
row by row from polars, then one `JobResult` per signal with its own samples, context and message.
On random threshold rules (counts, cardinalities, sums and maxima, group-bys, `groupSignalsBy`,
several cases, messages reading attributes, counts, tags and times) and random event streams, the
run's results must equal the reference's built from the same detection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.severity import severity_name
from engine.core.times import from_epoch_ms
from engine.detect import assemble
from engine.detect import pipeline as pipeline_module
from engine.detect.assemble import attached_events, result_id
from engine.detect.base import Detection
from engine.detect.lifecycle import SIGNAL, Lifecycle, SignalSpan
from engine.detect.prepare import RulePlan
from engine.results.result import MAX_SAMPLES, JobResult, QueryDetail, Sample
from engine.rules.template import MessageContext, render_message
from engine.run import run
from engine.scan.plan import TIME
from tests.detect.builders import T, query, rule

# --- the reference: the per-result builder -----------------------------------------------------


@dataclass
class _SignalFacts:
    ids: list[str] = field(default_factory=list)
    per_query: dict[int, int] = field(default_factory=dict)
    samples: list[tuple[str, int]] = field(default_factory=list)
    distinct: dict[int, list[str]] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)


def _facts(
    rule: RulePlan, attached: pl.DataFrame, instants: pl.DataFrame, lifecycle: Lifecycle
) -> list[_SignalFacts]:
    facts = [_SignalFacts() for _ in lifecycle.signals]
    first = attached.unique(subset=["_s", "id"], keep="first", maintain_order=True)
    listed = first.group_by("_s", maintain_order=True).agg(
        pl.col("id"), pl.col("id").head(MAX_SAMPLES).alias("_ids"), pl.col("_q").head(MAX_SAMPLES)
    )
    for number, ids, sample_ids, queries in listed.iter_rows():
        facts[number].ids = ids
        facts[number].samples = list(zip(sample_ids, queries, strict=True))
    counts = attached.group_by("_s", "_q").agg(
        pl.col("id").n_unique(), pl.col("_d").explode().drop_nulls().unique().sort()
    )
    for number, query_index, count, values in counts.iter_rows():
        facts[number].per_query[query_index] = count
        facts[number].distinct[query_index] = values
    keys = rule.key_columns
    last = (
        lifecycle.instants.group_by(SIGNAL, maintain_order=True).last().select(SIGNAL, *keys, TIME)
    )
    found = last.join(instants, on=[*keys, TIME], how="left").unique(SIGNAL, keep="first")
    for row in found.iter_rows(named=True):
        facts[row[SIGNAL]].last = row
    return facts


def _result(
    rule: RulePlan,
    detection: Detection,
    signal: SignalSpan,
    fact: _SignalFacts,
    samples: list[Sample],
    job_id: str | None,
    extra: dict[str, Any],
) -> JobResult:
    spec = rule.rule
    case = spec.cases[signal.case]
    per_query = {q.name: fact.per_query.get(q.index, 0) for q in rule.queries}
    details = [
        QueryDetail(
            name=q.name,
            query=spec.queries[q.index].query or "",
            aggregation=q.aggregation,
            group_by_paths=list(q.group_by),
            distinct_fields=list(spec.queries[q.index].distinctFields),
            metric=next(iter(spec.queries[q.index].metric_fields()), None),
            events_count=per_query[q.name],
            distinct_values=fact.distinct.get(q.index, []) if q.distinct else [],
            value=fact.last.get(detection.values.get(q.index, "")),
        )
        for q in rule.queries
    ]
    paths, group_by = rule.signal_group(signal.key)
    sources = list(dict.fromkeys(s.log["source"] for s in samples if s.log.get("source")))
    tags = list(dict.fromkeys([*spec.tags, *(f"source:{name}" for name in sources)]))
    severity = severity_name(signal.severity)
    first_log = samples[0].log if samples else {}
    context = MessageContext(
        rule_name=spec.name,
        case_name=case.name,
        severity=severity,
        timestamp_ms=signal.opened_at,
        first_seen_ms=signal.first_seen,
        last_seen_ms=signal.last_seen,
        events_matched=len(fact.ids),
        events_matched_per_query=per_query,
        attributes={**first_log.get("attributes", {}), **extra},
        log={
            **{k: v for k, v in first_log.items() if k != "attributes"},
            **first_log.get("attributes", {}),
        },
        tags=tags,
        group_by=group_by,
    )
    title = spec.name + (f" - {case.name}" if case.name else "")
    if rule.title is not None:
        title = render_message(rule.title, context)
    return JobResult(
        id=result_id(rule, signal, job_id),
        rule_name=spec.name,
        rule_id=spec.id,
        rule_type=spec.type,
        detection_method=spec.detection_method,
        case_index=signal.case,
        case_name=case.name,
        case_condition=case.condition,
        severity=severity,
        group_by_paths=paths,
        group_by=group_by,
        timestamp=from_epoch_ms(signal.opened_at),
        first_seen=from_epoch_ms(signal.first_seen),
        last_seen=from_epoch_ms(signal.last_seen),
        events_matched=len(fact.ids),
        events_per_query=per_query,
        queries=details,
        log_ids=fact.ids,
        samples=samples,
        tags=tags,
        title=title,
        message=render_message(spec.message, context),
        job_id=job_id,
        extra=extra,
    )


def reference_results(
    rule: RulePlan,
    matches: pl.DataFrame,
    detection: Detection,
    lifecycle: Lifecycle,
    logs: Mapping[str, dict[str, Any]],
    job_id: str | None,
) -> list[JobResult]:
    """The results as the per-result builder made them."""
    if not lifecycle.signals:
        return []
    attached = attached_events(rule, matches, lifecycle)
    facts = _facts(rule, attached, detection.instants, lifecycle)
    return [
        _result(
            rule,
            detection,
            signal,
            fact,
            [Sample(i, q, logs[i]) for i, q in fact.samples if i in logs],
            job_id,
            {},
        )
        for signal, fact in zip(lifecycle.signals, facts, strict=True)
    ]


# --- random rules and streams ------------------------------------------------------------------

TEXTS = ["*", "status:error", "@evt.outcome:failure"]
AGGREGATIONS = ["count", "event_count", "cardinality", "sum", "max"]
GROUPS = [["@usr.id"], ["@usr.id", "env"], ["env"]]
CONDITIONS = ["a > 0", "a > 1", "b > 0", "a > 0 && b > 0", "a > 2 || b >= 2"]
MESSAGES = [
    "Failed logins",
    "{{@usr.id}}: {{events_matched}} events ({{events_matched_per_query.a}} a) {{@ip}} {{env}}",
    '{{#is_exact_match "@evt.outcome" "failure"}}bad{{else}}ok{{/is_exact_match}} '
    "{{severity}} {{first_seen}} {{last_seen_epoch}} {{source}} {{host}} {{@n}} {{rule_name}}",
]
EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "at": st.tuples(st.integers(0, 30), st.sampled_from([0, 0, 1, 544])),
            "user": st.sampled_from(["alice", "bob", "carol", None]),
            "env": st.sampled_from(["dev", "dev", "prod", None]),
            "status": st.sampled_from(["info", "error"]),
            "outcome": st.sampled_from(["success", "failure"]),
            "ip": st.sampled_from(["1", "2", "3", None]),
            "n": st.sampled_from([1, 5, 2.5, None]),
            "source": st.sampled_from(["app", "auth", None]),
            "host": st.sampled_from(["h1", None]),
        }
    ),
    min_size=1,
    max_size=40,
)
QUERIES = st.lists(
    st.tuples(st.sampled_from(TEXTS), st.sampled_from(AGGREGATIONS), st.sampled_from([1, 1, 0])),
    min_size=1,
    max_size=2,
)
CASES = st.lists(
    st.tuples(st.sampled_from(CONDITIONS), st.sampled_from(["info", "low", "high", "critical"])),
    min_size=1,
    max_size=3,
)
TIMING = st.tuples(
    st.sampled_from([60, 300, 900]), st.sampled_from([0, 60, 600]), st.sampled_from([0, 300, 3600])
).filter(lambda w: w[0] <= w[1] or w[1] == 0)


def _event(number: int, drawn: dict[str, Any]) -> dict[str, Any]:
    seconds, ms = drawn["at"]
    attributes: dict[str, Any] = {"evt": {"outcome": drawn["outcome"]}}
    for name in ("ip", "n"):
        if drawn[name] is not None:
            attributes[name] = drawn[name]
    if drawn["user"] is not None:
        attributes["usr"] = {"id": drawn["user"]}
    made: dict[str, Any] = {
        "id": f"e{number:02d}",
        "timestamp": T + seconds * 50_000 + ms,
        "status": drawn["status"],
        "tags": [] if drawn["env"] is None else [f"env:{drawn['env']}", "team:x"],
        "attributes": attributes,
        "message": f"event {number}",
    }
    for name in ("source", "host"):
        if drawn[name] is not None:
            made[name] = drawn[name]
    return made


def _query(name: str, text: str, aggregation: str, group_by: list[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if aggregation == "cardinality":
        extra["distinctFields"] = ["@ip"]
    if aggregation in ("sum", "max"):
        extra["metrics"] = ["@n"]
    return query(text, group_by, aggregation=aggregation, name=name, **extra)


@dataclass
class _Seen:
    """What the run's detection handed to the result builder, and what the builder made."""

    inputs: list[tuple[Any, ...]] = field(default_factory=list)
    logs: list[Mapping[str, dict[str, Any]]] = field(default_factory=list)


def _documents(results: list[JobResult]) -> list[bytes]:
    return sorted(orjson.dumps([r.to_histsignal(), r.to_dict()], default=str) for r in results)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    EVENTS,
    QUERIES,
    CASES,
    TIMING,
    st.sampled_from(GROUPS),
    st.sampled_from(MESSAGES),
    st.sampled_from([None, ["env"]]),
    st.sampled_from([None, "job-1"]),
)
def test_the_builder_agrees_with_the_per_result_reference(
    drawn_events: list[dict[str, Any]],
    drawn_queries: list[tuple[str, str, int]],
    drawn_cases: list[tuple[str, str]],
    timing: tuple[int, int, int],
    group: list[str],
    message: str,
    group_signals_by: list[str] | None,
    job_id: str | None,
) -> None:
    names = "ab"
    queries = [
        _query(names[n], text, aggregation, group if grouped or n == 0 else [])
        for n, (text, aggregation, grouped) in enumerate(drawn_queries)
    ]
    if len(queries) == 1:
        queries.append(_query("b", "status:error", "count", group))
    if group_signals_by and not set(group_signals_by) < set(group):
        group_signals_by = None  # groupSignalsBy: a strict part of the group-by
    window, keep_alive, max_duration = timing
    spec = rule(
        *queries,
        cases=[
            {"name": f"case {n}" if n else "", "status": status, "condition": text}
            for n, (text, status) in enumerate(drawn_cases)
        ],
        window=window,
        keep_alive=max(keep_alive, window),
        max_duration=max(max_duration, window),
        message=message,
        tags=["team:x", "source:app"],
        **({"groupSignalsBy": group_signals_by} if group_signals_by else {}),
    )
    events = [_event(number, drawn) for number, drawn in enumerate(drawn_events)]
    seen = _Seen()
    with pytest.MonkeyPatch.context() as patch:
        build, finish = pipeline_module.pending_results, assemble.PendingResults.finish

        def spy(*args: Any, **kwargs: Any) -> Any:
            seen.inputs.append((*args[:4], kwargs.get("job_id")))
            return build(*args, **kwargs)

        def finished(self: assemble.PendingResults, logs: Any) -> list[JobResult]:
            seen.logs.append(logs)
            return finish(self, logs)

        patch.setattr(pipeline_module, "pending_results", spy)
        patch.setattr(assemble.PendingResults, "finish", finished)
        outcome = run(spec, events, job_id=job_id)
    assert [stat.error for stat in outcome.stats] == [None]
    if not seen.inputs:  # nothing matched: no results to build
        assert not outcome.results
        return
    ((plan, matches, detection, lifecycle, given_job),), (logs,) = seen.inputs, seen.logs
    expected = reference_results(plan, matches, detection, lifecycle, logs, given_job)
    assert _documents(list(outcome.results)) == _documents(expected)
    assert sorted(outcome.results, key=lambda r: r.id) == sorted(expected, key=lambda r: r.id)
