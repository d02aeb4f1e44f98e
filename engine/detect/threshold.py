"""Threshold detection (SPEC §3.6): sliding-window aggregates and case conditions per instant.

At every instant at which a group has an event (of any query), each query's aggregate is taken
over the group's events in the half-open window `(t - W, t]` (W = 0: the events at exactly `t`):
`count`/`event_count` count them, `cardinality` counts distinct values (events lacking the field
are ignored), `sum` adds the metric (0 when empty), `max` takes its maximum ("no value" when empty,
so any comparison on it is false). Cases are tried in order and the first true one is the
instant's matched case. `X THEN Y` holds at `t` when `Y` holds at `t` and `X` held at some instant
of the same group inside `(t - W, t]` (equal times count as in order). All of it is polars rolling
windows over the rule's matches frame, sorted by group and time.
"""

from __future__ import annotations

import polars as pl

from engine.core.severity import SEVERITY_RANK
from engine.detect.lifecycle import MatchedInstant
from engine.detect.prepare import QueryPlan, RulePlan
from engine.jobs.plan import TIME
from engine.rules.conditions import condition_expr

WINDOW_START = "_first"
CASE = "_case"


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


def window_ms(window_seconds: int) -> int:
    """An evaluation window in ms; W = 0 is 1 ms: `(t - 1, t]` keeps only the same millisecond."""
    return max(window_seconds * 1000, 1)


def window_period(window_seconds: int) -> str:
    """The polars rolling period of an evaluation window."""
    return f"{window_ms(window_seconds)}i"


def instants(rule: RulePlan, frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (group, instant): each query's aggregate and the window's first event time."""
    keys = rule.key_columns
    aggregates = [_aggregate(query) for query in rule.queries]
    period = window_period(rule.rule.options.evaluationWindow)
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


def matched_instants(
    rule: RulePlan, frame: pl.DataFrame, matches: pl.DataFrame
) -> list[MatchedInstant]:
    """The instants at which a case matched, with their signal key, for the lifecycle.

    With `groupSignalsBy`, an instant's window start is taken over the window of its signal key
    (every sub-group, all queries: SPEC §3.7, §3.8), and the instant carries the smallest event id
    of its group at that time, so sub-groups matching at one time are handled in event order.
    """
    keys = rule.key_columns
    signal_positions = signal_key_positions(rule)
    severities = [SEVERITY_RANK[case.status] for case in rule.rule.cases]
    found = frame.filter(pl.col(CASE).is_not_null()).select(*keys, TIME, CASE, WINDOW_START)
    projected = len(signal_positions) < rule.arity
    if projected:
        found = _signal_windows(rule, found, matches, [keys[p] for p in signal_positions])
    else:
        found = found.with_columns(pl.lit("").alias(_FIRST_ID))
    result: list[MatchedInstant] = []
    for row in found.select(*keys, TIME, CASE, WINDOW_START, _FIRST_ID).iter_rows():
        group = tuple(str(value) for value in row[: len(keys)])
        time, case, first, first_id = row[len(keys) :]
        result.append(
            MatchedInstant(
                key=tuple(group[position] for position in signal_positions),
                group=group,
                time=time,
                case=case,
                severity=severities[case],
                window_start=first,
                first_id=first_id,
            )
        )
    return result


_FIRST_ID = "_id0"


def _signal_windows(
    rule: RulePlan, found: pl.DataFrame, matches: pl.DataFrame, signal_keys: list[str]
) -> pl.DataFrame:
    """`found` with WINDOW_START over its signal key's window and `_FIRST_ID` of its group."""
    keys = rule.key_columns
    starts = (
        matches.sort([*signal_keys, TIME])
        .rolling(
            index_column=TIME,
            period=window_period(rule.rule.options.evaluationWindow),
            closed="right",
            group_by=signal_keys,
        )
        .agg(pl.col(TIME).min().alias(WINDOW_START))
        .unique(subset=[*signal_keys, TIME])
    )
    first_ids = matches.group_by([*keys, TIME]).agg(pl.col("id").min().alias(_FIRST_ID))
    return (
        found.drop(WINDOW_START)
        .join(starts, on=[*signal_keys, TIME], how="left")
        .join(first_ids, on=[*keys, TIME], how="left")
    )


def signal_key_positions(rule: RulePlan) -> list[int]:
    """Positions in the group key of the `groupSignalsBy` fields (all positions when unset)."""
    wanted = rule.rule.groupSignalsBy
    if not wanted:
        return list(range(rule.arity))
    positions: list[int] = []
    for field in wanted:
        for query in rule.queries:
            if field in query.group_by:
                positions.append(query.group_by.index(field))
                break
    return positions
