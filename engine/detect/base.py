"""The detection method interface, and the registry `detectionMethod` names resolve through.

A `DetectionMethod` is everything one method adds to the engine, in one module of
`engine.detect.methods`:

- its validation: it is a `MethodRules` (`engine.rules.checks`), so it says what its rules need,
  what their cases name and which problems only it reports;
- `lookback_ms`: how far before the job's `from` it must read (a learning period, a baseline);
  the run scans from the earliest instant any rule of the batch needs, and each rule sees only
  its own range;
- `plan`: the filters and columns it registers in the batch's shared `ScanPlan` (by default the
  generic plan of `engine.detect.prepare`: query filters, group-by, distinct and metric values);
- `detect`: from the rule's matches frame to its evaluated instants (`Detection`), which the
  shared lifecycle (`engine.detect.pipeline`) turns into results;
- `attributes`: what a result of the method carries besides the common fields (new values,
  locations...), merged into its histsignal's attributes;
- `after_others`: a method that reads the other rules' results (signal correlation) runs after
  them, and finds them in `DetectContext.results`;
- `per_group`: a method whose detection of a group reads that group's rows only; a large run then
  reads and detects its rules by hash partitions of the signal key (`engine.scan.plan.Partition`).

`register(method)` adds a method (and its validation rules); `method_for(rule)` is the one place
that decides whether a rule can run, with the same messages everywhere.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl

from engine.core.errors import UnsupportedRuleError
from engine.detect.lifecycle import SignalSpan
from engine.detect.prepare import RulePlan, plan_rule
from engine.results.result import JobResult
from engine.rules.checks import MethodRules, register_rules, unregister_rules
from engine.rules.models import Rule
from engine.scan.plan import ScanPlan

#: The rule types the engine runs.
RUNNABLE_TYPES: tuple[str, ...] = ("log_detection",)


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


@dataclass(frozen=True)
class DetectContext:
    """What a method may read besides its own rule: the results of the run's rules so far (all the
    other rules' results for a method that runs `after_others`)."""

    results: Sequence[JobResult] = ()


class DetectionMethod(MethodRules):
    """One detection method (see the module docstring); subclass it in `engine.detect.methods`."""

    #: Whether the method runs after every other rule of the run, reading their results.
    after_others: ClassVar[bool] = False
    #: Whether `detect` reads each group's rows alone (no group sees another's), so a run may
    #: detect over hash partitions of the signal key in turn and find the same results.
    per_group: ClassVar[bool] = False

    def lookback_ms(self, rule: Rule) -> int:
        """How long before the job's `from` the method reads events (0: it does not)."""
        return 0

    def plan(self, rule: Rule, plan: ScanPlan) -> RulePlan:
        """Compile the rule and register what it reads in the batch's shared `plan`."""
        return plan_rule(rule, plan)

    @abstractmethod
    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """The rule's evaluated instants, from its matches frame (`prepare.matches`, not empty)."""

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan
    ) -> dict[str, Any]:
        """What a result of `signal` carries besides the common fields (none by default)."""
        return {}


_METHODS: dict[str, DetectionMethod] = {}
_REPLACED: dict[str, MethodRules | None] = {}


def register(method: DetectionMethod) -> None:
    """Make `method` run the rules of its `detectionMethod` name, with its validation."""
    _METHODS[method.name] = method
    _REPLACED.setdefault(method.name, register_rules(method))


def unregister(name: str) -> None:
    """Forget the method called `name`: its rules no longer run, and are validated as before."""
    _METHODS.pop(name, None)
    replaced = _REPLACED.pop(name, None)
    if replaced is None:
        unregister_rules(name)
    else:
        register_rules(replaced)


def runnable_methods() -> tuple[str, ...]:
    """The `detectionMethod` names the engine runs, sorted."""
    return tuple(sorted(_METHODS))


def method_for(rule: Rule) -> DetectionMethod:
    """The method that runs `rule`; `UnsupportedRuleError` names what the engine cannot run."""
    if rule.type not in RUNNABLE_TYPES:
        raise UnsupportedRuleError(f"unsupported rule type {rule.type}")
    method = _METHODS.get(rule.detection_method)
    if method is None:
        raise UnsupportedRuleError(f"detection method {rule.detection_method} is not supported yet")
    return method
