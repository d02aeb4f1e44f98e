"""Field scopes: what a field name does to the values after it (`field:value`, `field:( ... )`).

A field name opens a scope: an ordinary field (`@a:x` matches values of `@a`), the full-text `*`
(`*:x`), or `_exists_` / `_missing_` (whose values are field names). Bare values inside
`field:( ... )` inherit the scope, so `@a:(x OR y)` is `@a:x OR @a:y`; a field inside such a group
is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lark import Token

from engine.query.ast import (
    Exists,
    Field,
    FieldMatch,
    FullText,
    MatchAll,
    Node,
    Not,
    Phrase,
    Span,
    Term,
    Value,
    Wildcard,
)
from engine.query.lexical import (
    LocatedSyntaxError,
    field_from_token,
    resolve_name,
    token_span,
    unescape,
    wildcard_in_field,
)

#: The field names that test for a field instead of matching its values.
EXISTS, MISSING = "_exists_", "_missing_"


@dataclass(frozen=True)
class Scope:
    """The field that bare values inside `field:( ... )` inherit."""

    kind: Literal["field", "fulltext", "exists", "missing"]
    field: Field | None
    span: Span
    text: str


def scope_of(token: Token) -> Scope:
    """The scope a field name opens for its value."""
    text = str(token.value)
    span = token_span(token)
    if token.type == "TERM":
        if text == "*":
            return Scope("fulltext", None, span, text)
        name = unescape(text).lower()  # like every tag key: `_EXISTS_:x` is `_exists_:x`
        if name in (EXISTS, MISSING):
            return Scope("exists" if name == EXISTS else "missing", None, span, name)
    return Scope("field", field_from_token(token), span, text)


def apply_scope(scope: Scope, value: Value, span: Span) -> Node:
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


def field_in_group(token: Token, scope: Scope) -> LocatedSyntaxError:
    """The error for a field name (`token`) inside the value group of `scope`."""
    start, end = token_span(token)
    return LocatedSyntaxError(
        f"a field cannot be used inside the value group of '{scope.text}:'",
        start,
        end,
        f"inside {scope.text}:( ... ) write only values, e.g. {scope.text}:(x OR y); to "
        "combine fields use (@a:x OR @b:y)",
    )
