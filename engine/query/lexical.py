"""Lexical helpers: escapes, wildcards, field names, and the pre-scan for unbalanced input.

These work on the raw text of one token and report problems as `LocatedSyntaxError` (a reason, a
character range and a hint); the parser turns them into `QuerySyntaxError`s with line and caret.
"""

from __future__ import annotations

from lark import Token

from engine.core.columns import RESERVED_ALIASES, RESERVED_FIELDS, attribute_column
from engine.query.ast import Field, FieldKind, Glob, Span, Term, Wildcard

#: Deepest nesting of parentheses a query may use.
MAX_DEPTH = 100

_GLOBS = {"*": Glob.STAR, "?": Glob.ONE}


class LocatedSyntaxError(Exception):
    """A syntax error found in part of a query: `start`/`end` are offsets into the whole query."""

    def __init__(
        self, reason: str, start: int | None, end: int | None, hint: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.start = start or 0
        self.end = end if end is not None else self.start + 1
        self.hint = hint


def unescape(text: str) -> str:
    """Remove `\\` escapes: `\\X` is the character X (`hello\\:world` -> `hello:world`)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            index += 1
            char = text[index]
        out.append(char)
        index += 1
    return "".join(out)


def has_glob(text: str) -> bool:
    """True when `text` holds an unescaped `*` or `?`."""
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in _GLOBS:
            return True
        index += 1
    return False


def decode_term(text: str, span: tuple[int, int]) -> Term | Wildcard:
    """An unquoted value: a `Term`, or a `Wildcard` when it has an unescaped `*` or `?`."""
    parts: list[str | Glob] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            literal.append(text[index + 1])
            index += 2
            continue
        glob = _GLOBS.get(char)
        if glob is None:
            literal.append(char)
        else:
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(glob)
        index += 1
    if literal:
        parts.append("".join(literal))
    if not any(isinstance(part, Glob) for part in parts):
        return Term("".join(literal), span=span)
    return Wildcard(tuple(parts), span=span)


def decode_phrase(text: str) -> str:
    """The content of a `"..."` phrase token, escapes removed."""
    return unescape(text[1:-1])


def attribute_path(text: str, start: int) -> tuple[str, ...]:
    """The segments of an `@path` token starting at offset `start` (`@a."b.c".d`)."""
    if len(text) == 1:
        raise LocatedSyntaxError(
            "an attribute name is missing after '@'",
            start,
            start + 1,
            "name the attribute, e.g. @http.status_code:200; escape a literal @ as \\@",
        )
    segments: list[str] = []
    current: list[str] = []
    quoted = False
    index = 1
    while index <= len(text):
        char = text[index] if index < len(text) else "."
        if char == ".":
            if not current and not quoted:
                raise LocatedSyntaxError(
                    "empty attribute name segment",
                    start,
                    start + len(text),
                    "separate segments with single dots (@a.b.c); quote a key that holds dots: "
                    '@"a.b"',
                )
            segments.append("".join(current))
            current, quoted = [], False
        elif char == '"':
            end = index + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            current.extend(unescape(text[index + 1 : end]))
            quoted = True
            index = end
        elif char == "\\":
            current.append(text[index + 1])
            index += 1
        elif char in _GLOBS:
            raise wildcard_in_field(text, start)
        else:
            current.append(char)
        index += 1
    return tuple(segments)


def calculated_name(text: str, start: int) -> str:
    """The name of a `#name` calculated-field token."""
    name = text[1:]
    if not name:
        raise LocatedSyntaxError(
            "a calculated field name is missing after '#'",
            start,
            start + 1,
            "name the calculated field, e.g. #duration_s:>10; escape a literal # as \\#",
        )
    if has_glob(name):
        raise wildcard_in_field(text, start)
    return unescape(name)


def wildcard_in_field(text: str, start: int) -> LocatedSyntaxError:
    """The error for `service*:x`, `@ser*:x`."""
    return LocatedSyntaxError(
        "wildcards are not allowed in field names",
        start,
        start + len(text),
        "name the field exactly; the only wildcard field is *:value (full-text search)",
    )


def prescan(query: str) -> None:
    """Find unterminated phrases, dangling escapes and unbalanced parentheses before parsing."""
    opened: list[int] = []
    index = 0
    while index < len(query):
        char = query[index]
        if char == "\\":
            if index + 1 == len(query):
                raise LocatedSyntaxError(
                    "the query ends with an escape character '\\'",
                    index,
                    index + 1,
                    "escape a literal backslash as \\\\",
                )
            index += 2
            continue
        if char == '"':
            index = _phrase_end(query, index)
        elif char == "(":
            opened.append(index)
            if len(opened) > MAX_DEPTH:
                raise LocatedSyntaxError(
                    f"parentheses are nested more than {MAX_DEPTH} deep", index, index + 1
                )
        elif char == ")":
            if not opened:
                raise LocatedSyntaxError(
                    "unbalanced parenthesis: this ')' has no matching '('",
                    index,
                    index + 1,
                    "remove the ')' or add the missing '('; escape a literal parenthesis as \\)",
                )
            opened.pop()
        index += 1
    if opened:
        raise LocatedSyntaxError(
            "unbalanced parenthesis: this '(' is never closed",
            opened[-1],
            opened[-1] + 1,
            "add the missing ')'; escape a literal parenthesis as \\(",
        )


def _phrase_end(query: str, start: int) -> int:
    index = start + 1
    while index < len(query):
        char = query[index]
        if char == '"':
            return index
        index += 2 if char == "\\" else 1
    raise LocatedSyntaxError(
        "unterminated quoted phrase: this '\"' is never closed",
        start,
        start + 1,
        'close the phrase with a second "; escape a literal quote as \\"',
    )


def token_span(token: Token) -> Span:
    """A token's `(start, end)` offsets into the query."""
    return (token.start_pos or 0, token.end_pos or 0)


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
    span = token_span(token)
    text = str(token.value)
    if token.type == "ATTR":
        path = attribute_path(text, span[0])
        return Field(FieldKind.ATTRIBUTE, attribute_column(path), path, span=span)
    if token.type == "CALC":
        return Field(FieldKind.CALCULATED, calculated_name(text, span[0]), span=span)
    if has_glob(text):
        raise wildcard_in_field(text, span[0])
    return resolve_name(unescape(text), span)
