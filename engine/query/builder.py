"""Build AST nodes from lark's parse tree of a query (`grammar.lark`).

Besides mapping rules to nodes, the builder checks what the grammar cannot express: no space
around the colon of `field:value` or after `-`/`+` and comparison operators, no wildcard in a field
name, no field inside a grouped value, matching range brackets, valid CIDR blocks. Problems are
raised as `LocatedSyntaxError`s (offsets into the query); the parser renders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lark import Token, Tree

from engine.core.columns import RESERVED_ALIASES, RESERVED_FIELDS, attribute_column
from engine.query import cidr
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
    Span,
    Term,
    Value,
    Wildcard,
)
from engine.query.lexical import (
    LocatedSyntaxError,
    attribute_path,
    calculated_name,
    decode_phrase,
    decode_term,
    has_glob,
    unescape,
    wildcard_in_field,
)

_EXISTS, _MISSING = "_exists_", "_missing_"


@dataclass(frozen=True)
class _Scope:
    """The field that bare values inside `field:( ... )` inherit."""

    kind: Literal["field", "fulltext", "exists", "missing"]
    field: Field | None
    span: Span
    text: str


_Tree = Tree[Token]


def _leaf(tree: _Tree, index: int) -> Token:
    item = tree.children[index]
    assert isinstance(item, Token)
    return item


def _node(tree: _Tree, index: int) -> _Tree:
    item = tree.children[index]
    assert isinstance(item, Tree)
    return item


def _span(item: _Tree | Token) -> Span:
    if isinstance(item, Token):
        return (item.start_pos or 0, item.end_pos or 0)
    return (item.meta.start_pos, item.meta.end_pos)


def _token(item: _Tree | Token) -> Token:
    while isinstance(item, Tree):
        item = item.children[0]
    return item


def resolve_name(name: str, span: Span) -> Field:
    """The field a bare name (no `@`/`#`) refers to: reserved, `tags`, or a tag key."""
    if name in RESERVED_FIELDS:
        return Field(FieldKind.RESERVED, name, span=span)
    if name in RESERVED_ALIASES:
        return Field(FieldKind.RESERVED, RESERVED_ALIASES[name], span=span)
    if name == "tags":
        return Field(FieldKind.TAGS, "tags", span=span)
    return Field(FieldKind.TAG, name.lower(), span=span)


def field_from_token(token: Token) -> Field:
    """The field an `@path`, `#name` or bare-name token names (no `*`, no wildcards)."""
    span = _span(token)
    text = str(token.value)
    if token.type == "ATTR":
        path = attribute_path(text, span[0])
        return Field(FieldKind.ATTRIBUTE, attribute_column(path), path, span=span)
    if token.type == "CALC":
        return Field(FieldKind.CALCULATED, calculated_name(text, span[0]), span=span)
    if has_glob(text):
        raise wildcard_in_field(text, span[0])
    return resolve_name(unescape(text), span)


class Builder:
    """Builds AST nodes from lark's parse tree.

    Nested `And`s (and `Or`s) are flattened, `+` is dropped and double negations cancel, so equal
    meanings written with different grouping give equal trees. `terminals` gives the regex of a
    grammar terminal (used to validate the field argument of `CIDR(...)`).
    """

    def __init__(self, terminals: Callable[[str], str]) -> None:
        self.terminals = terminals

    def build(self, tree: _Tree) -> Node:
        """The AST of a whole query (the `start` rule)."""
        return self.or_expr(_node(tree, 0), None)

    def or_expr(self, tree: _Tree, scope: _Scope | None) -> Node:
        children: list[Node] = []
        for child in tree.children:
            if isinstance(child, Tree):
                node = self.and_expr(child, scope)
                children.extend(node.children if isinstance(node, Or) else (node,))
        return children[0] if len(children) == 1 else Or(tuple(children), span=_span(tree))

    def and_expr(self, tree: _Tree, scope: _Scope | None) -> Node:
        children: list[Node] = []
        for child in tree.children:
            if isinstance(child, Tree):
                node = self.unary(child, scope)
                children.extend(node.children if isinstance(node, And) else (node,))
        return children[0] if len(children) == 1 else And(tuple(children), span=_span(tree))

    def unary(self, tree: _Tree, scope: _Scope | None) -> Node:
        negations = 0
        start = tree.meta.start_pos
        while tree.data != "unary":
            operator, operand = _leaf(tree, 0), _node(tree, 1)
            if operator.type != "NOT" and operator.end_pos != operand.meta.start_pos:
                raise LocatedSyntaxError(
                    f"{operator.value!r} must be directly followed by the clause it applies to",
                    operator.start_pos,
                    operand.meta.start_pos,
                    f"write {operator.value}term without a space; escape a literal "
                    f"{operator.value} as \\{operator.value}",
                )
            negations += tree.data != "plus_op"
            tree = operand
        node = self.primary(_node(tree, 0), scope)
        if negations % 2:
            return Not(node, span=(start, tree.meta.end_pos))
        return node

    def primary(self, tree: _Tree, scope: _Scope | None) -> Node:
        kind = tree.data
        if kind == "group":
            return self.or_expr(_node(tree, 1), scope)
        if kind == "field_clause":
            if scope is not None:
                raise _field_in_group(tree, scope)
            return self.field_clause(tree)
        if kind == "cidr":
            if scope is not None:
                raise _field_in_group(tree, scope)
            return self.cidr(_leaf(tree, 0))
        value = self.free_value(tree)
        if scope is not None:
            return self.apply(scope, value, _span(tree))
        if isinstance(value, Wildcard) and value.is_star:
            return MatchAll(span=value.span)
        return FreeText(value, span=value.span)

    def free_value(self, tree: _Tree) -> Value:
        if tree.data == "free_term":
            item = _leaf(tree, 0)
            return decode_term(str(item.value), _span(item))
        if tree.data == "free_phrase":
            item = _leaf(tree, 0)
            return Phrase(decode_phrase(str(item.value)), span=_span(item))
        if tree.data == "free_comparison":
            return self.comparison(_node(tree, 0))
        return self.range(_node(tree, 0))

    # ---- field:value ----------------------------------------------------------------------

    def field_clause(self, tree: _Tree) -> Node:
        name, colon, value = _token(_node(tree, 0)), _leaf(tree, 1), _node(tree, 2)
        if name.end_pos != colon.start_pos:
            raise LocatedSyntaxError(
                "a space before ':' is not allowed",
                name.end_pos,
                colon.start_pos,
                f"write {name.value}:value with no spaces around ':'",
            )
        if colon.end_pos != value.meta.start_pos:
            raise LocatedSyntaxError(
                f"a space after '{name.value}:' is not allowed",
                colon.end_pos,
                value.meta.start_pos,
                f"write {name.value}:value with no space after ':', or quote a value that "
                f'holds spaces: {name.value}:"two words"',
            )
        scope = self.scope(name)
        if value.data == "value_group":
            return self.or_expr(_node(value, 1), scope)
        if value.data == "value_field":
            token = _leaf(value, 0)
            if scope.kind in ("exists", "missing"):
                exists = Exists(field_from_token(token), span=_span(tree))
                return exists if scope.kind == "exists" else Not(exists, span=_span(tree))
            raise LocatedSyntaxError(
                f"a value cannot start with {token.value[0]!r}",
                token.start_pos,
                token.end_pos,
                f"escape it (\\{token.value}) or quote the value",
            )
        return self.apply(scope, self.value(value), _span(tree))

    def scope(self, token: Token) -> _Scope:
        text = str(token.value)
        span = _span(token)
        if token.type == "TERM":
            if text == "*":
                return _Scope("fulltext", None, span, text)
            name = unescape(text).lower()  # like every tag key: `_EXISTS_:x` is `_exists_:x`
            if name in (_EXISTS, _MISSING):
                return _Scope("exists" if name == _EXISTS else "missing", None, span, name)
        return _Scope("field", field_from_token(token), span, text)

    def value(self, tree: _Tree) -> Value:
        if tree.data == "value_term":
            item = _leaf(tree, 0)
            return decode_term(str(item.value), _span(item))
        if tree.data == "value_phrase":
            item = _leaf(tree, 0)
            return Phrase(decode_phrase(str(item.value)), span=_span(item))
        if tree.data == "value_comparison":
            return self.comparison(_node(tree, 0))
        return self.range(_node(tree, 0))

    def apply(self, scope: _Scope, value: Value, span: Span) -> Node:
        """The clause `scope:value` (also for values inheriting a grouped field)."""
        if scope.kind == "fulltext":
            if isinstance(value, Wildcard) and value.is_star:
                return MatchAll(span=span)
            return FullText(value, span=span)
        if scope.kind == "field":
            assert scope.field is not None
            if isinstance(value, Wildcard) and value.is_star:
                return Exists(scope.field, span=span)
            return FieldMatch(scope.field, value, span=span)
        if isinstance(value, Wildcard):
            raise wildcard_in_field(str(value), value.span[0])
        if not isinstance(value, Term | Phrase):
            raise LocatedSyntaxError(
                f"{scope.text} takes a field name, not a comparison or range",
                value.span[0],
                value.span[1],
                f"write {scope.text}:@attribute or {scope.text}:tag_key",
            )
        exists = Exists(resolve_name(value.text, value.span), span=span)
        return exists if scope.kind == "exists" else Not(exists, span=span)

    def comparison(self, tree: _Tree) -> Comparison:
        operator, operand = _leaf(tree, 0), _leaf(tree, 1)
        if operator.end_pos != operand.start_pos:
            raise LocatedSyntaxError(
                f"a space after {operator.value!r} is not allowed",
                operator.end_pos,
                operand.start_pos,
                f"write {operator.value}{operand.value} with no space",
            )
        text = operand.value
        bound = decode_phrase(text) if operand.type == "PHRASE" else unescape(text)
        return Comparison(str(operator.value), bound, span=_span(tree))

    def range(self, tree: _Tree) -> Range:
        opening, low, to, high, closing = (
            _leaf(tree, 0),
            _node(tree, 1),
            _leaf(tree, 2),
            _node(tree, 3),
            _leaf(tree, 4),
        )
        if (opening.value == "[") != (closing.value == "]"):
            raise LocatedSyntaxError(
                f"mixed range brackets {opening.value!r} and {closing.value!r}",
                closing.start_pos,
                closing.end_pos,
                "use [low TO high] (both ends inclusive) or {low TO high} (both exclusive)",
            )
        if low.meta.end_pos == to.start_pos or to.end_pos == high.meta.start_pos:
            raise LocatedSyntaxError(
                "TO must be separated from the range bounds by spaces",
                to.start_pos,
                to.end_pos,
                "write [low TO high]",
            )
        return Range(
            _bound(_leaf(low, 0)),
            _bound(_leaf(high, 0)),
            opening.value == "[",
            closing.value == "]",
            span=_span(tree),
        )

    # ---- CIDR -----------------------------------------------------------------------------

    def cidr(self, token: Token) -> Cidr:
        text = str(token.value)
        offset = (token.start_pos or 0) + len("CIDR(")
        arguments: list[tuple[str, int, int]] = []
        for piece in text[len("CIDR(") : -1].split(","):
            stripped = piece.strip()
            start = offset + (piece.index(stripped) if stripped else 0)
            arguments.append((stripped, start, start + max(1, len(stripped))))
            offset += len(piece) + 1
        usage = "write CIDR(@network.client.ip, 10.0.0.0/8[, more blocks])"
        for argument, start, end in arguments:
            if not argument:
                raise LocatedSyntaxError("empty CIDR argument", start, end, usage)
        if len(arguments) < 2:
            raise LocatedSyntaxError(
                "CIDR needs a field and at least one block",
                token.start_pos or 0,
                token.end_pos or 0,
                usage,
            )
        field = self.cidr_field(*arguments[0])
        blocks: list[str] = []
        for block, start, end in arguments[1:]:
            try:
                blocks.append(cidr.normalize_block(block))
            except ValueError:
                raise LocatedSyntaxError(
                    f"invalid CIDR block {block!r}",
                    start,
                    end,
                    "write an IPv4 or IPv6 network such as 10.0.0.0/8 or fe80::/10",
                ) from None
        return Cidr(field, tuple(blocks), span=_span(token))

    def cidr_field(self, text: str, start: int, end: int) -> Field:
        """The field named by the first argument of `CIDR(...)`."""
        kind = "ATTR" if text.startswith("@") else "CALC" if text.startswith("#") else "TERM"
        pattern = self.terminals(kind)
        if not re.fullmatch(pattern, text) or text == "*" or text.lower() in (_EXISTS, _MISSING):
            raise LocatedSyntaxError(
                f"invalid CIDR field {text!r}",
                start,
                end,
                "the first CIDR argument names a field, e.g. CIDR(@network.client.ip, 10.0.0.0/8)",
            )
        return field_from_token(Token(kind, text, start_pos=start, end_pos=end))


def _bound(token: Token) -> str | None:
    text = str(token.value)
    if token.type == "PHRASE":
        return decode_phrase(text)
    return None if text == "*" else unescape(text)


def _field_in_group(tree: _Tree, scope: _Scope) -> LocatedSyntaxError:
    start, end = _span(_token(tree))
    return LocatedSyntaxError(
        f"a field cannot be used inside the value group of '{scope.text}:'",
        start,
        end,
        f"inside {scope.text}:( ... ) write only values, e.g. {scope.text}:(x OR y); to "
        "combine fields use (@a:x OR @b:y)",
    )
