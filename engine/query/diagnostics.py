"""Turn lark's parse failures into precise reasons, carets and hints (SPEC §2.2 errors).

lark reports *where* parsing stopped (the unexpected token or character) and the parser's value
stack (what was read before). The common mistakes are recognised from those two facts: a dangling
operator, a field without a value, a curly quote, a leading `!`, an unclosed range, and so on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from engine.query.lexical import LocatedSyntaxError, attribute_path, calculated_name

_BINARY = frozenset({"AND", "OR", "AND_SYM", "OR_SYM"})
_UNARY = frozenset({"NOT", "MINUS", "PLUS"})
_DANGLING = _BINARY | _UNARY | {"COLON", "CMP_OP"}
_CURLY = "\u201c\u201d"
_ESCAPE_HINT = "escape special characters with \\ (e.g. \\=) or quote the value"


def curly_quote(position: int) -> LocatedSyntaxError:
    """The error for a curly quote (not a phrase delimiter, SPEC §2.1)."""
    return LocatedSyntaxError(
        "curly quotes are not phrase delimiters",
        position,
        position + 1,
        'use straight double quotes ("hello world") for a phrase, or escape it (\\\u201c)',
    )


def bang(position: int) -> LocatedSyntaxError:
    """The error for `!` at the start of a term."""
    return LocatedSyntaxError(
        "'!' cannot start a term",
        position,
        position + 1,
        "negate with NOT or a leading - (NOT @a:x, -@a:x); escape a literal ! as \\!",
    )


def _last_token(item: Any) -> Token | None:
    while isinstance(item, Tree):
        if not item.children:
            return None
        item = item.children[-1]
    return item if isinstance(item, Token) else None


def _first_token(item: Any) -> Token | None:
    while isinstance(item, Tree):
        if not item.children:
            return None
        item = item.children[0]
    return item if isinstance(item, Token) else None


def _extent(token: Token, query: str) -> tuple[int, int]:
    start = token.start_pos if token.start_pos is not None else len(query)
    end = token.end_pos if token.end_pos is not None else start + 1
    return start, max(end, start + 1)


def _is_field(item: Any) -> bool:
    if isinstance(item, Token):
        return item.type in ("ATTR", "CALC")
    return isinstance(item, Tree) and item.data == "field"


def _range_state(stack: Sequence[Any]) -> str | None:
    """Inside an unfinished range: "low" before its TO, "high" after it; else None."""
    for index in range(len(stack) - 1, -1, -1):
        item = stack[index]
        if isinstance(item, Token) and item.type == "RANGE_OPEN":
            after = stack[index + 1 :]
            has_to = any(isinstance(part, Token) and part.type == "TO" for part in after)
            return "high" if has_to else "low"
    return None


def diagnose(query: str, error: UnexpectedInput) -> LocatedSyntaxError:
    """The `LocatedSyntaxError` explaining a lark parse failure of `query`."""
    state = getattr(error, "state", None)
    stack: Sequence[Any] = list(getattr(state, "value_stack", None) or [])
    previous = _last_token(stack[-1]) if stack else None
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        # `(a AND)` reads like the end of the query: the operator before ')' is dangling.
        ends_group = error.token.type == "RPAR"
        if not (ends_group and previous is not None and previous.type in _DANGLING):
            return _unexpected_token(query, error, stack, previous)
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = query[position]
        if char in _CURLY:
            return curly_quote(position)
        if char == "!":
            return bang(position)
        return LocatedSyntaxError(
            f"unexpected character {char!r}", position, position + 1, _ESCAPE_HINT
        )
    return _unexpected_end(query, stack, previous)


def _unexpected_end(query: str, stack: Sequence[Any], previous: Token | None) -> LocatedSyntaxError:
    end = len(query.rstrip())
    if previous is not None:
        start, stop = _extent(previous, query)
        kind = previous.type
        if kind in _BINARY:
            return LocatedSyntaxError(
                f"dangling operator: {previous.value!r} has no clause on its right",
                start,
                stop,
                f"add a clause after {previous.value!r} or remove it",
            )
        if kind in _UNARY:
            return LocatedSyntaxError(
                f"dangling operator: {previous.value!r} has nothing to negate",
                start,
                stop,
                f"add the clause to negate right after {previous.value!r}, or remove it",
            )
        if kind == "COLON" and len(stack) >= 2:
            field = _first_token(stack[-2])
            field_start = _extent(field, query)[0] if field is not None else start
            name = query[field_start:stop]
            hint = f"add a value ({name}value), or use {name}* to test that the field exists"
            if name in ("*:", "_exists_:", "_missing_:"):
                hint = "add a value: *:term searches every attribute; _exists_:@field tests one"
            return LocatedSyntaxError(f"missing value after {name!r}", field_start, stop, hint)
        if kind == "CMP_OP":
            return LocatedSyntaxError(
                f"comparison {previous.value!r} has no value",
                start,
                stop,
                f"compare with a number or text, e.g. @duration:{previous.value}1000",
            )
    for item in reversed(stack):
        if isinstance(item, Token) and item.type == "RANGE_OPEN":
            start, stop = _extent(item, query)
            return LocatedSyntaxError(
                f"range {item.value!r} is never closed",
                start,
                stop,
                "write [low TO high] (inclusive) or {low TO high} (exclusive)",
            )
    if stack and _is_field(stack[-1]):
        return _field_without_colon(query, stack[-1])
    return LocatedSyntaxError("unexpected end of query", end, end + 1)


#: Operators of other query languages written between a field and its value: `@a=x`, `@a != x`,
#: `@a>=5`, with the fix each takes (`@a:x`, `-@a:x`, `@a:>=5`).
_FIELD_OPERATOR = re.compile(r'(?P<op>!=|==|=|>=|<=|>|<)\s*(?P<value>"(?:[^"\\]|\\.)*"|\S*)')


def _before_operator(text: str) -> str:
    """The attribute name at the start of `text`: up to an unquoted `=` or `!=` (`@a=x`)."""
    quoted = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and (char == "=" or text.startswith("!=", index)):
            return text[:index]
    return text


def _operator_after_field(query: str, start: int, name: str) -> LocatedSyntaxError | None:
    """The error for `field=value` (or `!=`, `==`, `>=`...): `:` separates a field and a value."""
    rest = query[start + len(name) :]
    found = _FIELD_OPERATOR.match(rest.lstrip())
    if found is None:
        return None
    op, value = found["op"], found["value"] or "value"
    at = start + len(name) + len(rest) - len(rest.lstrip())
    if op in ("=", "=="):
        fix = f"{name}:{value}"
    elif op == "!=":
        fix = f"-{name}:{value}"
    else:
        fix = f"{name}:{op}{value}"
    return LocatedSyntaxError(
        f"{op!r} cannot follow a field: a field and its value are separated by ':'",
        at,
        at + len(op),
        f"write {fix}",
    )


def _field_without_colon(query: str, field: Any) -> LocatedSyntaxError:
    token = _first_token(field)
    assert token is not None
    start, stop = _extent(token, query)
    name = str(token.value)
    if token.type == "ATTR":
        name = _before_operator(name)
        operator = _operator_after_field(query, start, name)
        if operator is not None:
            return operator
        attribute_path(str(token.value), start)  # a bad name is the better message
    elif token.type == "CALC":
        calculated_name(str(token.value), start)
    return LocatedSyntaxError(
        f"field {token.value!r} must be followed by ':' and a value",
        start,
        stop,
        f"write {token.value}:value, or {token.value}:* to test that it exists",
    )


def _unexpected_token(
    query: str, error: UnexpectedToken, stack: Sequence[Any], previous: Token | None
) -> LocatedSyntaxError:
    token = error.token
    start, stop = _extent(token, query)
    char = query[start] if start < len(query) else ""
    expected = set(error.expected or ())
    if char in _CURLY:
        return curly_quote(start)
    if char == "!":
        return bang(start)
    if token.type in _BINARY:
        if previous is None or previous.type == "LPAR":
            return LocatedSyntaxError(
                f"dangling operator: {token.value!r} has no clause on its left",
                start,
                stop,
                f"add a clause before {token.value!r} or remove it",
            )
        if previous.type in _BINARY | _UNARY:
            return LocatedSyntaxError(
                f"{token.value!r} cannot follow {previous.value!r}",
                start,
                stop,
                "put a clause between the two operators",
            )
    if stack and _is_field(stack[-1]):
        return _field_without_colon(query, stack[-1])
    if previous is not None and previous.type == "CMP_OP":
        return LocatedSyntaxError(
            f"comparison {previous.value!r} has no value",
            start,
            stop,
            f"compare with a number or text, e.g. @duration:{previous.value}1000",
        )
    if previous is not None and previous.type == "COLON":
        return LocatedSyntaxError(f"{char!r} cannot start a value", start, start + 1, _ESCAPE_HINT)
    if char == ":":
        if previous is None or previous.type in _BINARY | _UNARY | {"LPAR"}:
            return LocatedSyntaxError(
                "':' must follow a field name",
                start,
                start + 1,
                "write field:value; escape a literal colon as \\:",
            )
        return LocatedSyntaxError(
            "unexpected ':' after a value",
            start,
            start + 1,
            'escape a colon inside a value (a:b\\:c) or quote the value (a:"b:c")',
        )
    in_range = _range_state(stack)
    if in_range == "low" and "TO" in expected:
        return LocatedSyntaxError(
            "a range needs TO between its bounds",
            start,
            stop,
            "write [low TO high] (inclusive) or {low TO high} (exclusive)",
        )
    if in_range == "high" and "RANGE_CLOSE" in expected:
        return LocatedSyntaxError(
            "a range must end with ']' or '}' after its upper bound",
            start,
            stop,
            "write [low TO high] (inclusive) or {low TO high} (exclusive)",
        )
    if in_range is not None:
        return LocatedSyntaxError(
            f"invalid range bound {token.value!r}",
            start,
            stop,
            'write [low TO high]; quote a bound that holds special characters ("...")',
        )
    if token.type == "RPAR" and previous is not None and previous.type == "LPAR":
        return LocatedSyntaxError(
            "empty parentheses", previous.start_pos or 0, stop, "put a clause inside ( )"
        )
    if char in "]}":
        return LocatedSyntaxError(
            f"unexpected {char!r} outside a range",
            start,
            start + 1,
            "ranges are written [low TO high] or {low TO high}; escape a literal bracket as \\]",
        )
    if char and char in "=<>~^*?&|-+@#":
        return LocatedSyntaxError(
            f"{char!r} cannot start a term here", start, start + 1, _ESCAPE_HINT
        )
    return LocatedSyntaxError(f"unexpected {token.value!r}", start, stop)
