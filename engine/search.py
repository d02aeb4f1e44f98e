"""`search`: the events of an archive index that match a log search query (or have given ids)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from engine.archive.reader import Archive, collect, open_archive
from engine.core.columns import BASE_COLUMNS
from engine.core.times import parse_time
from engine.query import compile_query, parse
from engine.query.ast import And, FieldKind, FieldMatch, Node, Or, Term

TimeArg = int | str | datetime | None


def search(
    query: str,
    archive: str | Archive,
    *,
    index: str = "main",
    start: TimeArg = None,
    end: TimeArg = None,
    limit: int | None = None,
    ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Matching events of `[start, end)`, oldest first, at most `limit` of them.

    With `ids`, only the events whose log id is one of them (use `query="*"` to look logs up by id
    alone: `id:abc` is a tag query, SPEC §2.3).
    """
    frame = _matching(query, archive, index, start, end, ids).sort("timestamp", "id")
    return collect(frame.head(limit) if limit is not None else frame)


def count(
    query: str,
    archive: str | Archive,
    *,
    index: str = "main",
    start: TimeArg = None,
    end: TimeArg = None,
    ids: Sequence[str] | None = None,
) -> int:
    """How many events of `[start, end)` match `query` (and have one of `ids`, when given)."""
    frame = _matching(query, archive, index, start, end, ids).select(pl.len())
    return int(collect(frame).item())


def tag_named_like_a_field(query: str) -> str | None:
    """Why `query` may find nothing although it looks right, or None (for `hindsight search`).

    When every clause of `query` is a tag query whose key is a canonical field name (`id:abc`,
    `timestamp:...`), it searches tags, not that field (SPEC §2.3): the explanation, with the
    option to use instead.
    """
    clauses = _clauses(parse(query))
    keys = [
        clause.field.name
        for clause in clauses
        if isinstance(clause, FieldMatch)
        and clause.field.kind is FieldKind.TAG
        and clause.field.name in BASE_COLUMNS
    ]
    if not clauses or len(keys) != len(clauses):
        return None
    key = keys[0]
    note = f"`{key}:` in a query names a tag ({key}:value), not the log's {key}"
    if key == "id":
        wanted = [
            clause.value.text
            for clause in clauses
            if isinstance(clause, FieldMatch)
            and clause.field.name == "id"
            and isinstance(clause.value, Term)
        ]
        example = " ".join(f"--id {value}" for value in wanted) or "--id ID"
        return f"{note}; to look logs up by id, use {example}"
    return f"{note}; to bound the time, use --from and --to"


def _clauses(node: Node) -> list[Node]:
    """The leaf clauses of `node`, through AND and OR."""
    if isinstance(node, And | Or):
        return [leaf for child in node.children for leaf in _clauses(child)]
    return [node]


def _matching(
    query: str,
    archive: str | Archive,
    index: str,
    start: TimeArg,
    end: TimeArg,
    ids: Sequence[str] | None,
) -> pl.LazyFrame:
    node = parse(query)
    opened = open_archive(archive)
    condition = compile_query(node, opened.schema(index))
    if ids is not None:
        wanted = pl.Series("ids", list(dict.fromkeys(ids)), dtype=pl.String())
        condition = condition & pl.col("id").is_in(wanted.implode())
    low = None if start is None else parse_time(start)
    high = None if end is None else parse_time(end)
    return opened.scan(index, start=low, end=high).filter(condition)
