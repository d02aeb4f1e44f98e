"""Lint checks on a rule's options and cases: combinations that are legal but useless.

- `useless-option`: `keepAlive` longer than `maxSignalDuration`; `maxSignalDuration` with
  `keepAlive` 0; `distinctFields` or `metrics` an aggregation ignores; `hasOptionalGroupByFields`
  without group-by; `groupSignalsBy` listing every group-by field; a count condition needing two
  events, or `THEN`, with `evaluationWindow` 0;
- `unreachable-case`: a case after a case without condition, or repeating an earlier condition;
- `unused-query`: a query no case names.
"""

from __future__ import annotations

from engine.core.errors import HindsightError
from engine.rules.conditions import AllOf, AnyOf, Comparison, Condition, Then
from engine.rules.models import Rule
from engine.workflow.lint_query import Finding, Severity

_COUNTS = ("count", "event_count")


def _comparisons(condition: Condition) -> list[Comparison]:
    match condition:
        case Comparison():
            return [condition]
        case AllOf() | AnyOf():
            return [c for item in condition.items for c in _comparisons(item)]
        case Then():
            return _comparisons(condition.first) + _comparisons(condition.second)


def option_findings(rule: Rule) -> list[Finding]:
    """Options and cases that are legal but useless."""
    found: list[Finding] = []
    options = rule.options
    window, keep, longest = options.evaluationWindow, options.keepAlive, options.maxSignalDuration

    def add(severity: Severity, check: str, where: str, message: str) -> None:
        found.append(Finding(severity, check, where, message))

    if longest < keep:
        add(
            "warning",
            "useless-option",
            "options.keepAlive",
            f"keepAlive ({keep} s) is longer than maxSignalDuration ({longest} s): a result "
            f"closes after {longest} s anyway, so keepAlive beyond it has no effect",
        )
    if keep == 0 and longest > 0:
        add(
            "info",
            "useless-option",
            "options.maxSignalDuration",
            "with keepAlive 0 every later match opens a new result: maxSignalDuration has no "
            "effect",
        )
    names = rule.query_names()
    for number, query in enumerate(rule.queries):
        where = f"queries[{number}]"
        if query.distinctFields and query.aggregation != "cardinality":
            add(
                "info",
                "useless-option",
                f"{where}.distinctFields",
                f"distinctFields is ignored by the {query.aggregation} aggregation",
            )
        if query.metric_fields() and query.aggregation in (*_COUNTS, "cardinality"):
            add(
                "info",
                "useless-option",
                f"{where}.metrics",
                f"metrics are ignored by the {query.aggregation} aggregation",
            )
        if query.hasOptionalGroupByFields and not query.groupByFields:
            add(
                "info",
                "useless-option",
                f"{where}.hasOptionalGroupByFields",
                "hasOptionalGroupByFields has no effect without groupByFields",
            )
    group_by = {f for q in rule.queries for f in q.groupByFields}
    if rule.groupSignalsBy and set(rule.groupSignalsBy) == group_by:
        add(
            "info",
            "useless-option",
            "groupSignalsBy",
            "groupSignalsBy lists every group-by field: it has no effect",
        )
    found += _case_findings(rule, names, window)
    return found


def _case_findings(rule: Rule, names: list[str], window: int) -> list[Finding]:
    found: list[Finding] = []
    if rule.detection_method != "threshold":
        return found
    try:
        conditions = rule.case_conditions()
    except HindsightError:
        return found
    used: set[str] = set()
    seen: dict[str, int] = {}
    aggregations = {name: q.aggregation for name, q in zip(names, rule.queries, strict=True)}
    for number, condition in enumerate(conditions):
        where = f"cases[{number}].condition"
        if condition is None:
            if number < len(conditions) - 1:
                found.append(
                    Finding(
                        "warning",
                        "unreachable-case",
                        where,
                        "this case has no condition, so it always matches: the cases after it "
                        "never do",
                    )
                )
            continue
        text = str(condition)
        if text in seen:
            found.append(
                Finding(
                    "warning",
                    "unreachable-case",
                    where,
                    f"the same condition as cases[{seen[text]}], which comes first: this case "
                    "never matches",
                )
            )
        seen.setdefault(text, number)
        for comparison in _comparisons(condition):
            used.add(comparison.name)
            needs_two = (comparison.op == ">" and comparison.value >= 1) or (
                comparison.op in (">=", "==") and comparison.value >= 2
            )
            if window == 0 and needs_two and aggregations.get(comparison.name) in _COUNTS:
                found.append(
                    Finding(
                        "warning",
                        "useless-option",
                        where,
                        f"{comparison} with evaluationWindow 0: the window holds only the events "
                        "of one millisecond",
                    )
                )
        if isinstance(condition, Then) and window == 0:
            found.append(
                Finding(
                    "warning",
                    "useless-option",
                    where,
                    "THEN with evaluationWindow 0: both sides must hold in the same millisecond",
                )
            )
    for name in names:
        if name not in used and len(names) > 1:
            found.append(
                Finding(
                    "info",
                    "unused-query",
                    "cases",
                    f"no case uses query {name}: it only adds its events to the results",
                )
            )
    return found
