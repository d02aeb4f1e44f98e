"""A rule of a run, planned by its detection method: its rows in the shared scan, and how it is
partitioned; and a run's rules planned together (`plan_job`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from engine.core.errors import HindsightError, UnsupportedRuleError
from engine.detect.base import DetectionMethod, PlanContext, method_for
from engine.detect.order import rule_ids
from engine.detect.prepare import NOT_AVAILABLE, RulePlan
from engine.detect.tables import ReferenceTables
from engine.query.coding import collecting
from engine.results.outcome import RuleStats
from engine.rules.models import Rule
from engine.run.first_time import first_times
from engine.run.job import Job
from engine.scan.plan import TIME, Partition, ScanPlan


@dataclass
class PlannedRule:
    """One rule of the run, planned (`plan` None when it cannot run: `stat.error` says why)."""

    stat: RuleStats
    method: DetectionMethod | None = None
    plan: RulePlan | None = None
    low: int | None = None  # the first instant the rule reads
    buckets: list[str] | None = None  # per query, its partition column (None: read whole)
    #: The earliest time of the rule's rows over every partition, when the rule is partitioned
    #: and its method reads it (`engine.run.first_time`); else it is taken from its rows.
    first_time: int | None = None

    @property
    def reads(self) -> tuple[object, ...]:
        """What the rule's rows and matches frame depend on: rules alike share them (the default
        matches frame of a plan without calculated fields, the same queries and carried values,
        range and partition columns)."""
        assert self.plan is not None and self.method is not None
        generic = type(self.method).matches is DetectionMethod.matches
        if not generic or self.plan.calculated:
            return (id(self),)
        queries = [
            (q.index, q.flag, q.keys, q.distinct, q.metric, q.optional, q.carry)
            for q in self.plan.queries
        ]
        return (tuple(queries), self.plan.arity, self.low, tuple(self.buckets or ()))

    @property
    def flags(self) -> list[str]:
        """The plan filters of the rule's queries."""
        assert self.plan is not None
        return [query.flag for query in self.plan.queries if query.flag]

    @property
    def reads_first_time(self) -> bool:
        """Whether the rule is read by partitions and its method reads its first time over all
        of them (`engine.run.first_time`)."""
        return self.buckets is not None and self.method is not None and self.method.reads_first_time

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
        flags = self.flags
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
        method, its queries' filters distinct, each holding its signal key's scalar values:
        `DetectionMethod.partition_keys`), else whole. A missing value hashes as the `N/A` an
        optional group-by field makes of it, so both land in the group's partition."""
        assert self.plan is not None and self.method is not None
        rule = self.plan
        keys = None if self.method.after_others else self.method.partition_keys(rule)
        exact = (
            keys is not None
            and all(query.flag for query in rule.queries)
            and len({query.flag for query in rule.queries}) == len(rule.queries)
            and not any(isinstance(plan.dtype(k), pl.List) for own in keys for k in own)
        )
        if keys is None or not exact:
            for query in rule.queries:
                plan.keep_whole(query.flag)
            return
        self.buckets = [
            plan.partition_by(query.flag, own, count, missing=NOT_AVAILABLE)
            for query, own in zip(rule.queries, keys, strict=True)
        ]


@dataclass
class PlannedJob:
    """A run's rules planned in one shared `plan`, read from `scan_low` in `count` partitions."""

    plan: ScanPlan
    rules: list[PlannedRule]
    scan_low: int | None
    count: int


def plan_job(job: Job, partitions: Callable[[int | None], int]) -> PlannedJob:
    """Plan every rule of `job` (`UnsupportedRuleError` for the first that cannot run, when
    `strict`), partition those that can be (`partitions(scan_low)`: in how many), and give each
    partitioned rule whose method reads its first time that time over every partition (the
    job's, or the pre-pass's: `engine.run.first_time`)."""
    source, low = job.source, job.low
    plan = ScanPlan(source.schema)
    context = PlanContext(
        ReferenceTables.of(job.tables),
        rule_ids(job.rules) | {result.rule_id for result in job.results if result.rule_id},
    )
    planned: list[PlannedRule] = []
    with collecting(plan.leaves):  # the rules' text predicates, dictionary-coded where it pays
        for rule in job.rules:
            planned.append(plan_rule(rule, plan, low, context))
            if job.strict and planned[-1].stat.error is not None:
                error = planned[-1].stat.error
                raise UnsupportedRuleError(f"rule {rule.name!r} cannot run: {error}")
    lows = [item.low for item in planned if item.low is not None]
    scan_low = None if low is None else min([low, *lows])
    count = 1 if job.keep_matches else partitions(scan_low)
    for item in planned:
        if count > 1 and item.plan is not None:
            item.partition(plan, count)
    if job.first_times is not None:
        wanted, times = planned, job.first_times
    else:
        wanted = [item for item in planned if item.reads_first_time]
        reads = [(item.flags, item.low) for item in wanted]
        times = first_times(reads, source, plan, scan_low, job.high)
    for item, first in zip(wanted, times, strict=True):
        item.first_time = first
    return PlannedJob(plan, planned, scan_low, count)


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
