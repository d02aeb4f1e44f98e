"""`sequence_detection` (SPEC §3.13): what its rules must say. It does not run yet (issue 11).

A sequence's cases name its steps, not its queries; each step is a condition over the queries, and
the step transitions form one chain lasting at most 24 hours in total.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.rules.checks import (
    IDENTIFIER,
    DefinitionCheck,
    MethodRules,
    as_int,
    as_list,
    as_object,
    register_rules,
    strings,
)

MAX_STEPS = 10
MAX_SEQUENCE_SECONDS = 86400
_OPTIONS = "sequenceDetectionOptions"


class SequenceDetection(MethodRules):
    """The checks of a sequence rule (steps, transitions) and its cases' step names."""

    name = "sequence_detection"

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


register_rules(SequenceDetection())
