"""The order a run detects its rules in: rules that read other rules' results come after them.

A signal_correlation rule reads the results of the rules it names (`DetectionMethod.reads`), so it
runs after every rule that does not read results (`after_others`), and after the rules of the
run it names; rules that name each other in a cycle cannot run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.detect.base import DetectionMethod
from engine.rules.models import Rule


def rule_ids(rules: Iterable[Rule]) -> frozenset[str]:
    """The ids the rules answer to: their `id` and their `defaultRuleId`."""
    return frozenset(
        name for rule in rules for name in (rule.id, rule.defaultRuleId) if name is not None
    )


def run_order(
    rules: Sequence[Rule], methods: Sequence[DetectionMethod | None]
) -> tuple[list[int], list[int]]:
    """The positions of `rules` in the order to detect them, and those caught in a cycle.

    Rules that read no results keep their order and come first; each reader follows the rules of
    the run it reads (a reader of a reader after it). `methods[i]` is None for a rule that does
    not run (it keeps its place in the first group).
    """
    first = [i for i, method in enumerate(methods) if method is None or not method.after_others]
    readers = [i for i in range(len(rules)) if i not in set(first)]
    needs: dict[int, set[int]] = {}
    for i in readers:
        method = methods[i]
        assert method is not None
        wanted = set(method.reads(rules[i]))
        needs[i] = {j for j in readers if j != i and rule_ids([rules[j]]) & wanted}
    order = list(first)
    placed: set[int] = set()
    while True:
        ready = [i for i in readers if i not in placed and needs[i] <= placed]
        if not ready:
            break
        order += ready
        placed.update(ready)
    return order, [i for i in readers if i not in placed]
