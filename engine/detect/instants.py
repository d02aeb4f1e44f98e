"""From a method's evaluated instants to the lifecycle's input: the matched-instants frame.

A detection method evaluates a rule at instants of each group and says, per instant, which case
matched (`_case`: the index of the first true case, null when none) and where the evaluation
window started (`_first`: the earliest event time in it). `matched_instants` keeps the matched
ones, each with its signal key (the group key projected on `groupSignalsBy`), its severity and,
for `groupSignalsBy`, the window start over every sub-group of the key (SPEC §3.7, §3.8).
"""

from __future__ import annotations

import polars as pl

from engine.core.severity import SEVERITY_RANK
from engine.detect.lifecycle import CASE, FIRST_ID, SEVERITY, WINDOW_START
from engine.detect.prepare import RulePlan, signal_key_positions, window_period
from engine.scan.plan import TIME

__all__ = ["CASE", "FIRST_ID", "SEVERITY", "WINDOW_START", "matched_instants"]


def matched_instants(rule: RulePlan, frame: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    """The instants at which a case matched, with their severity, for the lifecycle.

    One row per matched (group, instant): the group key columns, `_t`, `CASE`, `SEVERITY`,
    `WINDOW_START` and `FIRST_ID`. With `groupSignalsBy`, an instant's window start is taken over
    the window of its signal key (every sub-group, all queries: SPEC §3.7, §3.8), and the instant
    carries the smallest event id of its group at that time, so sub-groups matching at one time
    are handled in event order.
    """
    keys = rule.key_columns
    signal_positions = signal_key_positions(rule)
    severities = [SEVERITY_RANK[case.status] for case in rule.rule.cases]
    found = frame.filter(pl.col(CASE).is_not_null()).select(*keys, TIME, CASE, WINDOW_START)
    if len(signal_positions) < rule.arity:
        found = _signal_windows(rule, found, matches, [keys[p] for p in signal_positions])
    else:
        found = found.with_columns(pl.lit("").alias(FIRST_ID))
    return found.select(
        *[pl.col(key).cast(pl.String) for key in keys],
        pl.col(TIME).cast(pl.Int64),
        pl.col(CASE).cast(pl.Int64),
        pl.col(CASE)
        .replace_strict(list(range(len(severities))), severities, return_dtype=pl.Int64)
        .alias(SEVERITY),
        pl.col(WINDOW_START).cast(pl.Int64),
        FIRST_ID,
    )


def _signal_windows(
    rule: RulePlan, found: pl.DataFrame, matches: pl.DataFrame, signal_keys: list[str]
) -> pl.DataFrame:
    """`found` with WINDOW_START over its signal key's window and `FIRST_ID` of its group."""
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
    first_ids = matches.group_by([*keys, TIME]).agg(pl.col("id").min().alias(FIRST_ID))
    return (
        found.drop(WINDOW_START)
        .join(starts, on=[*signal_keys, TIME], how="left")
        .join(first_ids, on=[*keys, TIME], how="left")
    )
