"""The detection of one rule for one signal key, step by step, with the engine's own code.

`trace` does what `engine.run` does for a rule (plan, one scan, then `detect_rule`: the matches
frame, the method's instants, the lifecycle, the results), but keeps every intermediate frame,
restricted to the groups of one signal key, so `explain` can show them. The restriction is exact:
windows, cases and `THEN` are computed per group, and the lifecycle per signal key, whose groups
are all kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.core.errors import GroupError, UnsupportedRuleError
from engine.detect.base import DetectContext, Detection, DetectionMethod, PlanContext, method_for
from engine.detect.lifecycle import SignalSpan
from engine.detect.pipeline import detect_rule
from engine.detect.prepare import RulePlan, signal_key_positions
from engine.detect.tables import ReferenceTables
from engine.results.result import JobResult
from engine.rules.models import Rule
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource


@dataclass
class Trace:
    """Every step of a rule's detection for one signal key."""

    plan: RulePlan
    source: LogSource
    group: tuple[str, ...]  # the group asked about (full group key)
    matches: pl.DataFrame  # the matches frame of the signal key's groups
    instants: pl.DataFrame  # per group and instant: aggregates, window start, `_case`
    signals: list[SignalSpan]
    results: list[JobResult]
    method: DetectionMethod | None = None
    detection: Detection | None = None


def trace(
    rule: Rule,
    logs: Any,
    group: Sequence[str],
    *,
    start: int | None = None,
    end: int | None = None,
    index: str = "main",
    tables: ReferenceTables | None = None,
) -> Trace:
    """Run `rule` over `[start, end)` (and its look-back) and keep the steps of the signal key of
    `group`."""
    method = method_for(rule)
    if not method.explainable:
        raise UnsupportedRuleError(
            f"rule {rule.name!r}: explain shows the evaluation instants of a log query; "
            f"{method.explain_instead}"
        )
    source = LogSource.of(logs, index)
    scan_plan = ScanPlan(source.schema)
    planned = method.plan(rule, scan_plan, PlanContext(tables or ReferenceTables()))
    wanted = tuple(group)
    if len(wanted) != planned.arity:
        fields = ", ".join(planned.group_by_paths) or "none"
        raise GroupError(
            f"rule {rule.name!r} groups by {planned.arity} field(s) ({fields}); "
            f"got {len(wanted)} group value(s): {', '.join(wanted) or 'none'}"
        )
    low = None if start is None else start - method.lookback_ms(rule)
    (scanned,) = source.collect_all([scan_plan.apply(source.scan(low, end))], low, end)
    keys = planned.key_columns
    same_key = [pl.col(keys[p]) == wanted[p] for p in signal_key_positions(planned)]

    def keep(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.all_horizontal(same_key)) if same_key else frame

    context = DetectContext(start=start, end=end)
    steps = detect_rule(method, planned, scanned, source, context=context, keep=keep)
    detection = steps.detection
    instants = detection.instants if detection is not None else steps.matches
    return Trace(
        planned,
        source,
        wanted,
        steps.matches,
        instants,
        steps.signals,
        steps.results,
        method,
        detection,
    )


def of_group(trace_: Trace, frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of `frame` (matches or instants) of the traced group only."""
    keys = trace_.plan.key_columns
    if not keys:
        return frame
    return frame.filter(
        pl.all_horizontal([pl.col(k) == v for k, v in zip(keys, trace_.group, strict=True)])
    )
