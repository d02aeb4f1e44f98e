"""Threshold detection (SPEC §3.6): sliding-window aggregates and case conditions per instant.

At every instant at which a group has an event (of any query), each query's aggregate is taken
over the group's events in the half-open window `(t - W, t]` (W = 0: the events at exactly `t`):
`count`/`event_count` count them, `cardinality` counts distinct values (events lacking the field
are ignored), `sum` adds the metric (0 when empty), `max` takes its maximum ("no value" when empty,
so any comparison on it is false). Cases are tried in order and the first true one is the
instant's matched case. `X THEN Y` holds at `t` when `Y` holds at `t` and `X` held at some instant
of the same group inside `(t - W, t]` (equal times count as in order). All of it is polars rolling
windows over the rule's matches frame, sorted by group and time.

A result's `aggregationDetails.value` of a query is its aggregate at the signal's last instant.
"""

from __future__ import annotations

import polars as pl

from engine.detect.base import DetectContext, Detection, DetectionMethod, register
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.prepare import QueryPlan, RulePlan, window_period
from engine.rules.conditions import condition_expr
from engine.scan.plan import TIME


def aggregate_column(query: QueryPlan) -> str:
    """Name of a query's aggregate column in the instants frame."""
    return f"_a{query.index}"


def _aggregate(query: QueryPlan) -> pl.Expr:
    mine = pl.col("_q") == query.index
    if query.aggregation == "cardinality":
        value = pl.col("_d").filter(mine).explode().drop_nulls().n_unique().cast(pl.Float64)
    elif query.aggregation == "sum":
        value = pl.col("_ms").filter(mine).sum().cast(pl.Float64)
    elif query.aggregation == "max":
        value = pl.col("_mx").filter(mine).max().cast(pl.Float64)
    else:
        value = mine.sum().cast(pl.Float64)
    return value.alias(aggregate_column(query))


def instants(rule: RulePlan, frame: pl.DataFrame, window: int | None = None) -> pl.DataFrame:
    """One row per (group, instant): each query's aggregate and the window's first event time,
    over the rule's evaluation window (or `window` seconds: a sequence step's)."""
    keys = rule.key_columns
    aggregates = [_aggregate(query) for query in rule.queries]
    seconds = rule.rule.options.evaluationWindow if window is None else window
    period = window_period(seconds)
    rolled = frame.rolling(
        index_column=TIME, period=period, closed="right", group_by=keys or None
    ).agg(*aggregates, pl.col(TIME).min().alias(WINDOW_START))
    return rolled.unique(subset=[*keys, TIME], keep="first", maintain_order=True)


def matched_cases(rule: RulePlan, frame: pl.DataFrame) -> pl.DataFrame:
    """The instants frame with `_case`: the index of the first true case (null when none)."""
    keys = rule.key_columns
    columns = {query.name: aggregate_column(query) for query in rule.queries}
    period = window_period(rule.rule.options.evaluationWindow)

    def recent(flag: pl.Expr) -> pl.Expr:
        held = flag.cast(pl.Int8).rolling_max_by(TIME, window_size=period, closed="right")
        return (held.over(keys) if keys else held) > 0

    choice: pl.Expr = pl.lit(None, dtype=pl.Int32)
    conditions = rule.rule.case_conditions()
    for index in reversed(range(len(conditions))):
        condition = conditions[index]
        holds = (
            pl.lit(True)
            if condition is None
            else condition_expr(condition, lambda name: pl.col(columns[name]), recent)
        )
        choice = pl.when(holds).then(pl.lit(index, dtype=pl.Int32)).otherwise(choice)
    return frame.with_columns(choice.alias(CASE))


class Threshold(DetectionMethod):
    """`threshold`: the instants of each group, their aggregates, and the first true case."""

    name = "threshold"
    per_group = True

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """Aggregates per (group, instant) over the rolling window, then the matched case."""
        values = {query.index: aggregate_column(query) for query in rule.queries}
        return Detection(matched_cases(rule, instants(rule, matches)), values)


register(Threshold())
