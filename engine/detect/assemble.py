"""From lifecycle signals to `JobResult`s: attached events, counts, samples, message and title.

A signal's attached events are those of its signal key from its first_seen to its opening instant
(the evaluation window, for threshold; every sub-group of the key, all queries), plus the events of
the group at each instant that updated it (SPEC §3.7, §3.8), de-duplicated; an attached event
counts in every query it matched for a sub-group of the key. From them come `events_matched`
(distinct events), the per-query counts, every log id, and up to 10 samples (earliest first) whose
full logs are read back from the source (the method's `SampleSource`). The method's attributes
join the result's and its message's.

The facts are computed for all of a rule's signals at once, as one list per fact (`_Facts`); a
`_Builder` then makes the results, computing what they share once (a sample's wire content, the
default titles, the tags per set of sample sources).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.archive.ingest import no_cyclic_gc
from engine.core.severity import severity_name
from engine.core.times import from_epoch_ms
from engine.detect.base import Detection, SampleSource
from engine.detect.lifecycle import OPENS, SIGNAL, WINDOW_START, Lifecycle, SignalSpan
from engine.detect.prepare import RulePlan, signal_key_positions
from engine.results.result import MAX_SAMPLES, JobResult, QueryDetail, Sample, sample_content
from engine.rules.template import LogFields, MessageContext, render_message
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
class _Facts:
    """What the signals' attached events say, column-wise: one entry per signal in each list."""

    ids: list[list[str]]  # distinct, earliest first
    sample_ids: list[list[str]]  # the first MAX_SAMPLES of `ids`
    sample_queries: list[list[int]]  # the query index of each sample
    per_query: dict[int, list[int]]  # query index -> distinct events per signal
    distinct: dict[int, list[list[str]]]  # distinct queries: index -> distinct values per signal
    values: dict[int, list[Any]]  # query index -> its aggregate at the signal's last instant


def _facts(
    rule: RulePlan, attached: pl.DataFrame, detection: Detection, lifecycle: Lifecycle
) -> _Facts:
    numbers = pl.DataFrame({"_s": range(len(lifecycle.signals))}, schema={"_s": pl.Int64})

    def per_signal(frame: pl.DataFrame, column: str) -> list[Any]:
        """`column` of `frame` (one row per signal that has one) for every signal in order."""
        joined = numbers.join(frame, on="_s", how="left", maintain_order="left")
        return joined[column].to_list()

    first = attached.unique(subset=["_s", "id"], keep="first", maintain_order=True)
    listed = first.group_by("_s").agg(
        pl.col("id"), pl.col("id").head(MAX_SAMPLES).alias("_ids"), pl.col("_q").head(MAX_SAMPLES)
    )
    ids, sample_ids, sample_queries = (
        [value or [] for value in per_signal(listed, column)] for column in ("id", "_ids", "_q")
    )
    counts = attached.group_by("_s", "_q").agg(
        pl.col("id").n_unique(), pl.col("_d").explode().drop_nulls().unique().sort()
    )
    per_query: dict[int, list[int]] = {}
    distinct: dict[int, list[list[str]]] = {}
    for query in rule.queries:
        of_query = counts.filter(pl.col("_q") == query.index)
        per_query[query.index] = [count or 0 for count in per_signal(of_query, "id")]
        if query.distinct:
            distinct[query.index] = [found or [] for found in per_signal(of_query, "_d")]
    return _Facts(
        ids,
        sample_ids,
        sample_queries,
        per_query,
        distinct,
        _last_values(rule, detection, lifecycle),
    )


def _last_values(
    rule: RulePlan, detection: Detection, lifecycle: Lifecycle
) -> dict[int, list[Any]]:
    """Per query with a value column (`Detection.values`), its value at each signal's last
    instant (the first matching instant row, when several do)."""
    wanted = {
        q.index: detection.values[q.index] for q in rule.queries if q.index in detection.values
    }
    if not wanted:
        return {}
    keys = rule.key_columns
    last = (
        lifecycle.instants.group_by(SIGNAL, maintain_order=True).last().select(SIGNAL, *keys, TIME)
    )
    found = (
        last.join(detection.instants, on=[*keys, TIME], how="left")
        .unique(SIGNAL, keep="first", maintain_order=True)
        .sort(SIGNAL)
    )
    none = [None] * found.height
    return {
        index: found[column].to_list() if column in found.columns else none
        for index, column in wanted.items()
    }


@dataclass
class PendingResults:
    """A rule's results but for their sample logs: `finish` them with the logs of `sample_ids`
    (read from `[low, high)`), so a run reads every rule's samples in one pass."""

    rule: RulePlan
    detection: Detection
    signals: Sequence[SignalSpan]
    facts: _Facts | None
    attributes: list[dict[str, Any]]
    job_id: str | None
    source: SampleSource

    @property
    def sample_ids(self) -> list[str]:
        """The log ids of every sample of every result."""
        if self.facts is None:
            return []
        return [log_id for ids in self.facts.sample_ids for log_id in ids]

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
        if self.facts is None:
            return []
        # many lasting objects, no cycles: each collection would walk every live object of the
        # run (half the time of building results, measured at 2M events)
        with no_cyclic_gc():
            return _Builder(self.rule, self.job_id, logs).results(
                self.signals, self.facts, self.attributes
            )


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
        return PendingResults(rule, detection, [], None, [], job_id, source)
    attached = attached_events(rule, matches, lifecycle)
    facts = _facts(rule, attached, detection, lifecycle)
    attributes = (
        [extra(signal, ids) for signal, ids in zip(signals, facts.ids, strict=True)]
        if extra is not None
        else [{} for _ in signals]
    )
    return PendingResults(rule, detection, signals, facts, attributes, job_id, source)


class _Builder:
    """Builds one rule's `JobResult`s: what all its results share is computed once, and what
    many share (a sample log's content and view, a case's title) once per distinct value."""

    def __init__(
        self,
        rule: RulePlan,
        job_id: str | None,
        logs: Mapping[str, dict[str, Any]],
    ) -> None:
        self.rule, self.job_id, self.logs = rule, job_id, logs
        spec = self.spec = rule.rule
        self.titles = [spec.name + (f" - {case.name}" if case.name else "") for case in spec.cases]
        self.contents: dict[str, dict[str, Any]] = {}
        self.tags: dict[tuple[str, ...], list[str]] = {}

    def results(
        self, signals: Sequence[SignalSpan], facts: _Facts, attributes: list[dict[str, Any]]
    ) -> list[JobResult]:
        """Every signal's result."""
        rule, logs = self.rule, self.logs
        queries = [
            (query, self.spec.queries[query.index], facts.per_query[query.index])
            for query in rule.queries
        ]
        found = []
        for number, signal in enumerate(signals):
            samples = [
                self.sample(log_id, index)
                for log_id, index in zip(
                    facts.sample_ids[number], facts.sample_queries[number], strict=True
                )
                if log_id in logs
            ]
            per_query = {query.name: counts[number] for query, _, counts in queries}
            details = [
                QueryDetail(
                    name=query.name,
                    query=spec.query or "",
                    aggregation=query.aggregation,
                    group_by_paths=list(query.group_by),
                    distinct_fields=list(spec.distinctFields),
                    metric=next(iter(spec.metric_fields()), None),
                    events_count=counts[number],
                    distinct_values=facts.distinct[query.index][number] if query.distinct else [],
                    value=(
                        facts.values[query.index][number] if query.index in facts.values else None
                    ),
                )
                for query, spec, counts in queries
            ]
            ids = facts.ids[number]
            found.append(self.result(signal, ids, per_query, details, samples, attributes[number]))
        return found

    def sample(self, log_id: str, query: int) -> Sample:
        """The sample of a log, its wire content made once per log."""
        content = self.contents.get(log_id)
        log = self.logs[log_id]
        if content is None:
            content = self.contents[log_id] = sample_content(log)
        return Sample(log_id, query, log, content)

    def tags_of(self, samples: list[Sample]) -> list[str]:
        """The rule's tags, then `source:<name>` of each sample's source."""
        sources = tuple(dict.fromkeys(s.log["source"] for s in samples if s.log.get("source")))
        found = self.tags.get(sources)
        if found is None:
            found = list(dict.fromkeys([*self.spec.tags, *(f"source:{s}" for s in sources)]))
            self.tags[sources] = found
        return list(found)

    def result(
        self,
        signal: SignalSpan,
        ids: list[str],
        per_query: dict[str, int],
        details: list[QueryDetail],
        samples: list[Sample],
        extra: dict[str, Any],
    ) -> JobResult:
        """The result of one signal."""
        rule, spec = self.rule, self.spec
        case = spec.cases[signal.case]
        paths, group_by = rule.signal_group(signal.key)
        tags = self.tags_of(samples)
        severity = severity_name(signal.severity)
        first_log = samples[0].log if samples else {}
        attributes = first_log.get("attributes", {})
        context = MessageContext(
            rule_name=spec.name,
            case_name=case.name,
            severity=severity,
            timestamp_ms=signal.opened_at,
            first_seen_ms=signal.first_seen,
            last_seen_ms=signal.last_seen,
            events_matched=len(ids),
            events_matched_per_query=per_query,
            attributes={**attributes, **extra} if extra else attributes,
            log=LogFields(first_log),
            tags=tags,
            group_by=group_by,
        )
        title = self.titles[signal.case]
        if rule.title is not None:
            title = render_message(rule.title, context)
        return JobResult(
            id=result_id(rule, signal, self.job_id),
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
            job_id=self.job_id,
            extra=extra,
        )
