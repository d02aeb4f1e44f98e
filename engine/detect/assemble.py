"""From lifecycle signals to `JobResult`s: attached events, counts, samples, message and title.

A signal's attached events are those of its signal key from its first_seen to its opening instant
(the evaluation window, for threshold; every sub-group of the key, all queries), plus the events of
the group at each instant that updated it (SPEC §3.7, §3.8), de-duplicated; an attached event
counts in every query it matched for a sub-group of the key. From them come `events_matched`
(distinct events), the per-query counts, every log id, and up to 10 samples (earliest first) whose
full logs are read back from the source (the method's `SampleSource`). The method's attributes
join the result's and its message's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.core.severity import severity_name
from engine.core.times import from_epoch_ms
from engine.detect.base import Detection, SampleSource
from engine.detect.lifecycle import OPENS, SIGNAL, WINDOW_START, Lifecycle, SignalSpan
from engine.detect.prepare import RulePlan, signal_key_positions
from engine.results.result import MAX_SAMPLES, JobResult, QueryDetail, Sample
from engine.rules.template import MessageContext, render_message
from engine.scan.plan import TIME


def attached_events(rule: RulePlan, matches: pl.DataFrame, lifecycle: Lifecycle) -> pl.DataFrame:
    """Rows (`_s` signal number, `id`, `_q`, `_t`, `_d`) of the events each signal holds."""
    keys = rule.key_columns
    signal_keys = [keys[position] for position in signal_key_positions(rule)]
    instants = lifecycle.instants.rename({SIGNAL: "_s"})
    columns = ["_s", "id", "_q", TIME, "_d"]
    opened = instants.filter(pl.col(OPENS)).select(
        "_s",
        *signal_keys,
        pl.col(TIME).alias("_at"),
        pl.min_horizontal(WINDOW_START, TIME).alias("_from"),  # the signal's first_seen
    )
    in_window = _window_rows(matches, opened, signal_keys).select(columns)
    parts = [in_window]
    updated = instants.filter(~pl.col(OPENS)).select("_s", *keys, TIME)
    if updated.height:
        events = _join(matches, updated, [*keys, TIME]).select("_s", "id").unique()
        # each such event, with every query it matched for a sub-group of the signal key
        of_key = events.join(opened.drop("_at", "_from"), on="_s")
        parts.append(of_key.join(matches, on=["id", *signal_keys]).select(columns))
    return pl.concat(parts).unique(subset=["_s", "id", "_q"]).sort("_s", TIME, "id", "_q")


def _window_rows(
    matches: pl.DataFrame, opened: pl.DataFrame, signal_keys: list[str]
) -> pl.DataFrame:
    """The rows of `matches` in `[_from, _at]` of each opening (`_s`, signal key, `_at`, `_from`)
    with that signal key: each is a run of the matches sorted by key and time, found by two as-of
    joins, so the work follows the rows returned, not keys x openings."""
    by = signal_keys or None
    rows = matches.sort([*signal_keys, TIME]).with_row_index("_r")
    bounds = (
        rows.group_by([*signal_keys, TIME])
        .agg(pl.col("_r").min().alias("_lo"), pl.col("_r").max().alias("_hi"))
        .sort(TIME)
    )
    last = opened.sort("_at").join_asof(
        bounds.drop("_lo"),
        left_on="_at",
        right_on=TIME,
        by=by,
        strategy="backward",
        check_sortedness=False,
    )
    first = opened.sort("_from").join_asof(
        bounds.drop("_hi"),
        left_on="_from",
        right_on=TIME,
        by=by,
        strategy="forward",
        check_sortedness=False,
    )
    spans = (
        last.select("_s", "_hi")
        .join(first.select("_s", "_lo"), on="_s")
        .filter(pl.col("_lo") <= pl.col("_hi"))
        .select("_s", pl.int_ranges("_lo", pl.col("_hi") + 1).alias("_r"))
        .explode("_r")
    )
    return spans.join(rows, on="_r").drop("_r")


def _join(matches: pl.DataFrame, other: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """`matches` inner-joined with `other` on `on` (a cross join when `on` is empty)."""
    return matches.join(other, on=on, how="inner") if on else matches.join(other, how="cross")


def result_id(rule: RulePlan, signal: SignalSpan, job_id: str | None) -> str:
    """A stable id for a result: the same rule, group and opening instant give the same id."""
    text = "\x1f".join(
        [job_id or "", rule.rule.id or rule.rule.name, *signal.key, str(signal.opened_at)]
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class _SignalFacts:
    """What a signal's attached events say, computed for all signals at once."""

    ids: list[str] = field(default_factory=list)  # distinct, earliest first
    per_query: dict[int, int] = field(default_factory=dict)  # query index -> distinct events
    samples: list[tuple[str, int]] = field(default_factory=list)  # (log id, query index)
    distinct: dict[int, list[str]] = field(default_factory=dict)  # query index -> values
    last: dict[str, Any] = field(default_factory=dict)  # aggregates at the last instant


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
    for number, query, count, values in counts.iter_rows():
        facts[number].per_query[query] = count
        facts[number].distinct[query] = values
    keys = rule.key_columns
    last = (
        lifecycle.instants.group_by(SIGNAL, maintain_order=True).last().select(SIGNAL, *keys, TIME)
    )
    found = last.join(instants, on=[*keys, TIME], how="left").unique(SIGNAL, keep="first")
    for row in found.iter_rows(named=True):
        facts[row[SIGNAL]].last = row
    return facts


@dataclass
class PendingResults:
    """A rule's results but for their sample logs: `finish` them with the logs of `sample_ids`
    (read from `[low, high)`), so a run reads every rule's samples in one pass."""

    rule: RulePlan
    detection: Detection
    signals: Sequence[SignalSpan]
    facts: list[_SignalFacts]
    attributes: list[dict[str, Any]]
    job_id: str | None
    source: SampleSource

    @property
    def sample_ids(self) -> list[str]:
        """The log ids of every sample of every result."""
        return [log_id for fact in self.facts for log_id, _ in fact.samples]

    @property
    def low(self) -> int:
        """The earliest time a sample can have."""
        return min((signal.first_seen for signal in self.signals), default=0)

    @property
    def high(self) -> int:
        """Just after the latest time a sample can have."""
        return max((signal.last_seen for signal in self.signals), default=-1) + 1

    def finish(self, logs: Mapping[str, dict[str, Any]]) -> list[JobResult]:
        """The results, with their samples' full logs taken from `logs` (by id)."""
        results = []
        for signal, fact, extra in zip(self.signals, self.facts, self.attributes, strict=True):
            samples = [Sample(i, q, logs[i]) for i, q in fact.samples if i in logs]
            results.append(
                _result(self.rule, self.detection, signal, fact, samples, self.job_id, extra)
            )
        return results


def pending_results(
    rule: RulePlan,
    matches: pl.DataFrame,
    detection: Detection,
    lifecycle: Lifecycle,
    source: SampleSource,
    *,
    job_id: str | None = None,
    extra: Callable[[SignalSpan, list[str]], dict[str, Any]] | None = None,
) -> PendingResults:
    """The results of a rule's signals, but for their sample logs, which are read from `source`
    (`extra`: the method-specific attributes of a result, from its signal and its events' ids)."""
    signals = lifecycle.signals
    if not signals:
        return PendingResults(rule, detection, [], [], [], job_id, source)
    attached = attached_events(rule, matches, lifecycle)
    facts = _facts(rule, attached, detection.instants, lifecycle)
    attributes = [
        extra(signal, fact.ids) if extra is not None else {}
        for signal, fact in zip(signals, facts, strict=True)
    ]
    return PendingResults(rule, detection, signals, facts, attributes, job_id, source)


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
    per_query = {query.name: fact.per_query.get(query.index, 0) for query in rule.queries}
    details = [
        QueryDetail(
            name=query.name,
            query=spec.queries[query.index].query or "",
            aggregation=query.aggregation,
            group_by_paths=list(query.group_by),
            distinct_fields=list(spec.queries[query.index].distinctFields),
            metric=next(iter(spec.queries[query.index].metric_fields()), None),
            events_count=per_query[query.name],
            distinct_values=fact.distinct.get(query.index, []) if query.distinct else [],
            value=fact.last.get(detection.values.get(query.index, "")),
        )
        for query in rule.queries
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
    ids = fact.ids
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
        events_matched=len(ids),
        events_per_query=per_query,
        queries=details,
        log_ids=ids,
        samples=samples,
        tags=tags,
        title=title,
        message=render_message(spec.message, context),
        job_id=job_id,
        extra=extra,
    )
