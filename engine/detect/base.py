"""The detection method interface, and the registry `detectionMethod` names resolve through.

A `DetectionMethod` is everything one method adds to the engine, in one module of
`engine.detect.methods`:

- its validation: it is a `MethodRules` (`engine.rules.checks`), so it says what its rules need,
  what their cases name and which problems only it reports;
- `lookback_ms`: how far before the job's `from` it must read (a learning period, a baseline);
  the run scans from the earliest instant any rule of the batch needs, and each rule sees only
  its own range (the instants before `from` only feed the method's state);
- `plan`: the filters and columns it registers in the batch's shared `ScanPlan` (by default the
  generic plan of `engine.detect.prepare`: query filters, reference tables, calculated fields,
  group-by, distinct and metric values), given the run's `PlanContext`;
- `matches`: the rule's matches frame from its scanned rows (by default `prepare.matches`);
- `detect`: from the rule's matches frame to its evaluated instants (`Detection`), which the
  shared lifecycle (`engine.detect.pipeline`) turns into results;
- `lifecycle_ms`: the keepAlive and maxSignalDuration its signals live by (the rule's options);
- `attributes`: what a result of the method carries besides the common fields (new values,
  locations...), merged into its histsignal's attributes and its message's variables;
- `samples`: where a result's samples are read (the logs; the correlated results for
  signal correlation);
- `after_others` / `reads`: a method that reads the other rules' results (signal correlation)
  runs after them, after the rules it `reads`, and finds their results in `DetectContext.results`;
- `rule_type`: the rule type it runs (`log_detection` by `detectionMethod`, or another type);
- `per_group`: whether a large run may read and detect the method's rules by hash partitions of
  the signal key (`engine.scan.plan.Partition`): every method whose detection of a group reads
  that group's rows alone; `partition_keys` says which plan columns decide a row's signal key;
- `reads_first_time`: whether `detect` reads `DetectContext.first_time` (a learning period global
  to the job), which a partitioned run then finds over all partitions before detecting.

A method is a pure function of each group's whole ordered rows, given the run-wide facts of
`DetectContext` (the job range, the rule's earliest event): the answer does not depend on how the
scan was sliced or partitioned by group key.

`register(method)` adds a method (and its validation rules); `method_for(rule)` is the one place
that decides whether a rule can run, with the same messages everywhere.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import polars as pl

from engine.core.errors import UnsupportedRuleError
from engine.detect.lifecycle import Key, SignalSpan
from engine.detect.prepare import RulePlan, matches, plan_rule, signal_key_positions
from engine.detect.tables import ReferenceTables
from engine.results.result import JobResult
from engine.rules.checks import MethodRules, register_rules, unregister_rules
from engine.rules.models import Rule
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource

#: The rule type whose rules run by their `detectionMethod`.
LOG_DETECTION = "log_detection"


@dataclass(frozen=True)
class Detection:
    """What a method found for one rule: its evaluated instants.

    `instants` has one row per (group, instant): the group key columns (`RulePlan.key_columns`),
    `_t` (epoch ms), `_case` (index of the matched case, null when none; `instants.CASE`) and
    `_first` (the earliest event time in the instant's window; `instants.WINDOW_START`), plus the
    method's own values. `values` names, per query index, the column holding the query's value
    (a result reports it at the signal's last instant, `aggregationDetails.value`).
    """

    instants: pl.DataFrame
    values: Mapping[int, str] = field(default_factory=dict)
    #: What the method found at a matched instant, by (group key, time): the new values, the two
    #: locations... (`attributes` and `describe` read it).
    notes: Mapping[tuple[Key, int], Any] = field(default_factory=dict)
    #: The column holding what each case identifier (a query or step name) is at an instant,
    #: when it is not the query's value column (`explain` shows it).
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanContext:
    """What planning a rule may read besides the rule: the reference tables the run was given,
    and the ids of the rules whose results a correlation may read (the run's other rules, and
    the earlier results it was given)."""

    tables: ReferenceTables = field(default_factory=ReferenceTables)
    rule_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DetectContext:
    """What a method may read besides its own rule's rows: run-wide facts.

    `results`: the results of the run's rules so far (all the other rules' results for a method
    that runs `after_others`, plus the earlier results the run was given); `start`/`end`: the
    job's range (None: open); `first_time`: the earliest time of the rule's rows over ALL its
    groups (the look-back included). A partitioned execution passes the same values to every
    partition, so a method's answer does not depend on the partitioning.
    """

    results: Sequence[JobResult] = ()
    start: int | None = None
    end: int | None = None
    first_time: int | None = None

    def learning_end(self, duration_ms: int) -> int | None:
        """The end of a learning period of `duration_ms` that is global to the job (SPEC §3.10):
        `start` when the rule read events before it (its baseline was built from them), else
        `duration_ms` after the job's start or the rule's first event, whichever is later.
        None when the rule has no rows."""
        first = self.first_time
        if first is None:
            return None
        if self.start is not None and first < self.start:
            return self.start
        begin = first if self.start is None else max(self.start, first)
        return begin + duration_ms


class SampleSource(Protocol):
    """Where a result's samples are read: full logs (or records) by id within `[start, end)`."""

    def logs_by_id(
        self, ids: Sequence[str], start: int | None = None, end: int | None = None
    ) -> dict[str, dict[str, Any]]:
        """The records of `ids`, keyed by id."""
        ...


class DetectionMethod(MethodRules):
    """One detection method (see the module docstring); subclass it in `engine.detect.methods`."""

    #: Whether the method runs after every other rule of the run, reading their results.
    after_others: ClassVar[bool] = False
    #: Whether `detect` reads each group's rows alone (no group sees another's), so a run may
    #: detect over hash partitions of the signal key in turn and find the same results.
    per_group: ClassVar[bool] = False
    #: Whether `detect` reads `DetectContext.first_time` (a partitioned run computes it over
    #: every partition first: `engine.run.first_time`).
    reads_first_time: ClassVar[bool] = False
    #: The rule type the method runs (`log_detection`: the rules whose `detectionMethod` it is).
    rule_type: ClassVar[str] = LOG_DETECTION
    #: Whether `explain` can show its evaluation instants for one group; else what to do instead.
    explainable: ClassVar[bool] = True
    explain_instead: ClassVar[str] = ""

    def lookback_ms(self, rule: Rule) -> int:
        """How long before the job's `from` the method reads events (0: it does not)."""
        return 0

    def reads(self, rule: Rule) -> tuple[str, ...]:
        """The ids of the rules whose results `rule` reads (it runs after them)."""
        return ()

    def plan(self, rule: Rule, plan: ScanPlan, context: PlanContext) -> RulePlan:
        """Compile the rule and register what it reads in the batch's shared `plan`."""
        return plan_rule(rule, plan, context.tables)

    def partition_keys(self, rule: RulePlan) -> list[tuple[str, ...]] | None:
        """Per query, the plan columns whose values decide the signal key of its rows (hashing
        them partitions the rule exactly), or None when the rule cannot be split: not
        `per_group`, or a query without the whole signal key (an ungrouped query counts for
        every group)."""
        positions = signal_key_positions(rule)
        if not self.per_group or not positions:
            return None
        if any(len(query.keys) != rule.arity for query in rule.queries):
            return None
        return [tuple(query.keys[p] for p in positions) for query in rule.queries]

    def matches(self, rule: RulePlan, rows: pl.DataFrame, context: DetectContext) -> pl.DataFrame:
        """The rule's matches frame from its scanned rows (`prepare.matches`)."""
        return matches(rule, rows)

    @abstractmethod
    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """The rule's evaluated instants, from its matches frame (`prepare.matches`, not empty)."""

    def lifecycle_ms(self, rule: RulePlan) -> tuple[int, int]:
        """The keepAlive and maxSignalDuration (ms) of the rule's signals."""
        options = rule.rule.options
        return options.keepAlive * 1000, options.maxSignalDuration * 1000

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan, events: Sequence[str]
    ) -> dict[str, Any]:
        """What a result of `signal` (holding the `events` ids) carries besides the common fields
        (none by default)."""
        return {}

    def describe(self, note: Any) -> str:
        """One line saying what the method found at a matched instant (its `notes` entry)."""
        return ""

    def samples(self, source: LogSource, context: DetectContext) -> SampleSource:
        """Where the samples of the rule's results are read (the scanned logs)."""
        return source


_METHODS: dict[str, DetectionMethod] = {}
_TYPES: dict[str, DetectionMethod] = {}
_REPLACED: dict[str, MethodRules | None] = {}


def register(method: DetectionMethod) -> None:
    """Make `method` run the rules of its `detectionMethod` name (or of its `rule_type`, for a
    type other than log_detection), with its validation."""
    if method.rule_type != LOG_DETECTION:
        _TYPES[method.rule_type] = method
        return
    _METHODS[method.name] = method
    _REPLACED.setdefault(method.name, register_rules(method))


def unregister(name: str) -> None:
    """Forget the method called `name`: its rules no longer run, and are validated as before."""
    _METHODS.pop(name, None)
    for rule_type, method in list(_TYPES.items()):
        if method.name == name:
            del _TYPES[rule_type]
    replaced = _REPLACED.pop(name, None)
    if replaced is None:
        unregister_rules(name)
    else:
        register_rules(replaced)


def runnable_methods() -> tuple[str, ...]:
    """The `detectionMethod` names the engine runs, sorted."""
    return tuple(sorted(_METHODS))


def runnable_types() -> tuple[str, ...]:
    """The rule types the engine runs."""
    return (LOG_DETECTION, *sorted(_TYPES))


def method_for(rule: Rule) -> DetectionMethod:
    """The method that runs `rule`; `UnsupportedRuleError` names the rule and what the engine
    cannot run."""
    if rule.type != LOG_DETECTION:
        typed = _TYPES.get(rule.type)
        if typed is None:
            raise UnsupportedRuleError(f"rule {rule.name!r}: unsupported rule type {rule.type!r}")
        return typed
    method = _METHODS.get(rule.detection_method)
    if method is None:
        raise UnsupportedRuleError(
            f"rule {rule.name!r}: unsupported detection method {rule.detection_method!r}"
        )
    return method
