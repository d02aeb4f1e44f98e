"""`sequence_detection` (SPEC §3.13): steps that happen in order, per group, within their waits.

A sequence's cases name its steps, not its queries; each step is a condition over the queries, and
the step transitions form one chain lasting at most 24 hours in total.

Evaluation, per group:

- a step is *satisfied* at an instant `t` when its condition holds over the queries' aggregates
  in its own sliding window `(t - W_step, t]` (threshold semantics, `THEN` included);
- the chain starts at every instant the first step is satisfied; a later step is *reached* at an
  instant `t` where it is satisfied when its parent step was reached at some `t'` with
  `t' < t <= t' + W_transition` (the transition's maximum wait, inclusive; 24 h when the rule
  gives no transition for the pair). The steps are ordered by the transitions (else as listed);
- in a case condition a step name is 1 at the instants the chain reaches that step, else 0, so
  `step_b > 0` holds when the chain reaches `step_b`; that instant goes to the signal lifecycle,
  with first_seen = the first event of the first step's window, of the latest chain reaching it.

A result carries `sequence.steps`: each step's name and the time the chain reached it. The
previous step is found with an as-of join per group, never a loop over rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from engine.core.times import format_timestamp
from engine.detect.base import DetectContext, Detection, DetectionMethod, register
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.lifecycle import SignalSpan
from engine.detect.methods.threshold import aggregate_column, instants
from engine.detect.prepare import RulePlan, window_period
from engine.rules.checks import (
    IDENTIFIER,
    DefinitionCheck,
    as_int,
    as_list,
    as_object,
    strings,
)
from engine.rules.conditions import Condition, condition_expr
from engine.rules.options import SequenceStep
from engine.scan.plan import TIME

MAX_STEPS = 10
MAX_SEQUENCE_SECONDS = 86400
_OPTIONS = "sequenceDetectionOptions"


def step_column(position: int) -> str:
    """The instants frame's column saying whether the chain reached step `position` (0/1)."""
    return f"_step{position}"


class SequenceDetection(DetectionMethod):
    """Sequence rules: their checks (steps, transitions, the cases' step names) and detection."""

    name = "sequence_detection"
    per_group = True  # a chain links the steps of one group

    def case_names(self, options: Mapping[str, Any], queries: list[str]) -> tuple[list[str], str]:
        """Cases name the steps."""
        steps = as_list(as_object(options.get(_OPTIONS)).get("steps"))
        return strings([as_object(step).get("name") for step in steps]), "step"

    def check(self, check: DefinitionCheck) -> None:
        """Steps: 1 to 10 distinct names with conditions; transitions: one chain within 24 h."""
        options = as_object(check.options.get(_OPTIONS))
        at = f"options.{_OPTIONS}"
        steps = as_list(options.get("steps"))
        if not steps:
            check.add(f"{at}.steps", "a sequence_detection rule needs at least one step")
        if len(steps) > MAX_STEPS:
            check.add(f"{at}.steps", f"at most {MAX_STEPS} steps are allowed (got {len(steps)})")
        names: list[str] = []
        for i, step in enumerate(steps):
            if not isinstance(step, Mapping):
                continue
            name, text = step.get("name"), step.get("condition", "")
            if isinstance(name, str):
                if not IDENTIFIER.match(name) or name in names:
                    check.add(f"{at}.steps[{i}].name", f"must be a distinct identifier ({name!r})")
                names.append(name)
            if isinstance(text, str) and not text.strip():
                check.add(f"{at}.steps[{i}].condition", "a step needs a condition")
            check.condition(f"{at}.steps[{i}].condition", text, check.names, "query")
        self.transitions(check, as_list(options.get("stepTransitions")), names, at)
        super().check(check)

    @staticmethod
    def transitions(check: DefinitionCheck, items: list[Any], names: list[str], at: str) -> None:
        """Transitions name known steps, chain them one parent to one child, last <= 24 h."""
        children: dict[str, str] = {}
        parents: dict[str, str] = {}
        total = 0
        for i, item in enumerate(items):
            transition = as_object(item)
            parent, child = transition.get("parent"), transition.get("child")
            total += as_int(transition.get("evaluationWindow")) or 0
            for key, value in (("parent", parent), ("child", child)):
                if isinstance(value, str) and value not in names:
                    check.unknown(f"{at}.stepTransitions[{i}].{key}", "step", value, names)
            if isinstance(parent, str) and isinstance(child, str):
                if parent in children or child in parents or parent == child:
                    message = "steps must form one chain (one parent and one child per step)"
                    check.add(f"{at}.stepTransitions[{i}]", message)
                children[parent], parents[child] = child, parent
        if total > MAX_SEQUENCE_SECONDS:
            message = f"the transitions may last at most 86400 s in total (got {total})"
            check.add(f"{at}.stepTransitions", message)

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """The chain's steps reached per (group, instant), then the first case that holds."""
        keys = rule.key_columns
        steps = ordered_steps(rule)
        every = matches.select(*keys, TIME).unique().sort([*keys, TIME])
        reached = _reached(rule, matches, steps)
        frame = every
        for position, chain in enumerate(reached):
            marks = chain.select(*keys, TIME, pl.lit(1.0).alias(step_column(position)))
            frame = frame.join(marks, on=[*keys, TIME], how="left")
        frame = frame.with_columns(pl.col(step_column(p)).fill_null(0.0) for p in range(len(steps)))
        columns = {step.name: pl.col(step_column(p)) for p, step in enumerate(steps)}
        choice: pl.Expr = pl.lit(None, dtype=pl.Int32)
        conditions = rule.rule.case_conditions()
        for index in reversed(range(len(conditions))):
            condition = conditions[index]
            holds = (
                pl.any_horizontal([column > 0 for column in columns.values()])
                if condition is None
                else condition_expr(condition, lambda name: columns[name])
            )
            choice = pl.when(holds).then(pl.lit(index, dtype=pl.Int32)).otherwise(choice)
        deepest = pl.lit(None, dtype=pl.Int64)
        for position in range(len(steps)):
            deepest = pl.when(pl.col(step_column(position)) > 0).then(position).otherwise(deepest)
        frame = frame.with_columns(choice.alias(CASE), deepest.alias("_deepest"))
        chains = pl.concat(
            [
                chain.select(
                    *keys, TIME, pl.lit(p, dtype=pl.Int64).alias("_deepest"), "_start", "_at"
                )
                for p, chain in enumerate(reached)
            ]
        )
        frame = frame.join(chains, on=[*keys, TIME, "_deepest"], how="left").with_columns(
            pl.coalesce(pl.col("_start"), pl.col(TIME)).alias(WINDOW_START)
        )
        notes = {
            (tuple(row[: len(keys)]), row[len(keys)]): [
                {"name": step.name, "timestamp": format_timestamp(at)}
                for step, at in zip(steps, row[len(keys) + 1], strict=False)
            ]
            for row in frame.filter(pl.col(CASE).is_not_null())
            .select(*keys, TIME, "_at")
            .iter_rows()
        }
        names = {step.name: step_column(p) for p, step in enumerate(steps)}
        return Detection(frame.drop("_start", "_at", "_deepest"), {}, notes, names)

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan, events: Sequence[str]
    ) -> dict[str, Any]:
        """`sequence.steps`: the steps of the chain that opened the signal, with their times."""
        opening = signal.opening
        return {"sequence": {"steps": detection.notes[(opening.group, opening.time)]}}

    def describe(self, note: Any) -> str:
        """When the chain reached each step."""
        return " -> ".join(f"{step['name']} {step['timestamp']}" for step in note)


def ordered_steps(rule: RulePlan) -> list[SequenceStep]:
    """The rule's steps in chain order: from the step no transition leads to, child by child."""
    options = rule.rule.options.sequenceDetectionOptions
    if options is None:
        return []
    steps = {step.name: step for step in options.steps}
    children = {t.parent: t.child for t in options.stepTransitions}
    heads = [
        s.name for s in options.steps if s.name not in {t.child for t in options.stepTransitions}
    ]
    if not options.stepTransitions or len(heads) != 1:
        return list(options.steps)
    order = [heads[0]]
    while order[-1] in children and children[order[-1]] not in order:
        order.append(children[order[-1]])
    rest = [step for step in options.steps if step.name not in order]
    return [steps[name] for name in order] + rest


def _wait_ms(rule: RulePlan, parent: str, child: str) -> int:
    options = rule.rule.options.sequenceDetectionOptions
    for transition in options.stepTransitions if options else []:
        if (transition.parent, transition.child) == (parent, child):
            return transition.evaluationWindow * 1000
    return MAX_SEQUENCE_SECONDS * 1000


def _satisfied(
    rule: RulePlan, matches: pl.DataFrame, step: SequenceStep, condition: Condition | None
) -> pl.DataFrame:
    """The (group, instant, `_first`) at which `step`'s condition holds in its own window."""
    keys = rule.key_columns
    frame = instants(rule, matches, step.evaluationWindow)
    if condition is None:
        return frame.select(*keys, TIME, WINDOW_START)
    columns = {query.name: pl.col(aggregate_column(query)) for query in rule.queries}
    period = window_period(step.evaluationWindow)

    def recent(flag: pl.Expr) -> pl.Expr:
        held = flag.cast(pl.Int8).rolling_max_by(TIME, window_size=period, closed="right")
        return (held.over(keys) if keys else held) > 0

    holds = condition_expr(condition, lambda name: columns[name], recent)
    return frame.filter(holds).select(*keys, TIME, WINDOW_START)


def _reached(
    rule: RulePlan, matches: pl.DataFrame, steps: list[SequenceStep]
) -> list[pl.DataFrame]:
    """Per step, the (group, instant) the chain reaches it, with the chain's `_start` and the
    times `_at` (a list) it reached each step so far."""
    keys = rule.key_columns
    options = rule.rule.options.sequenceDetectionOptions
    names = [step.name for step in options.steps] if options else []
    conditions = dict(zip(names, rule.rule.step_conditions(), strict=True))
    reached: list[pl.DataFrame] = []
    for position, step in enumerate(steps):
        satisfied = _satisfied(rule, matches, step, conditions[step.name]).sort(TIME)
        if position == 0:
            chain = satisfied.select(
                *keys,
                TIME,
                pl.col(WINDOW_START).alias("_start"),
                pl.concat_list(pl.col(TIME)).alias("_at"),
            )
        else:
            parent = reached[-1].rename({TIME: "_parent"}).sort("_parent")
            wait = _wait_ms(rule, steps[position - 1].name, step.name)
            chain = (
                satisfied.join_asof(
                    parent,
                    left_on=TIME,
                    right_on="_parent",
                    by=keys or None,
                    strategy="backward",
                    allow_exact_matches=False,
                    check_sortedness=False,
                )
                .filter(pl.col("_parent").is_not_null(), pl.col(TIME) - pl.col("_parent") <= wait)
                .select(*keys, TIME, "_start", pl.concat_list("_at", pl.col(TIME)).alias("_at"))
            )
        reached.append(chain.sort([*keys, TIME]))
    return reached


register(SequenceDetection())
