"""`signal_correlation` rules (SPEC §3.13b): the results of other rules, correlated by fields.

Each query of such a rule names a rule (`ruleId`, or `defaultRuleId` for the out-of-the-box
rules) instead of a log query; an optional `query` filters that rule's results with the log
search syntax over the result seen as a log (`status` is its severity, `message` its title, its
attributes those of its first sample, overlaid with its group-by values). Its inputs are the
results of the other rules of the same run (and the earlier results the run was given: the job
service passes the stored results of other jobs in the job's range), so it runs after them. A
referenced rule found neither in the run nor among those results is an error naming its id,
before the scan.

Each source result is one event at its trigger time (`timestamp`). Its value for a correlated
field (`correlatedByFields`, the rule's group key) is its group-by value for that field when the
source rule grouped by it, else the field's value in its first sample (missing: dropped, or
`N/A` with `hasOptionalGroupByFields`). Windows, cases, `THEN`, the lifecycle and
`groupSignalsBy` are exactly threshold's over these events. A correlation result's samples are
the results it correlates (id, rule, severity, group-by values), `events_matched` counts them,
and its attributes list their ids under `correlated_results`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from engine.archive.event import normalize_event
from engine.archive.frame import events_to_frame
from engine.core.columns import RESERVED_FIELDS
from engine.core.errors import UnsupportedRuleError
from engine.detect.base import (
    DetectContext,
    Detection,
    DetectionMethod,
    PlanContext,
    SampleSource,
    register,
)
from engine.detect.keys import text_values
from engine.detect.lifecycle import SignalSpan
from engine.detect.methods.threshold import aggregate_column, instants, matched_cases
from engine.detect.prepare import QueryPlan, RulePlan, matches
from engine.query import compile_query
from engine.results.result import JobResult
from engine.rules.models import Rule, RuleQuery
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource

CORRELATION = "signal_correlation"


def referenced(query: RuleQuery) -> str | None:
    """The id of the rule a correlation query reads."""
    return query.ruleId or query.defaultRuleId


@dataclass(frozen=True)
class CorrelationPlan(RulePlan):
    """A correlation rule's plan: no scan filter; each query's rule id."""

    references: tuple[str, ...] = ()


class SignalCorrelation(DetectionMethod):
    """Rules of type `signal_correlation`: threshold detection over other rules' results."""

    name = CORRELATION
    rule_type = CORRELATION
    after_others = True
    explainable = False
    explain_instead = (
        "a signal_correlation rule reads the results of other rules, not logs (run it with "
        "them: `hindsight run`, and read the correlated results of its result)"
    )

    def reads(self, rule: Rule) -> tuple[str, ...]:
        """The rules its queries name."""
        return tuple(name for name in map(referenced, rule.queries) if name)

    def plan(self, rule: Rule, plan: ScanPlan, context: PlanContext) -> RulePlan:
        """The queries without scan filters; an unknown referenced rule is an error."""
        missing = [name for name in self.reads(rule) if name not in context.rule_ids]
        if missing:
            listing = ", ".join(repr(name) for name in dict.fromkeys(missing))
            raise UnsupportedRuleError(
                f"rule {rule.name!r} correlates the results of rule {listing}, which is neither "
                "in this run nor among the earlier results given to it"
            )
        names = rule.query_names()
        queries = tuple(
            QueryPlan(
                index=index,
                name=names[index],
                aggregation=query.aggregation,
                group_by=tuple(query.correlatedByFields or []),
                optional=query.hasOptionalGroupByFields,
                flag="",
                keys=(),
                distinct=(),
                metric=None,
            )
            for index, query in enumerate(rule.queries)
        )
        arity = max((len(query.group_by) for query in queries), default=0)
        references = tuple(referenced(query) or "" for query in rule.queries)
        return CorrelationPlan(rule, queries, arity, references=references)

    def matches(self, rule: RulePlan, rows: pl.DataFrame, context: DetectContext) -> pl.DataFrame:
        """The matches frame of the correlated results (the rule's `rows` are none)."""
        assert isinstance(rule, CorrelationPlan)
        wanted = set(rule.references)
        sources = [result for result in context.results if result.rule_id in wanted]
        if context.start is not None:
            sources = [r for r in sources if r.timestamp.timestamp() * 1000 >= context.start]
        if context.end is not None:
            sources = [r for r in sources if r.timestamp.timestamp() * 1000 < context.end]
        frame = events_to_frame(normalize_event(as_record(result)) for result in sources)
        if frame.height == 0:
            return frame.select("id").clear()
        local = ScanPlan(frame.schema)
        queries = []
        for query, spec in zip(rule.queries, rule.rule.queries, strict=True):
            condition = pl.col("@rule.id") == rule.references[query.index]
            if spec.query and spec.query.strip():
                condition = condition & compile_query(spec.query, frame.schema)
            queries.append(
                replace(
                    query,
                    flag=local.flag(condition),
                    keys=tuple(
                        local.column(text_values(f, frame.schema), "k") for f in query.group_by
                    ),
                    distinct=tuple(
                        local.column(text_values(f, frame.schema), "d") for f in spec.distinctFields
                    )
                    if query.aggregation == "cardinality"
                    else (),
                )
            )
        scanned = local.apply(frame.lazy()).collect()
        return matches(replace(rule, queries=tuple(queries)), scanned)

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """Threshold detection over the correlated results."""
        values = {query.index: aggregate_column(query) for query in rule.queries}
        return Detection(matched_cases(rule, instants(rule, matches)), values)

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan, events: Sequence[str]
    ) -> dict[str, Any]:
        """`correlated_results`: the ids of the results the correlation holds."""
        return {"correlated_results": list(events)}

    def samples(self, source: LogSource, context: DetectContext) -> SampleSource:
        """The correlated results, as sample records."""
        return ResultRecords(context.results)


def as_record(result: JobResult) -> dict[str, Any]:
    """A result seen as a log: its severity as `status`, its title as `message`, its first
    sample's attributes overlaid with its group-by values, and `@rule.{id,name}`."""
    first = result.samples[0].log if result.samples else {}
    attributes: dict[str, Any] = dict(first.get("attributes", {}))
    record: dict[str, Any] = {
        "id": result.id,
        "timestamp": round(result.timestamp.timestamp() * 1000),
        "host": result.host,
        "service": next(iter(result.services), None),
        "source": first.get("source"),
        "status": result.severity,
        "message": result.title,
        "tags": list(result.tags),
    }
    for field, value in result.group_by.items():
        if field.startswith("@"):
            _place(attributes, field[1:].split("."), value)
        elif field in RESERVED_FIELDS:
            record[field] = value
        else:
            record["tags"].append(f"{field}:{value}")
    attributes["rule"] = {"id": result.rule_id, "name": result.rule_name}
    record["attributes"] = attributes
    return record


def _place(target: dict[str, Any], path: list[str], value: Any) -> None:
    for segment in path[:-1]:
        inner = target.get(segment)
        if not isinstance(inner, dict):
            inner = {}
            target[segment] = inner
        target = inner
    target[path[-1]] = value


class ResultRecords:
    """The sample source of a correlation: the correlated results as records."""

    def __init__(self, results: Sequence[JobResult]) -> None:
        self._by_id: Mapping[str, JobResult] = {result.id: result for result in results}

    def logs_by_id(
        self, ids: Sequence[str], start: int | None = None, end: int | None = None
    ) -> dict[str, dict[str, Any]]:
        """The records of the results `ids` (a record shows the result's rule, severity,
        title and group-by values)."""
        found = {}
        for name in ids:
            result = self._by_id.get(name)
            if result is not None:
                record = as_record(result)
                record["attributes"] = {
                    "rule": {"id": result.rule_id, "name": result.rule_name},
                    "severity": result.severity,
                    "title": result.title,
                    "group_by": dict(result.group_by),
                }
                found[name] = record
        return found


register(SignalCorrelation())
