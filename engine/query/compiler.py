"""Compile a query AST into one boolean polars expression over the archive columns.

`compile_query(query, schema)` never returns null: every leaf is `fill_null(False)`, so `Not` is
plain complement (`-@a:x` holds for events without `@a`, SPEC §2.3). A field whose column is not
in the schema is missing in every event. List columns are existential (some element satisfies the
predicate). Constant sub-results (a missing column, `*`) are folded at compile time; a query that is
constant as a whole compiles to `pl.repeat(value, pl.len())`, so it has one value per row in any
context. Only native polars expressions are used (no Python callbacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import assert_never

import polars as pl

from engine.core.columns import RAW_COLUMN, child_prefix
from engine.query import cidr, coding, predicates, text
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
    Value,
    Wildcard,
)
from engine.query.casing import DATADOG, Casing, folded
from engine.query.parser import parse
from engine.query.predicates import ValuePredicate
from engine.query.text import DEFAULT_TEXT_COLUMNS, FULL_TEXT_RESERVED
from engine.query.values import Compiled, all_of, any_of, is_string

_TAGS = "tags"


@dataclass(frozen=True)
class Target:
    """Where a field's values live: a column, its element dtype, and how to read one value.

    `prefix` is set for tag keys: only elements starting with `key:` count, and the value is the
    text after it.
    """

    expr: pl.Expr
    dtype: pl.DataType
    is_list: bool = False
    prefix: str | None = None
    column: str | None = None  # the schema column `expr` reads as it is

    def any(self, predicate: ValuePredicate, *, costly: bool = False) -> Compiled:
        """True when some value of the target satisfies `predicate` (a `costly` one on a text
        column, while a scan plan is `coding.collecting`, is its leaf there)."""
        subject = pl.element() if self.is_list else self.expr
        value = subject if self.prefix is None else subject.str.slice(len(self.prefix))
        test = predicate(value, self.dtype)
        if test is None:
            return False
        leaves = coding.active()
        scalar_text = not self.is_list and self.prefix is None and isinstance(self.dtype, pl.String)
        if costly and leaves is not None and self.column is not None and scalar_text:
            return pl.col(leaves.leaf(self.column, test.fill_null(False)))
        if self.prefix is not None:
            test = subject.str.starts_with(self.prefix) & test
        if self.is_list:
            return self.expr.list.eval(test.fill_null(False)).list.any().fill_null(False)
        return test.fill_null(False)


def element_dtype(dtype: pl.DataType) -> pl.DataType:
    """The dtype of one value: the inner type of a list column, else the column's own."""
    if not isinstance(dtype, pl.List):
        return dtype
    inner = dtype.inner
    return inner() if isinstance(inner, type) else inner


def target(column: str, dtype: pl.DataType, prefix: str | None = None) -> Target:
    """The target of a schema column (list columns are read element by element)."""
    is_list = isinstance(dtype, pl.List)
    return Target(
        pl.col(column), element_dtype(dtype), is_list=is_list, prefix=prefix, column=column
    )


def _is_text(dtype: pl.DataType) -> bool:
    return is_string(element_dtype(dtype))


class Compiler:
    """Compiles AST nodes against one archive schema (and a rule's calculated fields)."""

    def __init__(
        self,
        schema: Mapping[str, pl.DataType],
        casing: Casing = DATADOG,
        calculated: Mapping[str, pl.Expr] | None = None,
    ) -> None:
        # Accept dtype classes too (`{"@a": pl.String}`), as polars itself does.
        self.schema: dict[str, pl.DataType] = {
            name: dtype() if isinstance(dtype, type) else dtype for name, dtype in schema.items()
        }
        self.casing = casing
        self.calculated = dict(calculated or {})

    # ---- structure ------------------------------------------------------------------------

    def compile(self, node: Node) -> Compiled:
        """The expression (or constant) for `node`."""
        match node:
            case And():
                return all_of([self.compile(child) for child in node.children])
            case Or():
                return self.either(node)
            case Not():
                inner = self.compile(node.child)
                return (not inner) if isinstance(inner, bool) else ~inner
            case MatchAll():
                return True
            case FreeText():
                return self.text_search(self.text_targets(DEFAULT_TEXT_COLUMNS), node.value)
            case FullText():
                return self.full_text(node.value)
            case FieldMatch():
                return self.field_match(node.field, node.value, fold=self.casing.folds(node))
            case Exists():
                return self.exists(node.field)
            case Cidr():
                return self.cidr(node)
            case _:
                assert_never(node)

    def either(self, node: Or) -> Compiled:
        """`a OR b ...`; many free-text words become one regex, not one per word."""
        words = [word for word in map(_word_value, node.children) if word is not None]
        if len(words) < 2:
            return any_of([self.compile(child) for child in node.children])
        others = [self.compile(c) for c in node.children if _word_value(c) is None]
        places = self.text_targets(DEFAULT_TEXT_COLUMNS)
        return any_of([*others, self.words_search(places, words)])

    # ---- fields ---------------------------------------------------------------------------

    def targets(self, field: Field) -> list[Target]:
        """The columns holding `field`'s values (empty when the field is missing everywhere)."""
        if field.kind in (FieldKind.TAG, FieldKind.TAGS):
            dtype = self.schema.get(_TAGS)
            if dtype is None:
                return []
            prefix = field.name + ":" if field.kind is FieldKind.TAG else None
            return [target(_TAGS, dtype, prefix)]
        if field.kind is FieldKind.CALCULATED:
            return [] if field.name not in self.calculated else [self.calculated_target(field)]
        dtype = self.schema.get(field.column)
        return [] if dtype is None else [target(field.column, dtype)]

    def field_match(self, field: Field, value: Value, *, fold: bool = False) -> Compiled:
        """`field:value` (`fold`: string values compared without regard to case, `Casing`)."""
        stored_lowercase = field.kind is FieldKind.RESERVED and field.name == "status"
        if field.kind in (FieldKind.TAG, FieldKind.TAGS) or stored_lowercase or fold:
            value = predicates.lowered(value)
        if isinstance(value, Wildcard) and value.is_star:
            return self.exists(field)
        predicate = predicates.for_value(value)
        if fold and not stored_lowercase:
            predicate = folded(predicate)
        costly = (fold and not stored_lowercase) or predicates.is_pattern(value)
        return any_of([place.any(predicate, costly=costly) for place in self.targets(field)])

    def calculated_target(self, field: Field) -> Target:
        """The values of the calculated field `#name` (its compiled formula)."""
        expr = self.calculated[field.name]
        dtype = pl.LazyFrame(schema=self.schema).select(expr).collect_schema().dtypes()[0]
        is_list = isinstance(dtype, pl.List)
        return Target(expr, element_dtype(dtype), is_list=is_list)

    def exists(self, field: Field) -> Compiled:
        """`_exists_:field`: some non-null value (objects: some non-null nested leaf)."""
        if field.kind is FieldKind.CALCULATED:
            places = self.targets(field)
            return any_of([place.expr.is_not_null() for place in places])
        if field.kind is FieldKind.TAGS:
            dtype = self.schema.get(_TAGS)
            return False if dtype is None else pl.col(_TAGS).list.len().fill_null(0) > 0
        if field.kind is FieldKind.TAG:
            key = field.name
            dtype = self.schema.get(_TAGS)
            if dtype is None:
                return False
            element = pl.element()
            has_key = (element == key) | element.str.starts_with(key + ":")
            return pl.col(_TAGS).list.eval(has_key).list.any().fill_null(False)
        column = field.column
        names = [column] if column in self.schema else []
        if field.kind is FieldKind.ATTRIBUTE:
            prefix = child_prefix(column)
            names.extend(name for name in self.schema if name.startswith(prefix))
        return any_of([pl.col(name).is_not_null() for name in names])

    def cidr(self, node: Cidr) -> Compiled:
        """`CIDR(field, blocks...)` on the string values of the field."""
        blocks = tuple(cidr.Block.parse(block) for block in node.blocks)

        def predicate(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
            return cidr.in_blocks(expr, blocks) if is_string(dtype) else None

        return any_of([place.any(predicate) for place in self.targets(node.field)])

    # ---- free text ------------------------------------------------------------------------

    def text_targets(self, columns: tuple[str, ...] | list[str]) -> list[Target]:
        """The string and list-of-string columns among `columns` (free text reads only text)."""
        return [
            target(name, self.schema[name])
            for name in dict.fromkeys(columns)
            if name in self.schema and _is_text(self.schema[name])
        ]

    def full_text(self, value: Value) -> Compiled:
        """`*:value`: free text over the reserved text fields and every string attribute leaf.

        Attribute values that may be numbers or booleans written as text are left to the raw JSON
        copy, which holds them quoted only when they are strings (SPEC §2.5, §2.11).
        """
        reserved = self.text_search(self.text_targets(FULL_TEXT_RESERVED), value)
        attributes = self.text_targets([name for name in self.schema if name.startswith("@")])
        if RAW_COLUMN not in self.schema or not text.may_match_non_strings(value):
            return any_of([reserved, self.text_search(attributes, value)])
        strings = [_string_only(place) for place in attributes]
        raw = Target(text.quoted_non_string_text(pl.col(RAW_COLUMN)), pl.String(), is_list=True)
        return any_of([reserved, self.text_search([*strings, raw], value)])

    def text_search(self, places: list[Target], value: Value) -> Compiled:
        """The free-text matcher (SPEC §2.4) over `places`."""
        if isinstance(value, Wildcard) and value.is_star:
            return True
        if isinstance(value, Term | Phrase | Wildcard):
            return self.words_search(places, [value])
        return any_of([self._numeric_tokens(place, value) for place in places])

    @staticmethod
    def words_search(places: list[Target], values: list[Term | Phrase | Wildcard]) -> Compiled:
        """Free text holding any of `values` (none the match-all `*`) in `places`: one regex."""
        pattern = text.token_regex(*values)
        if pattern is None:
            return False
        return any_of(
            [place.any(lambda expr, _dtype: expr.str.contains(pattern)) for place in places]
        )

    @staticmethod
    def _numeric_tokens(place: Target, value: Comparison | Range) -> Compiled:
        predicate = predicates.for_value(value, numeric_only=True)
        test = predicate(pl.element(), pl.String())
        if test is None:
            return False
        body = place.expr.list.join("\n") if place.is_list else place.expr
        tokens = text.numeric_tokens(body)
        return tokens.list.eval(test.fill_null(False)).list.any().fill_null(False)


def _word_value(node: Node) -> Term | Phrase | Wildcard | None:
    """The value of free text of words, a phrase or a wildcard (not the match-all `*`)."""
    if not isinstance(node, FreeText):
        return None
    value = node.value
    if isinstance(value, Term | Phrase) or (isinstance(value, Wildcard) and not value.is_star):
        return value
    return None


def _string_only(place: Target) -> Target:
    """`place` without the values that may be numbers or booleans written as text."""
    if place.is_list:
        strings = place.expr.list.eval(text.string_only(pl.element()))
    else:
        strings = text.string_only(place.expr)
    return Target(strings, place.dtype, is_list=place.is_list, prefix=place.prefix)


def compile_node(
    node: Node,
    schema: Mapping[str, pl.DataType],
    casing: Casing = DATADOG,
    calculated: Mapping[str, pl.Expr] | None = None,
) -> Compiled:
    """Compile `node`, keeping constant results as Python booleans (for planners)."""
    return Compiler(schema, casing, calculated).compile(node)


def compile_query(
    query: str | Node,
    schema: Mapping[str, pl.DataType],
    casing: Casing = DATADOG,
    calculated: Mapping[str, pl.Expr] | None = None,
) -> pl.Expr:
    """A boolean, never-null polars expression selecting the events `query` matches.

    `query` is query text (parsed with `parse`, raising `QuerySyntaxError`) or a parsed AST;
    `schema` maps archive column names to dtypes (columns it lacks are missing in every event);
    `casing` says how string values compare (Datadog's case-sensitive equality by default);
    `calculated` maps a rule's calculated field names (without `#`) to their expressions
    (`engine.query.formula`); an unknown `#name` has no value in any event.
    """
    if isinstance(query, str):
        query = parse(query)
    compiled = compile_node(query, schema, casing, calculated)
    if isinstance(compiled, bool):
        return pl.repeat(compiled, pl.len())
    return compiled
