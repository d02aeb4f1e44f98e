"""Reference tables (SPEC §3.16): CSV or Parquet files in a folder the user names.

A rule's `referenceTables[]` entry `{tableName, columnName, logFieldPath, checkPresence,
ruleQueryName}` keeps, for the named query, only the events whose value at `logFieldPath` is in
the table's column (`checkPresence: true`, "IN") or is not (`false`, "NOT IN"). A table is the file
`<tableName>.csv` or `<tableName>.parquet` of the folder; its values compare as text, like
group-by values. A missing folder, table or column is a `ReferenceTableError` naming it, raised
when the rule is planned, before the scan.

Tables may also be given in memory (`{name: polars DataFrame}`), which the tests and the Python
API use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from engine.archive.manifest import file_sha256
from engine.core.errors import ReferenceTableError
from engine.detect.keys import text_values
from engine.rules.models import ReferenceTable

#: The file suffixes a table may have, in the order they are looked for.
TABLE_SUFFIXES = (".csv", ".parquet")


class ReferenceTables:
    """The reference tables of a run: a folder of CSV/Parquet files, or frames by name."""

    def __init__(
        self, folder: Path | None = None, frames: Mapping[str, pl.DataFrame] | None = None
    ) -> None:
        self.folder = folder
        self._given = frozenset(frames or {})
        self._frames: dict[str, pl.DataFrame] = dict(frames or {})

    @classmethod
    def of(
        cls, tables: str | Path | Mapping[str, pl.DataFrame] | ReferenceTables | None
    ) -> ReferenceTables:
        """Tables from a folder path, a mapping of frames, or nothing (no tables)."""
        if isinstance(tables, ReferenceTables):
            return tables
        if tables is None:
            return cls()
        if isinstance(tables, Mapping):
            return cls(frames=tables)
        folder = Path(tables)
        if not folder.is_dir():
            raise ReferenceTableError(f"the reference tables folder {folder} does not exist")
        return cls(folder=folder)

    def names(self) -> list[str]:
        """The names of the tables available, sorted."""
        found = set(self._frames)
        if self.folder is not None:
            found |= {p.stem for p in self.folder.iterdir() if p.suffix in TABLE_SUFFIXES}
        return sorted(found)

    def file(self, name: str) -> Path | None:
        """The file of the folder that holds table `name` (None: not in the folder)."""
        for suffix in TABLE_SUFFIXES if self.folder is not None else ():
            assert self.folder is not None
            path = self.folder / f"{name}{suffix}"
            if path.is_file():
                return path
        return None

    def record(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """What a run manifest records of the named tables: each one's file with its SHA-256,
        or that it was given in memory (a name that is neither is recorded alone)."""
        entries: list[dict[str, Any]] = []
        for name in sorted(set(names)):
            entry: dict[str, Any] = {"name": name}
            if name in self._given:
                entry["in_memory"] = True
            elif (path := self.file(name)) is not None:
                entry.update(path=str(path.resolve()), sha256=file_sha256(path))
            entries.append(entry)
        return entries

    def table(self, name: str) -> pl.DataFrame:
        """The table called `name` (`ReferenceTableError` when there is none)."""
        if name in self._frames:
            return self._frames[name]
        path = self.file(name)
        if path is not None:
            try:
                frame = (
                    pl.read_csv(path, infer_schema=False)
                    if path.suffix == ".csv"
                    else pl.read_parquet(path)
                )
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise ReferenceTableError(
                    f"reference table {name!r} cannot be read ({path}): {exc}"
                ) from None
            self._frames[name] = frame
            return frame
        where = f" in {self.folder}" if self.folder is not None else ""
        known = ", ".join(self.names()) or "none"
        raise ReferenceTableError(
            f"reference table {name!r} was not found{where} (tables: {known})"
        )

    def values(self, name: str, column: str) -> pl.Series:
        """The distinct values (as text) of a table's column; names a missing column."""
        frame = self.table(name)
        if column not in frame.columns:
            columns = ", ".join(frame.columns) or "none"
            raise ReferenceTableError(
                f"reference table {name!r} has no column {column!r} (columns: {columns})"
            )
        return frame.get_column(column).cast(pl.String).drop_nulls().unique().sort()


def table_filter(
    table: ReferenceTable, tables: ReferenceTables, schema: Mapping[str, pl.DataType]
) -> pl.Expr:
    """The filter a `referenceTables` entry adds to its query (never null).

    `checkPresence: true` keeps events whose value at `logFieldPath` is in the column (some
    element, for an array); `false` keeps the others, events without the field included.
    """
    values = tables.values(table.tableName, table.columnName).implode()
    field = text_values(table.logFieldPath, schema)
    dtype = pl.LazyFrame(schema=dict(schema)).select(field).collect_schema().dtypes()[0]
    if isinstance(dtype, pl.List):
        present = field.list.eval(pl.element().is_in(values)).list.any()
    else:
        present = field.is_in(values)
    present = present.fill_null(False)
    return present if table.checkPresence else ~present
