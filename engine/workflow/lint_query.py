"""Lint checks on one query text against an archive sample: fields, words, wildcards, free text.

Each check walks the parsed query (the AST `engine.query.parse` returns) and reports `Finding`s:

- `unknown-field`: an attribute no log of the archive has (with "did you mean" from the schema);
- `lowercase-operator`: `and` / `or` / `not` between terms, searched as words;
- `leading-wildcard`: `*…` on a large field (every value is scanned, none can be skipped);
- `free-text-in-attribute`: free text only reads `message`, but the sample holds the word as an
  attribute value;
- `tag-or-attribute`: `key:value` searches the tag `key`, which no sampled log has, while the
  archive has the attribute `@key`;
- `unknown-tag`: a tag key no sampled log has.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import polars as pl

from engine.query.ast import (
    And,
    Cidr,
    Exists,
    Field,
    FieldKind,
    FieldMatch,
    FreeText,
    FullText,
    Glob,
    MatchAll,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    Wildcard,
)
from engine.query.casing import DATADOG, Casing
from engine.query.text import DEFAULT_TEXT_COLUMNS
from engine.workflow.sample import ArchiveSample

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
#: Mean length (characters) from which a field counts as large for a leading wildcard.
LARGE_FIELD_CHARS = 100
_OPERATOR_WORDS = frozenset({"and", "or", "not"})


@dataclass(frozen=True)
class Finding:
    """One problem lint found in a rule."""

    severity: Severity
    check: str
    where: str
    message: str


def leaves(node: Node, negated: bool = False) -> Iterator[tuple[Node, bool]]:
    """Every leaf of the query, with whether it sits under an odd number of negations."""
    match node:
        case And() | Or():
            for child in node.children:
                yield from leaves(child, negated)
        case Not():
            yield from leaves(node.child, not negated)
        case MatchAll() | FreeText() | FullText() | FieldMatch() | Exists() | Cidr():
            yield node, negated


def field_of(node: Node) -> Field | None:
    """The field a leaf tests (None for free text and match-all)."""
    if isinstance(node, FieldMatch | Exists | Cidr):
        return node.field
    return None


def known_column(column: str, schema: dict[str, pl.DataType]) -> bool:
    """Whether an attribute column exists, as a leaf or as an object with leaves."""
    prefix = column + "."
    return column in schema or any(name.startswith(prefix) for name in schema)


def suggestions(column: str, schema: dict[str, pl.DataType]) -> list[str]:
    """Schema columns close to `column` (difflib), best first."""
    names = [name for name in schema if name.startswith("@")]
    return difflib.get_close_matches(column, names, n=3, cutoff=0.75)


def _did_you_mean(options: list[str]) -> str:
    return f"; did you mean {' or '.join(options)}?" if options else ""


def _column_mean_length(sample: ArchiveSample, column: str) -> float:
    if column not in sample.rows.columns or not isinstance(sample.schema[column], pl.String):
        return 0.0
    mean = sample.rows.select(pl.col(column).str.len_chars().mean()).item()
    return float(mean or 0.0)


def _attribute_holders(sample: ArchiveSample, texts: set[str]) -> dict[str, list[str]]:
    """For each of `texts`, the string attribute columns where some sampled value equals it.

    One pass over the sample for all the query's free-text words, however many there are.
    """
    columns = [
        name
        for name, dtype in sample.schema.items()
        if name.startswith("@") and isinstance(dtype, pl.String) and name in sample.rows.columns
    ]
    if not texts or not columns or sample.rows.height == 0:
        return {}
    found = (
        sample.rows.lazy()
        .select(columns)
        .unpivot(variable_name="column", value_name="value")
        .filter(pl.col("value").is_in(sorted(texts)))
        .unique()
        .group_by("value")
        .agg(pl.col("column").sort())
        .collect()
    )
    return dict(zip(found["value"].to_list(), found["column"].to_list(), strict=True))


def _message_presence(sample: ArchiveSample) -> float:
    """The share of sampled logs that have some default free-text field."""
    texts = [c for c in DEFAULT_TEXT_COLUMNS if c in sample.rows.columns]
    if not texts or sample.rows.height == 0:
        return 0.0
    share = sample.rows.select(
        pl.any_horizontal([pl.col(c).is_not_null() for c in texts]).mean()
    ).item()
    return float(share or 0.0)


def check_query(
    node: Node, where: str, sample: ArchiveSample, casing: Casing = DATADOG
) -> list[Finding]:
    """Every finding of one parsed query (`casing`: the rule's, `Rule.casing`)."""
    findings: list[Finding] = []
    found = list(leaves(node))
    words = {
        leaf.value.text
        for leaf, _ in found
        if isinstance(leaf, FreeText) and isinstance(leaf.value, Term | Phrase)
    }
    holders = _attribute_holders(sample, words)
    present = _message_presence(sample) if words else 0.0
    for leaf, negated in found:
        field = field_of(leaf)
        if field is not None:
            findings += _field_findings(field, negated, where, sample)
            if isinstance(leaf, FieldMatch) and isinstance(leaf.value, Wildcard):
                findings += _wildcard_findings(field, leaf.value, where, sample)
            if (
                isinstance(leaf, FieldMatch)
                and isinstance(leaf.value, Term | Phrase)
                and not casing.folds(leaf)
            ):
                findings += _case_findings(field, leaf.value, where, sample)
        if isinstance(leaf, FreeText):
            findings += _free_text_findings(leaf, where, sample, holders, present)
    return list(dict.fromkeys(findings))


def _case_findings(
    field: Field, value: Term | Phrase, where: str, sample: ArchiveSample
) -> list[Finding]:
    """`@f:error` when the sample has `Error` but never `error` (values are case-sensitive)."""
    column = field.column
    if field.kind is not FieldKind.ATTRIBUTE or not isinstance(
        sample.schema.get(column), pl.String
    ):
        return []
    if column not in sample.rows.columns:
        return []
    values = sample.rows.get_column(column)
    if (values == value.text).any():
        return []
    other = values.filter(values.str.to_lowercase() == value.text.lower()).unique().sort()
    if other.is_empty():
        return []
    seen = ", ".join(repr(text) for text in other.head(3).to_list())
    return [
        Finding(
            "warning",
            "value-case",
            where,
            f"{field}:{value} matches no sampled value, but the sample has {seen}: attribute "
            "values are case-sensitive",
        )
    ]


def _field_findings(
    field: Field, negated: bool, where: str, sample: ArchiveSample
) -> list[Finding]:
    schema = sample.schema
    match field.kind:
        case FieldKind.ATTRIBUTE:
            column = field.column
            if known_column(column, schema):
                return []
            effect = "the negated clause is always true" if negated else "the clause never matches"
            return [
                Finding(
                    "warning",
                    "unknown-field",
                    where,
                    f"no log of the archive has {column}: {effect}"
                    + _did_you_mean(suggestions(column, schema)),
                )
            ]
        case FieldKind.TAG:
            key = field.name
            if key in sample.tag_keys or sample.rows.height == 0:
                return []
            attribute = "@" + key
            if known_column(attribute, schema):
                return [
                    Finding(
                        "warning",
                        "tag-or-attribute",
                        where,
                        f"{key}:… searches the tag {key}, which no sampled log has, while the "
                        f"archive has the attribute {attribute}; did you mean {attribute}:…?",
                    )
                ]
            return [Finding("info", "unknown-tag", where, f"no sampled log has a tag {key}:…")]
        case FieldKind.RESERVED | FieldKind.TAGS | FieldKind.CALCULATED:
            return []


def _wildcard_findings(
    field: Field, value: Wildcard, where: str, sample: ArchiveSample
) -> list[Finding]:
    if value.is_star or not value.parts or value.parts[0] is not Glob.STAR:
        return []
    column = field.column
    mean = _column_mean_length(sample, column)
    if column != "message" and mean < LARGE_FIELD_CHARS:
        return []
    return [
        Finding(
            "warning",
            "leading-wildcard",
            where,
            f"{field}:{value} starts with a wildcard on a large field ({column}, "
            f"{mean:.0f} characters on average in the sample): every value is read in full; "
            "anchor the value, or search words with free text",
        )
    ]


def _free_text_findings(
    leaf: FreeText,
    where: str,
    sample: ArchiveSample,
    holders: dict[str, list[str]],
    present: float,
) -> list[Finding]:
    value = leaf.value
    findings: list[Finding] = []
    word = isinstance(value, Term) and value.text.lower() in _OPERATOR_WORDS
    if isinstance(value, Term) and word and value.text != value.text.upper():
        column = leaf.span[0] + 1
        findings.append(
            Finding(
                "warning",
                "lowercase-operator",
                where,
                f"'{value.text}' at column {column} is searched as the word "
                f"'{value.text}' in the message; write {value.text.upper()} for the "
                "boolean operator (operators are upper case)",
            )
        )
        return findings
    if isinstance(value, Term | Phrase) and sample.rows.height:
        columns = holders.get(value.text, [])
        if columns:
            options = " or ".join(f"{h}:{value}" for h in columns[:3])
            findings.append(
                Finding(
                    "warning",
                    "free-text-in-attribute",
                    where,
                    f"free text {value} only reads message (and "
                    f"{', '.join(DEFAULT_TEXT_COLUMNS[1:])}); the sample has it as the value "
                    f"of {', '.join(columns[:3])}: did you mean {options}?",
                )
            )
        elif present < 0.01:
            findings.append(
                Finding(
                    "info",
                    "free-text-without-message",
                    where,
                    f"free text {value} only reads message, which "
                    f"{100 - 100 * present:.0f}% of the sampled logs lack",
                )
            )
    return findings
