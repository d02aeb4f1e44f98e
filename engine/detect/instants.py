"""From a method's evaluated instants to the lifecycle's input: `MatchedInstant`s.

A detection method evaluates a rule at instants of each group and says, per instant, which case
matched (`_case`: the index of the first true case, null when none) and where the evaluation
window started (`_first`: the earliest event time in it). `matched_instants` keeps the matched
ones, each with its signal key (the group key projected on `groupSignalsBy`), its severity and,
for `groupSignalsBy`, the window start over every sub-group of the key (SPEC §3.7, §3.8).
"""

from __future__ import annotations

import polars as pl

from engine.core.severity import SEVERITY_RANK
from engine.detect.lifecycle import MatchedInstant
from engine.detect.prepare import RulePlan, signal_key_positions, window_period
from engine.scan.plan import TIME

#: The instants frame's column with the earliest event time of the instant's window.
WINDOW_START = "_first"
#: The instants frame's column with the index of the instant's matched case (null: none).
CASE = "_case"


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
