"""How a query's string values compare with log values: Datadog's case-sensitive equality, or
Sigma's case-insensitive one.

Datadog's attribute and reserved-field search is case-sensitive (SPEC §2.6); Sigma specifies
case-insensitive string matching unless a value carries the `|cased` modifier. A rule converted
from Sigma keeps Sigma's semantics when Hindsight runs it (docs/sigma.md): its `Casing` folds the
case of terms, phrases and wildcards on attributes and reserved fields, except the `field:value`
clauses listed in `cased` (the rule's `|cased` values, kept case-sensitive). Free text is
case-insensitive in both languages; tags and `status` are stored lower-cased and compared so
already; comparisons, ranges and CIDR blocks are not about case.

`Casing` is never part of a Datadog rule's JSON: it rides on the loaded rule (`Rule.casing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl

from engine.query.ast import FieldKind, FieldMatch, Node, Phrase, Term, Wildcard
from engine.query.parser import parse
from engine.query.predicates import ValuePredicate
from engine.query.values import is_string


@dataclass(frozen=True)
class Casing:
    """Whether string values compare case-insensitively, and the clauses that never do."""

    ignore_case: bool = False
    #: `field:value` clauses (query text) compared case-sensitively even with `ignore_case`
    cased: tuple[str, ...] = ()

    @cached_property
    def cased_matches(self) -> frozenset[FieldMatch]:
        """The clauses of `cased`, parsed (spans do not take part in their equality)."""
        return frozenset(match for text in self.cased for match in _field_matches(parse(text)))

    def folds(self, node: FieldMatch) -> bool:
        """Whether `node`'s value is compared without regard to case."""
        if not self.ignore_case or node.field.kind not in (FieldKind.ATTRIBUTE, FieldKind.RESERVED):
            return False
        if not isinstance(node.value, Term | Phrase | Wildcard):
            return False
        return node not in self.cased_matches

    def to_json(self) -> dict[str, Any]:
        """The casing as a run manifest records it (`{}` for Datadog's)."""
        if not self.ignore_case:
            return {}
        return {"ignoreCase": True, "cased": list(self.cased)}

    @classmethod
    def from_json(cls, data: Any) -> Casing:
        """The casing `to_json` wrote (Datadog's for anything else)."""
        if not isinstance(data, dict) or data.get("ignoreCase") is not True:
            return DATADOG
        return cls(True, tuple(str(text) for text in data.get("cased", [])))


#: Datadog's semantics: attribute values compare case-sensitively.
DATADOG = Casing()
#: Sigma's semantics (no `|cased` value).
SIGMA = Casing(ignore_case=True)


def _field_matches(node: Node) -> list[FieldMatch]:
    if isinstance(node, FieldMatch):
        return [node]
    children = getattr(node, "children", None)
    if children is not None:
        return [match for child in children for match in _field_matches(child)]
    child = getattr(node, "child", None)
    return _field_matches(child) if child is not None else []


def folded(predicate: ValuePredicate) -> ValuePredicate:
    """`predicate` (built from a lower-cased value) applied to lower-cased string values."""

    def test(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
        return predicate(expr.str.to_lowercase() if is_string(dtype) else expr, dtype)

    return test
