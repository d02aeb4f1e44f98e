"""Why a query holds or not on an event: every clause of its tree evaluated, with a reason.

Every node of the parsed query is compiled with the engine's own compiler (`compile_node`) and
evaluated on the events' frame (the archive's column layout), so a verdict is exactly what a run
decides. A leaf's reason shows the event's values of its field and, when it fails, a hint: values
that differ only in case (attribute values are case-sensitive), a tag that exists as an attribute,
a word that free text cannot see because it is in an attribute, a value that is not a number.
`failing` lists the clauses to blame: the false children of a false AND, every child of a false
OR, the true child of a false NOT.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.archive.event import normalize_event
from engine.archive.frame import events_to_frame
from engine.query import compile_node, parse
from engine.query.ast import (
    And,
    Cidr,
    Comparison,
    Exists,
    Field,
    FieldKind,
    FieldMatch,
    FreeText,
    FullText,
    MatchAll,
    Node,
    Not,
    Or,
    Phrase,
    Range,
    Term,
    nodes,
)
from engine.query.casing import DATADOG, Casing
from engine.query.text import DEFAULT_TEXT_COLUMNS
from engine.query.values import parse_number
from engine.workflow.report import Report

_SHOWN_VALUES = 5


@dataclass
class Verdict(Report):
    """One clause of a query on one event: whether it holds, and why."""

    clause: str
    holds: bool
    kind: str = "clause"  # and, or, not, clause
    reason: str = ""
    children: list[Verdict] = field(default_factory=list)

    def failing(self) -> list[Verdict]:
        """The clauses that make this one false (empty when it holds)."""
        if self.holds:
            return []
        if self.kind in ("not", "clause"):
            return [self]
        return [leaf for child in self.children if not child.holds for leaf in child.failing()]

    def lines(self, depth: int = 0) -> Iterator[str]:
        """The tree as text lines, one clause each (`✓`/`✗`, the clause, the reason)."""
        mark = "✓" if self.holds else "✗"
        reason = f" — {self.reason}" if self.reason else ""
        yield f"{'  ' * depth}{mark} {self.clause}{reason}"
        for child in self.children:
            yield from child.lines(depth + 1)


def evaluate_clauses(
    query: str | Node, frame: pl.DataFrame, casing: Casing = DATADOG
) -> list[Verdict]:
    """The verdict tree of `query` on each row of `frame` (archive column layout), its string
    values compared as `casing` says."""
    tree = parse(query) if isinstance(query, str) else query
    every = list(nodes(tree))
    columns = []
    for number, node in enumerate(every):
        compiled = compile_node(node, frame.schema, casing)
        expr = pl.lit(compiled) if isinstance(compiled, bool) else compiled
        columns.append(expr.alias(f"_n{number}"))
    values = frame.select(columns) if frame.height else pl.DataFrame()
    verdicts = []
    for row_number in range(frame.height):
        holds = [bool(values[f"_n{n}"][row_number]) for n in range(len(every))]
        row = frame.row(row_number, named=True)
        verdicts.append(_build(tree, iter(range(len(every))), holds, row))
    return verdicts


def _build(
    node: Node, numbers: Iterator[int], holds: list[bool], row: Mapping[str, Any]
) -> Verdict:
    number = next(numbers)
    verdict = Verdict(str(node), holds[number])
    match node:
        case And() | Or():
            verdict.kind = "and" if isinstance(node, And) else "or"
            verdict.children = [_build(child, numbers, holds, row) for child in node.children]
        case Not():
            child = _build(node.child, numbers, holds, row)
            verdict.kind = "not"
            verdict.children = [child]
            verdict.reason = "the negated clause holds" if child.holds else ""
        case _:
            verdict.reason = leaf_reason(node, verdict.holds, row)
    return verdict


def explain_query(query: str, events: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    """The verdict tree of `query` on each event (SPEC §1.1 dicts, as `engine.match` takes)."""
    canonical = [normalize_event({"timestamp": 0, **event}) for event in events]
    return evaluate_clauses(query, events_to_frame(canonical))


# --- leaf reasons -------------------------------------------------------------------------------


def _show(values: list[Any]) -> str:
    shown = [repr(value) for value in values[:_SHOWN_VALUES]]
    more = f" and {len(values) - _SHOWN_VALUES} more" if len(values) > _SHOWN_VALUES else ""
    return ", ".join(shown) + more


def _flat(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [item for item in value if item is not None]
    return [value]


def field_values(field: Field, row: Mapping[str, Any]) -> list[Any]:
    """The event's values of a field (a tag key's values without the `key:` prefix)."""
    if field.kind is FieldKind.TAG:
        prefix = field.name + ":"
        return [tag[len(prefix) :] for tag in _flat(row.get("tags")) if tag.startswith(prefix)]
    return _flat(row.get(field.column))


def _children(field: Field, row: Mapping[str, Any]) -> list[str]:
    prefix = field.column + "."
    return [name for name, value in row.items() if name.startswith(prefix) and value is not None]


def leaf_reason(node: Node, holds: bool, row: Mapping[str, Any]) -> str:
    """Why a leaf clause holds or not on the event `row`."""
    match node:
        case MatchAll():
            return "matches every log"
        case FreeText() | FullText():
            return _text_reason(node, holds, row)
        case FieldMatch():
            return _match_reason(node, holds, row)
        case Exists():
            values = field_values(node.field, row) or _children(node.field, row)
            return f"present: {_show(values)}" if values else f"the log has no {node.field}"
        case Cidr():
            values = field_values(node.field, row)
            if not values:
                return f"the log has no {node.field}"
            where = "inside" if holds else "not inside"
            return f"{_show(values)} {where} {', '.join(node.blocks)}"
        case _:
            return ""


def _match_reason(node: FieldMatch, holds: bool, row: Mapping[str, Any]) -> str:
    field, value = node.field, node.value
    values = field_values(field, row)
    if not values:
        if field.kind is FieldKind.TAG:
            attribute = row.get("@" + field.name)
            if attribute is not None:
                return (
                    f"the log has no tag {field.name}:…, but has the attribute @{field.name} = "
                    f"{attribute!r} (did you mean @{field.name}:{value}?)"
                )
            return f"the log has no tag {field.name}:… (tags: {_show(_flat(row.get('tags')))})"
        return f"the log has no {field}"
    shown = (
        f"the value is {_show(values)}" if len(values) == 1 else f"the values are {_show(values)}"
    )
    if holds:
        return shown
    if isinstance(value, Term | Phrase) and field.kind is FieldKind.ATTRIBUTE:
        lowered = value.text.lower()
        if any(isinstance(v, str) and v.lower() == lowered for v in values):
            return f"{shown}: attribute values are case-sensitive"
    if isinstance(value, Comparison | Range):
        bounds = [value.bound] if isinstance(value, Comparison) else [value.low, value.high]
        numeric = all(b is None or parse_number(b) is not None for b in bounds)
        not_numbers = [v for v in values if parse_number(str(v)) is None or isinstance(v, bool)]
        if numeric and not_numbers:
            return f"{shown}: {_show(not_numbers)} is not a number"
    return shown


def _text_reason(node: FreeText | FullText, holds: bool, row: Mapping[str, Any]) -> str:
    texts = [column for column in DEFAULT_TEXT_COLUMNS if row.get(column) is not None]
    if isinstance(node, FullText):
        return (
            "some attribute or reserved field has the words"
            if holds
            else ("no attribute, message, host, service, source or status has the words")
        )
    if holds:
        return f"found in {', '.join(texts) or 'message'}"
    where = (
        "; ".join(f"{c} is {_show(_flat(row.get(c)))}" for c in texts) or "the log has no message"
    )
    reason = f"free text reads only {', '.join(DEFAULT_TEXT_COLUMNS)}: {where}"
    if isinstance(node.value, Term | Phrase):
        wanted = node.value.text
        holders = [
            name
            for name, value in row.items()
            if name.startswith("@") and wanted in [str(v) for v in _flat(value)]
        ]
        if holders:
            reason += f"; the word is the value of {', '.join(holders[:3])}"
            reason += f" (did you mean {holders[0]}:{node.value}?)"
    return reason
