"""The query AST: what a parsed log search query means, independent of lark and of polars.

Every node is a frozen dataclass with a `span` (start and end character offsets into the query)
that is excluded from equality, so `parse("a  b") == parse("a b")`. `str(node)` re-renders a query
that parses back to an equal tree (used in error messages, docs and the round-trip tests).

Boolean structure: `And`, `Or`, `Not`, `MatchAll`. Leaves: `FreeText` (the default field),
`FullText` (`*:value`), `FieldMatch` (`field:value`), `Exists` (`_exists_:f`, `f:*`) and `Cidr`.
Values: `Term`, `Phrase`, `Wildcard`, `Comparison`, `Range`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum, StrEnum

from engine.core.columns import attribute_column

Span = tuple[int, int]

#: Characters escaped anywhere when a term is re-rendered (`/` is not special, SPEC §2.1).
_ALWAYS_ESCAPED = frozenset('"\u201c\u201d()[]{}<>:\\&|*?~^')
#: Characters escaped only at the start of a term (inside a term they are ordinary).
_START_ESCAPED = frozenset("-+=!@#")
#: Characters that force an attribute path segment to be quoted when re-rendered.
_SEGMENT_SPECIAL = frozenset('."\\\u201c\u201d()[]{}<>:&|*?')
#: Words that are operators in clause position and must be escaped to be searched as text.
_KEYWORDS = frozenset({"AND", "OR", "NOT"})


def escape_text(text: str, *, at_start: bool = True) -> str:
    """`text` as (part of) an unquoted term: special characters and whitespace escaped with `\\`.

    `at_start` says whether `text` begins the term (where `- + = ! @ #` must be escaped, and where
    a bare `AND`/`OR`/`NOT` would be an operator).
    """
    out: list[str] = []
    for index, char in enumerate(text):
        special = char in _ALWAYS_ESCAPED or char.isspace()
        if index == 0 and at_start and char in _START_ESCAPED:
            special = True
        out.append("\\" + char if special else char)
    rendered = "".join(out)
    if at_start and text in _KEYWORDS:
        rendered = "\\" + rendered
    return rendered


def quote_phrase(text: str) -> str:
    """`text` as a double-quoted phrase."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---- values -----------------------------------------------------------------------------------


class Glob(Enum):
    """An unquoted wildcard inside a value: `*` (any run, possibly empty) or `?` (one character)."""

    STAR = "*"
    ONE = "?"


@dataclass(frozen=True)
class Term:
    """An unquoted value without wildcards (escapes removed)."""

    text: str
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return escape_text(self.text)


@dataclass(frozen=True)
class Phrase:
    """A double-quoted value; `*` and `?` inside it are literal."""

    text: str
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return quote_phrase(self.text)


@dataclass(frozen=True)
class Wildcard:
    """An unquoted value with at least one `*` or `?`: literal strings and `Glob` markers."""

    parts: tuple[str | Glob, ...]
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    @property
    def is_star(self) -> bool:
        """True for the bare `*` (any value / match all)."""
        return self.parts == (Glob.STAR,)

    def __str__(self) -> str:
        return "".join(
            part.value if isinstance(part, Glob) else escape_text(part, at_start=index == 0)
            for index, part in enumerate(self.parts)
        )


@dataclass(frozen=True)
class Comparison:
    """`>N`, `>=N`, `<N`, `<=N` (the bound is text; numeric when it parses as a number)."""

    op: str
    bound: str
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        bound = self.bound
        if bound == "" or any(ch.isspace() or ch in _ALWAYS_ESCAPED for ch in bound):
            return self.op + quote_phrase(bound)
        return self.op + bound


@dataclass(frozen=True)
class Range:
    """`[low TO high]` (inclusive) or `{low TO high}` (exclusive); `None` is an open `*` bound."""

    low: str | None
    high: str | None
    include_low: bool = True
    include_high: bool = True
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        opening = "[" if self.include_low else "{"
        closing = "]" if self.include_high else "}"
        return f"{opening}{_render_bound(self.low)} TO {_render_bound(self.high)}{closing}"


Value = Term | Phrase | Wildcard | Comparison | Range


def _render_bound(bound: str | None) -> str:
    if bound is None:
        return "*"
    if bound in {"", "TO"} or any(ch.isspace() or ch in '"[]{}()\\' for ch in bound):
        return quote_phrase(bound)
    return "\\*" if bound == "*" else bound


# ---- fields -----------------------------------------------------------------------------------


class FieldKind(StrEnum):
    """How `key:value` is resolved (SPEC §2.3)."""

    ATTRIBUTE = "attribute"  # @path
    RESERVED = "reserved"  # host, service, source, status, message, trace_id
    TAG = "tag"  # any other key: an element `key:value` of `tags`
    TAGS = "tags"  # the literal `tags:` field: whole elements of `tags`
    CALCULATED = "calculated"  # #name


@dataclass(frozen=True)
class Field:
    """A named field: `name` is how a query names it, `path` the attribute segments."""

    kind: FieldKind
    name: str
    path: tuple[str, ...] = ()
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    @property
    def column(self) -> str:
        """The archive column holding the field's values."""
        if self.kind is FieldKind.ATTRIBUTE:
            return attribute_column(self.path)
        if self.kind is FieldKind.CALCULATED:
            return "#" + self.name
        if self.kind in (FieldKind.TAG, FieldKind.TAGS):
            return "tags"
        return self.name

    def __str__(self) -> str:
        if self.kind is FieldKind.ATTRIBUTE:
            return "@" + ".".join(_render_segment(segment) for segment in self.path)
        if self.kind is FieldKind.CALCULATED:
            return "#" + escape_text(self.name)
        return escape_text(self.name) if self.name else '""'  # `_exists_:""` renders back


def _render_segment(segment: str) -> str:
    if segment and not any(ch in _SEGMENT_SPECIAL or ch.isspace() for ch in segment):
        return segment
    return quote_phrase(segment)


# ---- clauses ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class And:
    """All children hold (explicit `AND`/`&&` or juxtaposition)."""

    children: tuple[Node, ...]
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return " AND ".join(_wrap(child, (Or,)) for child in self.children)


@dataclass(frozen=True)
class Or:
    """At least one child holds (`OR`/`||`)."""

    children: tuple[Node, ...]
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return " OR ".join(str(child) for child in self.children)


@dataclass(frozen=True)
class Not:
    """The child does not hold (`NOT`, `-`); plain complement."""

    child: Node
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return "NOT " + _wrap(self.child, (And, Or, Not))  # NOT NOT x would parse as x


@dataclass(frozen=True)
class MatchAll:
    """`*` or `*:*`: every event."""

    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return "*"


@dataclass(frozen=True)
class FreeText:
    """A bare value: searched in the default text fields (SPEC §2.4)."""

    value: Value
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class FullText:
    """`*:value`: the free-text matcher over every string attribute and reserved field."""

    value: Value
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return f"*:{self.value}"


@dataclass(frozen=True)
class FieldMatch:
    """`field:value` on an attribute, reserved field, tag key, `tags` or calculated field."""

    field: Field
    value: Value
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.field}:{self.value}"


@dataclass(frozen=True)
class Exists:
    """`_exists_:field` (also `@f:*`, `key:*`, `tags:*`); `_missing_:f` is `Not(Exists(f))`."""

    field: Field
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        if self.field.kind is FieldKind.TAGS:
            return "tags:*"
        return f"_exists_:{self.field}"


@dataclass(frozen=True)
class Cidr:
    """`CIDR(field, block, ...)`: some value of the field is an IP inside one of the blocks.

    Blocks are normalised network addresses (`10.0.0.0/8`, `fe80::/10`).
    """

    field: Field
    blocks: tuple[str, ...]
    span: Span = dataclass_field(default=(0, 0), compare=False, repr=False)

    def __str__(self) -> str:
        return f"CIDR({self.field}, {', '.join(self.blocks)})"


Node = And | Or | Not | MatchAll | FreeText | FullText | FieldMatch | Exists | Cidr

#: Leaves that test one field or the text fields (everything but the boolean structure).
LEAF_TYPES = (MatchAll, FreeText, FullText, FieldMatch, Exists, Cidr)


def _wrap(node: Node, kinds: tuple[type, ...]) -> str:
    text = str(node)
    return f"({text})" if isinstance(node, kinds) else text


def to_query(node: Node) -> str:
    """A query text that parses back to `node`."""
    return str(node)


def nodes(node: Node) -> Iterator[Node]:
    """`node` and every node below it, depth first, in query order."""
    yield node
    match node:
        case And() | Or():
            for child in node.children:
                yield from nodes(child)
        case Not():
            yield from nodes(node.child)
        case _:
            return


def fields(node: Node) -> Iterator[Field]:
    """Every field `node` names, in query order."""
    for item in nodes(node):
        match item:
            case FieldMatch() | Exists() | Cidr():
                yield item.field
            case _:
                continue
