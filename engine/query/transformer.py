"""The lark `Transformer` that turns a query's parse tree (`grammar.lark`) into the AST.

Each grammar rule has a method. A clause cannot be built where lark meets it: inside
`field:( ... )` a bare value inherits `field` (`@a:(x OR y)` is `@a:x OR @a:y`), and that scope is
known only above it. So every method returns a `Pending` node (its span, and how to build it once
the inherited scope is known), and `to_ast` builds the whole query with no scope. Building then
runs top-down, left to right, so the first problem of the query is the one reported.

Besides mapping rules to nodes, the transformer checks what the grammar cannot express: no space
around the colon of `field:value` or after `-`/`+` and comparison operators, no wildcard in a field
name, no field inside a grouped value, matching range brackets, valid CIDR blocks. Problems are
raised as `LocatedSyntaxError`s (offsets into the query); the parser renders them. Nested `And`s
(and `Or`s) are flattened, `+` is dropped and double negations cancel, so equal meanings written
with different grouping give equal trees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lark import Token, Tree
from lark.tree import Meta
from lark.visitors import Transformer_NonRecursive, v_args

from engine.query import cidr
from engine.query.ast import (
    And,
    Comparison,
    Exists,
    FreeText,
    MatchAll,
    Node,
    Not,
    Or,
    Phrase,
    Range,
    Span,
    Value,
    Wildcard,
)
from engine.query.lexical import (
    LocatedSyntaxError,
    decode_phrase,
    decode_term,
    field_from_token,
    token_span,
    unescape,
)
from engine.query.scope import Scope, apply_scope, field_in_group, scope_of

T = TypeVar("T")


@dataclass(frozen=True)
class Pending(Generic[T]):
    """A transformed subtree, built once the scope it sits in is known."""

    span: Span
    build: Callable[[Scope | None], T]


@dataclass(frozen=True)
class Negated:
    """A primary clause behind unary operators (outermost first: the operator token and where
    its operand starts); `+` is dropped and each `NOT`/`-` negates."""

    span: Span
    operators: tuple[tuple[Token, int], ...]
    primary: Pending[Node]


@dataclass(frozen=True)
class ValueGroup:
    """`field:( ... )`: values that inherit the field."""

    span: Span
    body: Pending[Node]


@dataclass(frozen=True)
class FieldValue:
    """`field:@other` or `field:#other`: a field name where a value belongs."""

    span: Span
    token: Token


def _span(item: Token | Meta) -> Span:
    return token_span(item) if isinstance(item, Token) else (item.start_pos, item.end_pos)


def _fixed(span: Span, value: T) -> Pending[T]:
    return Pending(span, lambda _scope: value)


@v_args(meta=True)
class QueryTransformer(Transformer_NonRecursive[Token, Any]):
    """Parse tree -> AST (see the module docstring). `terminals` gives the regex of a grammar
    terminal (used to validate the field argument of `CIDR(...)`)."""

    def __init__(self, terminals: Callable[[str], str]) -> None:
        super().__init__()
        self.terminals = terminals

    def to_ast(self, tree: Tree[Token]) -> Node:
        """The AST of a whole query's parse tree: built with no inherited field.

        Raises `LocatedSyntaxError` for the first problem (building runs outside lark's visitor,
        so the error is not wrapped in lark's `VisitError`).
        """
        pending: Pending[Node] = self.transform(tree)
        return pending.build(None)

    def start(self, _meta: Meta, children: list[Pending[Node]]) -> Pending[Node]:
        """The whole query."""
        return children[0]

    # ---- boolean structure ----------------------------------------------------------------

    def or_expr(self, meta: Meta, children: list[Pending[Node] | Token]) -> Pending[Node]:
        """`a OR b OR ...` (nested `Or`s flattened)."""
        parts = [child for child in children if isinstance(child, Pending)]
        span = _span(meta)

        def build(scope: Scope | None) -> Node:
            nodes: list[Node] = []
            for part in parts:
                node = part.build(scope)
                nodes.extend(node.children if isinstance(node, Or) else (node,))
            return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), span=span)

        return Pending(span, build)

    def and_expr(self, meta: Meta, children: list[Negated | Token]) -> Pending[Node]:
        """`a AND b`, `a && b` or `a b` (nested `And`s flattened)."""
        parts = [child for child in children if isinstance(child, Negated)]
        span = _span(meta)

        def build(scope: Scope | None) -> Node:
            nodes: list[Node] = []
            for part in parts:
                node = self._negated(part, scope)
                nodes.extend(node.children if isinstance(node, And) else (node,))
            return nodes[0] if len(nodes) == 1 else And(tuple(nodes), span=span)

        return Pending(span, build)

    def unary(self, meta: Meta, children: list[Pending[Node]]) -> Negated:
        """A primary clause with no operator in front."""
        return Negated(_span(meta), (), children[0])

    def not_op(self, meta: Meta, children: list[Any]) -> Negated:
        """`NOT clause`."""
        return self._operator(meta, children)

    def minus_op(self, meta: Meta, children: list[Any]) -> Negated:
        """`-clause`."""
        return self._operator(meta, children)

    def plus_op(self, meta: Meta, children: list[Any]) -> Negated:
        """`+clause` (the `+` changes nothing)."""
        return self._operator(meta, children)

    @staticmethod
    def _operator(meta: Meta, children: list[Any]) -> Negated:
        operator, operand = children
        assert isinstance(operator, Token) and isinstance(operand, Negated)
        operators = ((operator, operand.span[0]), *operand.operators)
        return Negated(_span(meta), operators, operand.primary)

    @staticmethod
    def _negated(item: Negated, scope: Scope | None) -> Node:
        negations = 0
        for operator, operand_start in item.operators:
            if operator.type != "NOT" and operator.end_pos != operand_start:
                raise LocatedSyntaxError(
                    f"{operator.value!r} must be directly followed by the clause it applies to",
                    operator.start_pos,
                    operand_start,
                    f"write {operator.value}term without a space; escape a literal "
                    f"{operator.value} as \\{operator.value}",
                )
            negations += operator.type != "PLUS"
        node = item.primary.build(scope)
        if negations % 2:
            return Not(node, span=(item.span[0], item.primary.span[1]))
        return node

    # ---- primary clauses ------------------------------------------------------------------

    def group(self, _meta: Meta, children: list[Any]) -> Pending[Node]:
        """`( ... )`: the inner query, in the same scope."""
        body = children[1]
        assert isinstance(body, Pending)
        return body

    def field_clause(self, meta: Meta, children: list[Any]) -> Pending[Node]:
        """`field:value`, `field:( ... )`, `_exists_:field`, `*:value`."""
        name, colon, value = children
        assert isinstance(name, Token) and isinstance(colon, Token)
        span = _span(meta)

        def build(scope: Scope | None) -> Node:
            if scope is not None:
                raise field_in_group(name, scope)
            return self._field_clause(name, colon, value, span)

        return Pending(span, build)

    def _field_clause(
        self, name: Token, colon: Token, value: ValueGroup | FieldValue | Pending[Value], span: Span
    ) -> Node:
        if name.end_pos != colon.start_pos:
            raise LocatedSyntaxError(
                "a space before ':' is not allowed",
                name.end_pos,
                colon.start_pos,
                f"write {name.value}:value with no spaces around ':'",
            )
        if colon.end_pos != value.span[0]:
            raise LocatedSyntaxError(
                f"a space after '{name.value}:' is not allowed",
                colon.end_pos,
                value.span[0],
                f"write {name.value}:value with no space after ':', or quote a value that "
                f'holds spaces: {name.value}:"two words"',
            )
        scope = scope_of(name)
        match value:
            case ValueGroup():
                return value.body.build(scope)
            case FieldValue():
                token = value.token
                if scope.kind in ("exists", "missing"):
                    exists = Exists(field_from_token(token), span=span)
                    return exists if scope.kind == "exists" else Not(exists, span=span)
                raise LocatedSyntaxError(
                    f"a value cannot start with {token.value[0]!r}",
                    token.start_pos,
                    token.end_pos,
                    f"escape it (\\{token.value}) or quote the value",
                )
            case Pending():
                return apply_scope(scope, value.build(None), span)

    def field(self, _meta: Meta, children: list[Token]) -> Token:
        """The field name of `field:value`."""
        return children[0]

    def cidr(self, _meta: Meta, children: list[Token]) -> Pending[Node]:
        """`CIDR(field, block, ...)`."""
        (token,) = children

        def build(scope: Scope | None) -> Node:
            if scope is not None:
                raise field_in_group(token, scope)
            return cidr.parse_call(token, self.terminals)

        return Pending(_span(token), build)

    def free_term(self, meta: Meta, children: list[Token]) -> Pending[Node]:
        """A bare term: free text, or a value of the inherited field."""
        item = children[0]
        return self._bare(_span(meta), lambda: decode_term(str(item.value), _span(item)))

    def free_phrase(self, meta: Meta, children: list[Token]) -> Pending[Node]:
        """A bare phrase."""
        item = children[0]
        return self._bare(
            _span(meta), lambda: Phrase(decode_phrase(str(item.value)), span=_span(item))
        )

    def free_comparison(self, meta: Meta, children: list[Pending[Value]]) -> Pending[Node]:
        """A bare comparison (`>5`)."""
        return self._bare(_span(meta), lambda: children[0].build(None))

    def free_range(self, meta: Meta, children: list[Pending[Value]]) -> Pending[Node]:
        """A bare range (`[1 TO 5]`)."""
        return self._bare(_span(meta), lambda: children[0].build(None))

    def _bare(self, span: Span, value: Callable[[], Value]) -> Pending[Node]:
        def build(scope: Scope | None) -> Node:
            built = value()
            if scope is not None:
                return apply_scope(scope, built, span)
            if isinstance(built, Wildcard) and built.is_star:
                return MatchAll(span=built.span)
            return FreeText(built, span=built.span)

        return Pending(span, build)

    # ---- values ---------------------------------------------------------------------------

    def value_term(self, _meta: Meta, children: list[Token]) -> Pending[Value]:
        """An unquoted value."""
        item = children[0]
        return Pending(_span(item), lambda _scope: decode_term(str(item.value), _span(item)))

    def value_phrase(self, _meta: Meta, children: list[Token]) -> Pending[Value]:
        """A quoted value."""
        item = children[0]
        return Pending(
            _span(item), lambda _scope: Phrase(decode_phrase(str(item.value)), span=_span(item))
        )

    def value_comparison(self, _meta: Meta, children: list[Pending[Value]]) -> Pending[Value]:
        """A comparison value (`@a:>5`)."""
        return children[0]

    def value_range(self, _meta: Meta, children: list[Pending[Value]]) -> Pending[Value]:
        """A range value (`@a:[1 TO 5]`)."""
        return children[0]

    def value_group(self, meta: Meta, children: list[Any]) -> ValueGroup:
        """`( ... )` after `field:`."""
        body = children[1]
        assert isinstance(body, Pending)
        return ValueGroup(_span(meta), body)

    def value_field(self, meta: Meta, children: list[Token]) -> FieldValue:
        """An `@attribute` or `#field` where a value belongs."""
        return FieldValue(_span(meta), children[0])

    def comparison(self, meta: Meta, children: list[Token]) -> Pending[Value]:
        """`>5`, `<="x"`."""
        operator, operand = children
        span = _span(meta)

        def build(_scope: Scope | None) -> Value:
            if operator.end_pos != operand.start_pos:
                raise LocatedSyntaxError(
                    f"a space after {operator.value!r} is not allowed",
                    operator.end_pos,
                    operand.start_pos,
                    f"write {operator.value}{operand.value} with no space",
                )
            text = operand.value
            bound = decode_phrase(text) if operand.type == "PHRASE" else unescape(text)
            return Comparison(str(operator.value), bound, span=span)

        return Pending(span, build)

    def range(self, meta: Meta, children: list[Token]) -> Pending[Value]:
        """`[low TO high]`, `{low TO high}`."""
        opening, low, to, high, closing = children
        span = _span(meta)

        def build(_scope: Scope | None) -> Value:
            if (opening.value == "[") != (closing.value == "]"):
                raise LocatedSyntaxError(
                    f"mixed range brackets {opening.value!r} and {closing.value!r}",
                    closing.start_pos,
                    closing.end_pos,
                    "use [low TO high] (both ends inclusive) or {low TO high} (both exclusive)",
                )
            if low.end_pos == to.start_pos or to.end_pos == high.start_pos:
                raise LocatedSyntaxError(
                    "TO must be separated from the range bounds by spaces",
                    to.start_pos,
                    to.end_pos,
                    "write [low TO high]",
                )
            include_low, include_high = opening.value == "[", closing.value == "]"
            return Range(_bound(low), _bound(high), include_low, include_high, span=span)

        return Pending(span, build)

    def bound(self, _meta: Meta, children: list[Token]) -> Token:
        """One end of a range."""
        return children[0]


def _bound(token: Token) -> str | None:
    text = str(token.value)
    if token.type == "PHRASE":
        return decode_phrase(text)
    return None if text == "*" else unescape(text)
