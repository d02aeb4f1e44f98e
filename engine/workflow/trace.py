"""The detection of one rule for one signal key, step by step, with the engine's own code.

`trace` does what `engine.run` does for a rule (plan, one scan, matches frame, sliding-window
instants, case choice, lifecycle, results: the same functions, in the same order), but keeps every
intermediate frame, restricted to the groups of one signal key, so `explain` can show them. The
restriction is exact: windows, cases and `THEN` are computed per group, and the lifecycle per
signal key, whose groups are all kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.core.errors import GroupError, UnsupportedRuleError
from engine.detect.assemble import build_results
from engine.detect.lifecycle import SignalSpan, form_signals
from engine.detect.prepare import RulePlan, matches, plan_rule
from engine.detect.threshold import instants, matched_cases, matched_instants, signal_key_positions
from engine.jobs.plan import ScanPlan
from engine.jobs.result import JobResult
from engine.jobs.run import SUPPORTED_METHODS, SUPPORTED_TYPES
from engine.jobs.source import LogSource
from engine.rules.models import Rule


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


def trace(
    rule: Rule,
    logs: Any,
    group: Sequence[str],
    *,
    start: int | None = None,
    end: int | None = None,
    index: str = "main",
) -> Trace:
    """Run `rule` over `[start, end)` and keep the steps of the signal key of `group`."""
    if rule.type not in SUPPORTED_TYPES:
        raise UnsupportedRuleError(f"unsupported rule type {rule.type}")
    if rule.detection_method not in SUPPORTED_METHODS:
        raise UnsupportedRuleError(f"detection method {rule.detection_method} is not supported yet")
    source = LogSource.of(logs, index)
    scan_plan = ScanPlan(source.schema)
    planned = plan_rule(rule, scan_plan)
    wanted = tuple(group)
    if len(wanted) != planned.arity:
        fields = ", ".join(planned.group_by_paths) or "none"
        raise GroupError(
            f"rule {rule.name!r} groups by {planned.arity} field(s) ({fields}); "
            f"got {len(wanted)} group value(s): {', '.join(wanted) or 'none'}"
        )
    (scanned,) = source.collect_all([scan_plan.apply(source.scan(start, end))], start, end)
    frame = matches(planned, scanned)
    keys = planned.key_columns
    positions = signal_key_positions(planned)
    same_key = [pl.col(keys[p]) == wanted[p] for p in positions]
    if same_key:
        frame = frame.filter(pl.all_horizontal(same_key))
    evaluated = matched_cases(planned, instants(planned, frame)) if frame.height else frame
    options = rule.options
    signals = (
        form_signals(
            matched_instants(planned, evaluated, frame),
            keep_alive_ms=options.keepAlive * 1000,
            max_duration_ms=options.maxSignalDuration * 1000,
        )
        if frame.height
        else []
    )
    results = build_results(planned, frame, evaluated, signals, source) if signals else []
    return Trace(planned, source, wanted, frame, evaluated, signals, results)


def of_group(trace_: Trace, frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of `frame` (matches or instants) of the traced group only."""
    keys = trace_.plan.key_columns
    if not keys:
        return frame
    return frame.filter(
        pl.all_horizontal([pl.col(k) == v for k, v in zip(keys, trace_.group, strict=True)])
    )
