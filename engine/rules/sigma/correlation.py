"""Sigma correlation rules -> Datadog rules over the queries of the rules they correlate.

The correlation's `group-by` fields (and its `aliases`, one field per rule) go through the same
pipeline as the rules, then:

- `event_count` -> a threshold rule: one `count` query, the OR of the rules' searches, grouped by
  the group-by fields, case `a <op> N`;
- `value_count` -> the same with a `cardinality` query over the condition's `field`;
- `temporal` -> a threshold rule with one query per rule (named after it), each grouped by its
  group-by fields, case `q1 > 0 && q2 > 0 ...` (at least N of them when the condition asks for
  fewer than all: the OR of every N-rule combination). Over the sliding window this is exactly
  "all (N) rules matched within the timespan for one group";
- `temporal_ordered` -> a `sequence_detection` rule: one step per rule in order (each step
  satisfied by a log of its rule, `evaluationWindow` 0), each step within the timespan of the
  previous one. THEN (`q1 > 0 THEN q2 > 0`) is not used: it compares window counts, so a log of
  the second rule *before* one of the first can satisfy it; a sequence needs each step strictly
  after the previous one, for the same group.

The window is the timespan when it is one of Datadog's evaluation windows (`WINDOW_SECONDS`),
else the next longer one (a note says so); a timespan over one day is refused. A result stays
open while the case keeps matching within the window (`keepAlive` = window), for at most a day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import combinations, pairwise
from typing import Any

from sigma.conversion.base import Backend
from sigma.correlations import (
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from engine.rules.options import WINDOW_SECONDS
from engine.rules.sigma import metadata
from engine.rules.sigma.backend import UnsupportedSigmaError

__all__ = ["correlation_rule"]

OPERATORS: dict[SigmaCorrelationConditionOperator, str] = {
    SigmaCorrelationConditionOperator.LT: "<",
    SigmaCorrelationConditionOperator.LTE: "<=",
    SigmaCorrelationConditionOperator.GT: ">",
    SigmaCorrelationConditionOperator.GTE: ">=",
    SigmaCorrelationConditionOperator.EQ: "==",
}
MAX_SIGNAL_SECONDS = 86400
_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_]+")


def correlation_rule(
    rule: SigmaCorrelationRule,
    queries: Mapping[int, str],
    backend: Backend,
    pipeline: ProcessingPipeline,
) -> tuple[dict[str, Any], list[str]]:
    """The Datadog rule of a correlation and its notes; `queries` maps `id(rule)` of each
    correlated rule to its Datadog search. Raises `UnsupportedSigmaError`."""
    # the user's pipelines then the attribute names; the backend's own items read detections
    whole = pipeline + backend.output_format_processing_pipeline[backend.default_format]
    whole.apply(rule)
    window, notes = _window(rule)
    members = [reference.rule for reference in rule.rules]
    assert all(isinstance(member, SigmaRule) for member in members)
    searches = [queries[id(member)] for member in members]
    groups = [_group_by(rule, member) for member in members]
    condition = rule.condition
    assert condition is not None  # pySigma sets the temporal default (all rules)
    options: dict[str, Any] = {
        "detectionMethod": "threshold",
        "evaluationWindow": window,
        "keepAlive": window,
        "maxSignalDuration": MAX_SIGNAL_SECONDS,
    }
    match rule.type:
        case SigmaCorrelationType.EVENT_COUNT | SigmaCorrelationType.VALUE_COUNT:
            query = _counted(rule, searches, groups)
            cases = [f"a {OPERATORS[condition.op]} {condition.count}"]
            queries_out = [query]
        case SigmaCorrelationType.TEMPORAL:
            names = _names(members)
            queries_out = _per_rule(names, searches, groups)
            cases = [_at_least(names, _required(rule, len(names)))]
        case SigmaCorrelationType.TEMPORAL_ORDERED:
            names = _names(members)
            if _required(rule, len(names)) != len(names):
                raise UnsupportedSigmaError(
                    "an ordered temporal correlation of only some of its rules cannot be "
                    "expressed as a Datadog sequence"
                )
            queries_out = _per_rule(names, searches, groups)
            steps = [f"step_{name}" for name in names]
            options = {
                "detectionMethod": "sequence_detection",
                "evaluationWindow": 0,
                "keepAlive": window,
                "maxSignalDuration": MAX_SIGNAL_SECONDS,
                "sequenceDetectionOptions": {
                    "steps": [
                        {"name": step, "condition": f"{name} > 0", "evaluationWindow": 0}
                        for step, name in zip(steps, names, strict=True)
                    ],
                    "stepTransitions": [
                        {"parent": parent, "child": child, "evaluationWindow": window}
                        for parent, child in pairwise(steps)
                    ],
                },
            }
            cases = [f"{steps[-1]} > 0"]
            notes.append(
                "runs as a sequence_detection rule: each rule must match after the previous one, "
                "within the timespan of it, for the same group"
            )
        case _:
            raise UnsupportedSigmaError(f"unknown correlation type {rule.type}")
    converted = {
        "name": rule.title,
        "type": "log_detection",
        "isEnabled": True,
        "queries": queries_out,
        "cases": [
            {"name": "", "status": metadata.severity(rule.level), "condition": case}
            for case in cases
        ],
        "options": options,
        "message": metadata.message(rule),
        "tags": metadata.tags(rule),
        **metadata.identity(rule),
    }
    return converted, notes


def _window(rule: SigmaCorrelationRule) -> tuple[int, list[str]]:
    """The evaluation window for the timespan, and a note when it had to be longer."""
    seconds = rule.timespan.seconds
    fitting = [window for window in WINDOW_SECONDS if window >= seconds]
    if not fitting:
        raise UnsupportedSigmaError(
            f"timespan {rule.timespan.spec} is longer than Datadog's longest evaluation "
            f"window ({WINDOW_SECONDS[-1]} s)"
        )
    if fitting[0] == seconds:
        return seconds, []
    note = (
        f"timespan {rule.timespan.spec} ({seconds} s) is not a Datadog evaluation window: "
        f"{fitting[0]} s is used, so the logs of one result may be up to that far apart"
    )
    return fitting[0], [note]


def _group_by(rule: SigmaCorrelationRule, member: SigmaRule) -> list[str]:
    """The group-by fields for one correlated rule: an alias resolves to that rule's field."""
    aliases = {alias.alias: alias for alias in rule.aliases}
    fields: list[str] = []
    for name in rule.group_by or []:
        alias = aliases.get(name)
        if alias is None:
            fields.append(name)
            continue
        mapped = [field for ref, field in alias.mapping.items() if ref.rule is member]
        if not mapped:
            raise UnsupportedSigmaError(
                f"alias {name!r} names no field for the rule {member.title!r}"
            )
        fields.append(mapped[0])
    return fields


def _counted(
    rule: SigmaCorrelationRule, searches: list[str], groups: list[list[str]]
) -> dict[str, Any]:
    """The one query of an event or value count: the OR of the rules' searches."""
    if any(group != groups[0] for group in groups):
        raise UnsupportedSigmaError(
            "a count over rules grouped by different fields (aliases) cannot be one Datadog "
            "query: the counts of several queries cannot be added in a case condition"
        )
    search = searches[0] if len(searches) == 1 else " OR ".join(f"({s})" for s in searches)
    query: dict[str, Any] = {
        "query": search,
        "aggregation": "count",
        "groupByFields": groups[0],
        "distinctFields": [],
        "name": "",
    }
    if rule.type == SigmaCorrelationType.VALUE_COUNT:
        assert rule.condition is not None
        if not rule.condition.fieldref:
            raise UnsupportedSigmaError("a value_count correlation needs the condition's field")
        query["aggregation"] = "cardinality"
        query["distinctFields"] = [rule.condition.fieldref]
    return query


def _per_rule(names: list[str], searches: list[str], groups: list[list[str]]) -> list[Any]:
    return [
        {
            "query": search,
            "aggregation": "count",
            "groupByFields": group,
            "distinctFields": [],
            "name": name,
        }
        for name, search, group in zip(names, searches, groups, strict=True)
    ]


def _required(rule: SigmaCorrelationRule, total: int) -> int:
    """How many distinct rules a temporal condition asks for (`gte N` / `gt N-1`)."""
    condition = rule.condition
    assert condition is not None
    match condition.op:
        case SigmaCorrelationConditionOperator.GTE:
            required = condition.count
        case SigmaCorrelationConditionOperator.GT:
            required = condition.count + 1
        case _:
            raise UnsupportedSigmaError(
                f"a temporal condition '{condition.op.name.lower()}' (at most / exactly N rules) "
                "has no Datadog equivalent; use gte or gt"
            )
    if not 1 <= required <= total:
        raise UnsupportedSigmaError(
            f"the temporal condition asks for {required} of the {total} rules it correlates"
        )
    return required


def _at_least(names: list[str], required: int) -> str:
    """`a > 0 && b > 0` for all names, or the OR over every `required`-sized combination."""
    terms = [
        " && ".join(f"{name} > 0" for name in chosen) for chosen in combinations(names, required)
    ]
    if len(terms) == 1:
        return terms[0]
    return " || ".join(f"({term})" for term in terms)


def _names(members: list[SigmaRule]) -> list[str]:
    """A distinct query name (an identifier) per correlated rule, from its Sigma name or title."""
    names: list[str] = []
    for member in members:
        base = _NOT_IDENTIFIER.sub("_", (member.name or member.title).lower()).strip("_")
        base = base[:40].rstrip("_") or "rule"
        if base[0].isdigit():
            base = "rule_" + base
        name, number = base, 2
        while name in names:
            name, number = f"{base}_{number}", number + 1
        names.append(name)
    return names
