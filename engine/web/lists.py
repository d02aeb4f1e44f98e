"""What the list pages share: page numbers, cutting a page, and filtering with the query language.

The results and signals lists filter the compact searchable copy of each document with the API's
`filter[query]` code (`select_signals`), so a list page accepts exactly what the API accepts; a
query that does not parse is reported with the CLI's caret message instead of a list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from engine.api.filters import select_signals
from engine.api.paging import Listed
from engine.core.errors import QuerySyntaxError
from engine.query import parse

T = TypeVar("T")
Searchable = list[tuple[int, str, dict[str, Any]]]


def page_of(text: str) -> int:
    """A 1-based page number from a query parameter (1 when it is not one)."""
    return int(text) if text.isdigit() and int(text) > 0 else 1


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of a list: its items, its number (1-based), how many pages and items in all."""

    items: list[T]
    number: int
    pages: int
    total: int


def paged(items: Sequence[T], number: int, size: int) -> Paged[T]:
    """Page `number` of `items` (the last page when `number` is past it)."""
    pages = max(1, math.ceil(len(items) / size))
    number = min(max(1, number), pages)
    return Paged(list(items[(number - 1) * size : number * size]), number, pages, len(items))


def filter_searchable(query: str, rows: Searchable) -> tuple[Searchable, str]:
    """The `(timestamp, id, searchable event)` rows `query` selects, and a caret message when
    the query does not parse (then no row)."""
    if not query.strip():
        return rows, ""
    try:
        parse(query)
    except QuerySyntaxError as exc:
        return [], exc.render()
    items = [Listed(timestamp, item_id, event) for timestamp, item_id, event in rows]
    return [
        (item.timestamp_ms, item.id, item.document) for item in select_signals(query, items)
    ], ""
