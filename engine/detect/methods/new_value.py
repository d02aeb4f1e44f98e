"""`new_value` (SPEC §3.10): a value a scope has not seen (or has forgotten) is a detection.

The value of an event is the tuple of its `metrics` fields (an array field fans out to one value
per element, a cartesian product across fields; an event missing a field has no value). The scope
is the group key. The learned set of a scope maps each value to the last time it was observed:

- a value fires when the scope never observed it, or last observed it more than `forgetAfter`
  days before (forgetting counts from the last observation); every observation refreshes it;
- `learningMethod: duration`: the job's learning period `[start, start + learningDuration days)`
  only learns; `start` is the job's `from`, or its first matching event when later (global to the
  job, not per scope). `learningDuration: 0` learns the first event of each scope silently (all
  its values). With `instantaneousBaseline` the method reads `learningDuration` days before `from`
  and, when some event is there, detects from `from` on;
- `learningMethod: threshold`: no learning period; `learningThreshold: 1` learns the first event
  of each scope silently, `0` fires on it too.

Successive new values of a scope merge into one result through keepAlive / maxSignalDuration
(`keepAlive: 0`: one result per new value). A result carries `new_value: {fields, values}`.

All of it is vectorized: the previous observation of each (query, scope, value) is a `shift` over
that partition of the rows sorted by time; each scope's first event a group-by `first`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import polars as pl

from engine.detect.base import DetectContext, Detection, DetectionMethod, PlanContext, register
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.lifecycle import SignalSpan
from engine.detect.prepare import RulePlan
from engine.rules.conditions import condition_expr
from engine.rules.models import Rule
from engine.scan.plan import TIME, ScanPlan

DAY_MS = 86_400_000
_VALUE = "_nv"
_SEPARATOR = "\x1f"


def _value_column(position: int) -> str:
    return f"_nv{position}"


def new_count_column(index: int) -> str:
    """Name of the instants frame's column counting query `index`'s new values at the instant."""
    return f"_n{index}"


def learning_end(rule: Rule, context: DetectContext) -> int | None:
    """The first instant at which new values fire (None: the rule has no rows)."""
    options = rule.options.newValueOptions
    if options is not None and options.learningMethod == "threshold":
        return context.first_time
    days = (options.learningDuration if options else None) or 0
    return context.learning_end(days * DAY_MS)


def _silent_first(rule: Rule) -> bool:
    options = rule.options.newValueOptions
    if options is None or options.learningMethod == "duration":
        return not (options and options.learningDuration)
    return options.learningThreshold == 1


class NewValue(DetectionMethod):
    """`new_value`: unseen or forgotten values per scope, after the learning period."""

    name = "new_value"
    per_group = True
    reads_first_time = True  # the learning period starts at the rule's first event

    def lookback_ms(self, rule: Rule) -> int:
        """`learningDuration` days with `instantaneousBaseline`, else none."""
        options = rule.options.newValueOptions
        if options is None or not options.instantaneousBaseline:
            return 0
        if options.learningMethod != "duration":
            return 0
        return (options.learningDuration or 0) * DAY_MS

    def plan(self, rule: Rule, plan: ScanPlan, context: PlanContext) -> RulePlan:
        """The generic plan, and the text values of each query's metric fields."""
        planned = super().plan(rule, plan, context)
        queries = []
        for query in planned.queries:
            fields = rule.queries[query.index].metric_fields()
            carry = tuple(
                (_value_column(position), plan.column(planned.text_values(name, plan.schema), "n"))
                for position, name in enumerate(fields)
            )
            queries.append(replace(query, carry=carry))
        return replace(planned, queries=tuple(queries))

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """New values per (group, instant), the instants at which one fired."""
        keys = rule.key_columns
        fired = _fired(rule, matches, context)
        counts = [
            (pl.col("_fires") & (pl.col("_q") == query.index)).sum().alias(new_count_column(i))
            for i, query in enumerate(rule.queries)
        ]
        instants = (
            fired.group_by([*keys, TIME], maintain_order=True)
            .agg(*counts, pl.col(_VALUE).filter(pl.col("_fires")).unique(maintain_order=True))
            .sort([*keys, TIME])
        )
        columns = {query.name: pl.col(new_count_column(i)) for i, query in enumerate(rule.queries)}
        choice: pl.Expr = pl.lit(None, dtype=pl.Int32)
        any_new = pl.sum_horizontal(list(columns.values())) > 0
        conditions = rule.rule.case_conditions()
        for index in reversed(range(len(conditions))):
            condition = conditions[index]
            holds = any_new & (
                pl.lit(True)
                if condition is None
                else condition_expr(condition, lambda name: columns[name].cast(pl.Float64))
            )
            choice = pl.when(holds).then(pl.lit(index, dtype=pl.Int32)).otherwise(choice)
        instants = instants.with_columns(choice.alias(CASE), pl.col(TIME).alias(WINDOW_START))
        notes = {
            (tuple(row[: len(keys)]), row[len(keys)]): row[len(keys) + 1]
            for row in instants.filter(pl.col(CASE).is_not_null())
            .select(*keys, TIME, _VALUE)
            .iter_rows()
        }
        values = {query.index: new_count_column(i) for i, query in enumerate(rule.queries)}
        return Detection(instants.drop(_VALUE), values, notes)

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan, events: Sequence[str]
    ) -> dict[str, Any]:
        """`new_value`: the metric fields and the new values of the signal, in order."""
        fields = rule.rule.queries[0].metric_fields() if rule.rule.queries else []
        found: list[str] = []
        for instant in signal.instants:
            for value in detection.notes.get((instant.group, instant.time), []):
                if value not in found:
                    found.append(value)
        values: list[Any] = [
            value if len(fields) == 1 else value.split(_SEPARATOR) for value in found
        ]
        return {"new_value": {"fields": fields, "values": values}}

    def describe(self, note: Any) -> str:
        """The new values at the instant."""
        shown = [value.replace(_SEPARATOR, " + ") for value in note]
        return "new: " + ", ".join(shown)


def _fired(rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> pl.DataFrame:
    """One row per (event, query, group, value) with `_fires`: the value was new and fired."""
    keys = rule.key_columns
    width = max((len(query.carry) for query in rule.queries), default=0)
    frame = matches.select("id", TIME, "_q", *keys, *[_value_column(p) for p in range(width)])
    for position in range(width):
        name = _value_column(position)
        if isinstance(frame.schema[name], pl.List):
            frame = frame.explode(name)
    parts = [pl.col(_value_column(p)) for p in range(width)]
    value = (
        pl.concat_str(parts, separator=_SEPARATOR, ignore_nulls=False) if parts else pl.lit(None)
    )
    frame = frame.with_columns(value.cast(pl.String).alias(_VALUE)).drop_nulls(_VALUE)
    frame = frame.unique(subset=["id", "_q", *keys, _VALUE]).sort([*keys, TIME, "id"])
    options = rule.rule.options.newValueOptions
    forget = options.forgetAfter * DAY_MS if options and options.forgetAfter else None
    scope = ["_q", *keys]
    previous = pl.col(TIME).shift(1).over([*scope, _VALUE], order_by=[TIME, "id"])
    new = previous.is_null()
    if forget is not None:
        new = new | (pl.col(TIME) - previous > forget)
    detecting = learning_end(rule.rule, context)
    fires = new & (pl.col(TIME) >= (detecting if detecting is not None else 0))
    if context.start is not None:
        fires = fires & (pl.col(TIME) >= context.start)
    if _silent_first(rule.rule):
        first_id = pl.col("id").first().over(scope, order_by=[TIME, "id"])
        fires = fires & (pl.col("id") != first_id)
    return frame.with_columns(fires.alias("_fires"))


register(NewValue())
