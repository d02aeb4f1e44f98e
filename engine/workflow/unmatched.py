"""The events of a group that no query of its rule matched, and the clause that failed on each.

`explain` lists them for the span it explains: the events whose group-by values are the group's
(for some query that groups), which match no query, each with every query's failing clauses and
their reasons (`clauses.evaluate_clauses`, evaluated on the archive's own rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from engine.archive.frame import frame_to_events
from engine.detect.keys import field_column, text_values
from engine.query import compile_query, parse
from engine.rules.models import legacy_filter_text
from engine.workflow.clauses import Verdict, evaluate_clauses
from engine.workflow.report import time_text
from engine.workflow.trace import Trace

#: Events of the group that no query matched, listed per explanation (all are counted).
MAX_UNMATCHED = 50


@dataclass
class ClauseFailure:
    """A clause that failed on an event, and why."""

    clause: str
    reason: str


@dataclass
class UnmatchedEvent:
    """An event of the group that no query matched, with each query's failing clauses."""

    id: str
    timestamp: str
    failures: dict[str, list[ClauseFailure]]
    verdicts: dict[str, list[Verdict]] = field(repr=False)


def unmatched_events(steps: Trace, low: int, high: int) -> tuple[list[UnmatchedEvent], int]:
    """The group's events of the span that no query matched, with each query's failures."""
    rule = steps.plan.rule
    schema = steps.source.schema
    same_group = []
    for query in rule.queries:
        if len(query.groupByFields) != len(steps.group) or not query.groupByFields:
            continue
        tests = []
        for name, value in zip(query.groupByFields, steps.group, strict=True):
            values = text_values(name, schema)
            column = field_column(name)
            listed = column != "tags" and isinstance(schema.get(column), pl.List)
            tests.append(values.list.contains(value) if listed else values == value)
        same_group.append(pl.all_horizontal(tests))
    if not same_group:
        return [], 0
    legacy = legacy_filter_text(rule.filters)
    texts = {
        name: [*query.filter_texts(), *([legacy] if legacy else [])]
        for name, query in zip(rule.query_names(), rule.queries, strict=True)
    }
    matched = [
        pl.all_horizontal([compile_query(parse(t), schema, rule.casing) for t in query_texts])
        for query_texts in texts.values()
    ]
    frame = steps.source.scan(low, high + 1).filter(
        pl.any_horizontal(same_group).fill_null(False) & ~pl.any_horizontal(matched)
    )
    (rows, count) = steps.source.collect_all(
        [frame.sort("timestamp", "id").head(MAX_UNMATCHED), frame.select(pl.len())], low, high
    )
    events = frame_to_events(rows)
    verdicts = {
        name: [evaluate_clauses(text, rows, rule.casing) for text in query_texts]
        for name, query_texts in texts.items()
    }
    found = []
    for position, event in enumerate(events):
        failures: dict[str, list[ClauseFailure]] = {}
        mine: dict[str, list[Verdict]] = {}
        for name, per_text in verdicts.items():
            trees = [trees_of_text[position] for trees_of_text in per_text]
            mine[name] = trees
            failures[name] = [
                ClauseFailure(leaf.clause, leaf.reason) for tree in trees for leaf in tree.failing()
            ]
        found.append(
            UnmatchedEvent(
                id=event["id"],
                timestamp=time_text(event["timestamp"]) or "",
                failures=failures,
                verdicts=mine,
            )
        )
    return found, int(count.item())
