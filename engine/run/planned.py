"""A rule of a run, planned by its detection method: its rows in the shared scan, and how it is
partitioned."""

from __future__ import annotations

import time
from dataclasses import dataclass

import polars as pl

from engine.core.errors import HindsightError
from engine.detect.base import DetectionMethod, PlanContext, method_for
from engine.detect.prepare import RulePlan, signal_key_positions
from engine.results.outcome import RuleStats
from engine.rules.models import Rule
from engine.scan.plan import TIME, Partition, ScanPlan


@dataclass
class PlannedRule:
    """One rule of the run, planned (`plan` None when it cannot run: `stat.error` says why)."""

    stat: RuleStats
    method: DetectionMethod | None = None
    plan: RulePlan | None = None
    low: int | None = None  # the first instant the rule reads
    buckets: list[str] | None = None  # per query, its partition column (None: read whole)

    @property
    def reads(self) -> tuple[object, ...]:
        """What the rule's rows and matches frame depend on: rules alike share them (only threshold
        rules, the default matches frame of a generic plan, no calculated fields, are alike)."""
        assert self.plan is not None and self.method is not None
        generic = type(self.method).matches is DetectionMethod.matches and self.method.per_group
        if not generic or self.plan.calculated:
            return (id(self),)
        queries = [
            (q.index, q.flag, q.keys, q.distinct, q.metric, q.optional) for q in self.plan.queries
        ]
        kind = type(self.method).__name__
        return (kind, tuple(queries), self.plan.arity, self.low, tuple(self.buckets or ()))

    @property
    def after_others(self) -> bool:
        """Whether the rule's method reads the other rules' results (it runs last)."""
        return self.method is not None and self.method.after_others

    def rows(
        self, scanned: pl.DataFrame, scan_low: int | None, partition: Partition | None = None
    ) -> pl.DataFrame | None:
        """The scanned rows some query of the rule matched, within the rule's own range and
        partition (none for a rule that reads no logs; None: the rule has no rows in this
        partition)."""
        assert self.plan is not None
        flags = [query.flag for query in self.plan.queries if query.flag]
        if partition is not None and self.buckets is not None:
            own = [
                (pl.col(flag) & (pl.col(bucket) == partition.number)).alias(flag)
                for flag, bucket in zip(flags, self.buckets, strict=True)
            ]
            scanned = scanned.with_columns(own)
        elif partition is not None and partition.number > 0:
            return None
        mine = pl.any_horizontal(flags) if flags else pl.lit(False)
        if self.low is not None and scan_low is not None and scan_low < self.low:
            mine = mine & (pl.col(TIME) >= self.low)
        return scanned.filter(mine)

    def partition(self, plan: ScanPlan, count: int) -> None:
        """Read the rule by hash partitions of its signal key when that is exact (a per-group
        method, every query grouped by scalar values), else whole."""
        assert self.plan is not None and self.method is not None
        rule = self.plan
        positions = signal_key_positions(rule)
        exact = (
            self.method.per_group
            and not self.method.after_others
            and positions
            and all(query.flag and len(query.keys) == rule.arity for query in rule.queries)
            and len({query.flag for query in rule.queries}) == len(rule.queries)
            and not any(isinstance(plan.dtype(k), pl.List) for q in rule.queries for k in q.keys)
        )
        if not exact:
            for query in rule.queries:
                plan.keep_whole(query.flag)
            return
        self.buckets = [
            plan.partition_by(query.flag, [query.keys[p] for p in positions], count)
            for query in rule.queries
        ]


def plan_rule(rule: Rule, plan: ScanPlan, low: int | None, context: PlanContext) -> PlannedRule:
    """The rule planned by its detection method, or its error (an unsupported type or method,
    a query that does not compile, a missing reference table)."""
    began = time.perf_counter()
    planned = PlannedRule(RuleStats(rule.name, rule.detection_method))
    try:
        method = method_for(rule)
        planned.plan = method.plan(rule, plan, context)
        planned.method = method
        planned.low = None if low is None else low - method.lookback_ms(rule)
    except HindsightError as exc:
        planned.stat.error = str(exc)
    finally:
        planned.stat.seconds += time.perf_counter() - began
    return planned
