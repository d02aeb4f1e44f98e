"""Keyset pages of signal-shaped documents, as stored JSON text (never parsed on the way out).

Lists of results and signals are ordered by `(timestamp, id)`; a page starts strictly after the
cursor's key. Only the page's rows are read, and their documents are returned as the JSON text the
store holds, so an API can answer without building Python objects for large documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.store.database import Database


@dataclass(frozen=True)
class RawPage:
    """One page: `(timestamp_ms, id, document JSON text)` rows, and whether more follow."""

    rows: list[tuple[int, str, str]]
    more: bool


def keyset_page(
    database: Database,
    table: sa.Table,
    where: Sequence[sa.ColumnElement[bool]],
    *,
    descending: bool,
    after: tuple[int, str] | None,
    limit: int,
) -> RawPage:
    """Up to `limit` rows of `table` matching `where`, strictly after the key `after`."""
    time_column, id_column = table.c.timestamp_ms, table.c.id
    conditions = list(where)
    if after is not None:
        at, last = after
        if descending:
            conditions.append(
                sa.or_(time_column < at, sa.and_(time_column == at, id_column < last))
            )
        else:
            conditions.append(
                sa.or_(time_column > at, sa.and_(time_column == at, id_column > last))
            )
    order = (time_column.desc(), id_column.desc()) if descending else (time_column, id_column)
    query = (
        sa.select(time_column, id_column, sa.type_coerce(table.c.document, sa.Text))
        .where(*conditions)
        .order_by(*order)
        .limit(limit + 1)
    )
    with database.begin() as connection:
        rows = [(int(row[0]), str(row[1]), str(row[2])) for row in connection.execute(query)]
    return RawPage(rows[:limit], len(rows) > limit)


def time_bounds(
    table: sa.Table, start_ms: int | None, end_ms: int | None
) -> list[sa.ColumnElement[bool]]:
    """`start_ms <= timestamp <= end_ms` conditions (None bounds are open)."""
    conditions: list[sa.ColumnElement[bool]] = []
    if start_ms is not None:
        conditions.append(table.c.timestamp_ms >= start_ms)
    if end_ms is not None:
        conditions.append(table.c.timestamp_ms <= end_ms)
    return conditions


def searchable_rows(
    database: Database, table: sa.Table, where: Sequence[sa.ColumnElement[bool]]
) -> list[tuple[int, str, dict[str, Any]]]:
    """`(timestamp_ms, id, searchable event)` of every row matching `where`."""
    query = sa.select(table.c.timestamp_ms, table.c.id, table.c.search).where(*where)
    with database.begin() as connection:
        return [(int(row[0]), str(row[1]), row[2]) for row in connection.execute(query)]


def raw_documents(database: Database, table: sa.Table, ids: Sequence[str]) -> dict[str, str]:
    """The stored JSON text of the documents with these ids."""
    if not ids:
        return {}
    query = sa.select(table.c.id, sa.type_coerce(table.c.document, sa.Text)).where(
        table.c.id.in_(list(ids))
    )
    with database.begin() as connection:
        return {str(row[0]): str(row[1]) for row in connection.execute(query)}
