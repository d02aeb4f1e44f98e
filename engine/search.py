"""`search`: the events of an archive index that match a log search query."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from engine.archive.reader import Archive, collect, open_archive
from engine.query import compile_query, parse
from engine.times import parse_time

TimeArg = int | str | datetime | None


def search(
    query: str,
    archive: str | Archive,
    *,
    index: str = "main",
    start: TimeArg = None,
    end: TimeArg = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """Matching events of `[start, end)`, oldest first, at most `limit` of them."""
    frame = _matching(query, archive, index, start, end).sort("timestamp", "id")
    return collect(frame.head(limit) if limit is not None else frame)


def count(
    query: str,
    archive: str | Archive,
    *,
    index: str = "main",
    start: TimeArg = None,
    end: TimeArg = None,
) -> int:
    """How many events of `[start, end)` match `query`."""
    frame = _matching(query, archive, index, start, end).select(pl.len())
    return int(collect(frame).item())


def _matching(
    query: str, archive: str | Archive, index: str, start: TimeArg, end: TimeArg
) -> pl.LazyFrame:
    node = parse(query)
    opened = open_archive(archive)
    condition = compile_query(node, opened.schema(index))
    low = None if start is None else parse_time(start)
    high = None if end is None else parse_time(end)
    return opened.scan(index, start=low, end=high).filter(condition)
