"""Column names: which archive column holds a field a query or a rule names.

The storage convention is that the column name *is* the query path: reserved fields are top-level
columns (`host`, `message`, ...), every attribute leaf is a column named `@a.b.c`, and calculated
fields are `#name`. A path segment that contains a dot, a quote, a backslash or is empty is written
quoted (`@"a.b"` is the key `a.b`, while `@a.b` is the key `b` nested in `a`).
"""

from __future__ import annotations

from collections.abc import Sequence

#: Reserved attributes: top-level columns a query names without `@`.
RESERVED_FIELDS: tuple[str, ...] = ("host", "service", "source", "status", "message", "trace_id")

#: Every top-level column of an archive, in storage order (attribute columns follow).
BASE_COLUMNS: tuple[str, ...] = ("id", "timestamp", *RESERVED_FIELDS, "tags")

#: Column holding the event's whole `attributes` object as JSON text (the lossless copy).
RAW_COLUMN = "_raw"

#: Query aliases of reserved fields (the intake name `ddsource` is `source`).
RESERVED_ALIASES: dict[str, str] = {"ddsource": "source"}

_NEEDS_QUOTES = frozenset('."\\')


def quote_segment(segment: str) -> str:
    """Write one attribute path segment, quoting it when it holds `.`, `"`, `\\` or is empty."""
    if segment and not any(ch in _NEEDS_QUOTES for ch in segment):
        return segment
    escaped = segment.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def attribute_column(path: Sequence[str]) -> str:
    """The column of the attribute at `path` (`("usr", "id")` -> `@usr.id`)."""
    if not path:
        raise ValueError("an attribute path needs at least one segment")
    return "@" + ".".join(quote_segment(segment) for segment in path)


def calculated_column(name: str) -> str:
    """The column of the calculated field `name` (`#name`)."""
    return "#" + name


def split_attribute_column(column: str) -> tuple[str, ...]:
    """Inverse of `attribute_column`: the path segments of an `@...` column name."""
    if not column.startswith("@"):
        raise ValueError(f"not an attribute column: {column!r}")
    segments: list[str] = []
    current: list[str] = []
    i, text = 0, column[1:]
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                current.append(text[i])
                i += 1
        elif ch == ".":
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    segments.append("".join(current))
    return tuple(segments)


def child_prefix(column: str) -> str:
    """The prefix shared by the columns of leaves nested under `column` (`@a` -> `@a.`)."""
    return column + "."
