"""Dictionary-coded string predicates: many rules' tests of one text column, on its distinct values.

A library of rules tests the same few text columns again and again, and a column such as the user
or the country holds few distinct values for many rows. Evaluated directly, each predicate runs
over every row. Coded, a column's distinct values are read once, each predicate runs once per
distinct value, and a row's answer is a look-up of its value's code (`Enum` physical codes) in the
codes that satisfy the predicate: one cast per column, then integer `is_in` per predicate.

That look-up costs about what a whole-value equality or a prefix test costs per row (polars runs
those fast), so only the costly predicates are coded: case-insensitive matches (a lower-cased copy
of every value) and wildcards tested by a regular expression. While a scan plan compiles its rules
(`collecting`), the compiler registers each costly predicate on a scalar text column as a *leaf*
(`Leaves.leaf`: the test over `pl.col(column)`, registered once) and puts a reference to the
leaf's column in the filter. The plan computes the leaves before its
filters (`Leaves.exprs`): coded for the columns with several leaves whose distinct values are few
against the rows read (`worth_coding`, decided from the data of each piece the scan reads), else
directly. Both give the same answer for every row, nulls included (the test's answer on a null is
taken from the test itself).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import polars as pl

#: A column is coded when it has at least this many leaves (repeated predicates)...
MIN_LEAVES = 2
#: ... and at most this share of the rows read are distinct values.
MAX_DISTINCT_SHARE = 0.05


@dataclass(frozen=True)
class Leaf:
    """One predicate on a scalar text column: `test`, a boolean expression of `pl.col(column)`."""

    column: str
    test: pl.Expr


class Leaves:
    """The predicates on scalar text columns of a scan plan, each registered once as `_l<n>`."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._leaves: dict[str, Leaf] = {}

    def leaf(self, column: str, test: pl.Expr) -> str:
        """The name of the plan column holding `test` (a boolean expression of `column`)."""
        key = f"{column}\x00{test.meta.serialize(format='json')}"
        name = self._names.get(key)
        if name is None:
            name = f"_l{len(self._leaves)}"
            self._names[key] = name
            self._leaves[name] = Leaf(column, test)
        return name

    def candidates(self) -> list[str]:
        """The columns with enough leaves that coding them may pay."""
        counts: dict[str, int] = {}
        for leaf in self._leaves.values():
            counts[leaf.column] = counts.get(leaf.column, 0) + 1
        return [column for column, count in counts.items() if count >= MIN_LEAVES]

    def distinct(self, scan: pl.LazyFrame) -> pl.LazyFrame:
        """One row: the number of rows of `scan`, and each candidate column's distinct values."""
        return scan.select(
            pl.len().alias("_rows"),
            *[pl.col(column).unique().drop_nulls().implode() for column in self.candidates()],
        )

    def exprs(self, distinct: Mapping[str, pl.Series]) -> tuple[list[pl.Expr], list[pl.Expr]]:
        """The code columns of the columns of `distinct` (given their distinct values), then
        every leaf's column: a look-up of its column's code, or the test itself."""
        coded = {
            column: _Dictionary(values, f"_c{number}")
            for number, (column, values) in enumerate(distinct.items())
        }
        codes = [dictionary.codes(column) for column, dictionary in coded.items()]
        leaves = [
            (coded[leaf.column].look_up(leaf) if leaf.column in coded else leaf.test).alias(name)
            for name, leaf in self._leaves.items()
        ]
        return codes, leaves

    def __bool__(self) -> bool:
        return bool(self._leaves)


def worth_coding(distinct: pl.DataFrame) -> dict[str, pl.Series]:
    """The columns of a `Leaves.distinct` row whose distinct values are few enough to code."""
    rows = int(distinct["_rows"][0])
    found: dict[str, pl.Series] = {}
    for column in distinct.columns[1:]:
        values = distinct[column][0]
        if 0 < len(values) <= MAX_DISTINCT_SHARE * rows:
            found[column] = values
    return found


class _Dictionary:
    """A column's distinct values as an `Enum` (its code column `name`), each leaf's answer per
    value computed once."""

    def __init__(self, values: pl.Series, name: str) -> None:
        self.values = values.cast(pl.String)
        self.dtype = pl.Enum(self.values)
        self.name = name

    def codes(self, column: str) -> pl.Expr:
        """The code of each row's value (null for a null)."""
        return pl.col(column).cast(self.dtype).to_physical().alias(self.name)

    def look_up(self, leaf: Leaf) -> pl.Expr:
        """`leaf.test` for every row, as a look-up of the row's code."""
        values = pl.concat([self.values, pl.Series([None], dtype=pl.String)])
        frame = pl.DataFrame({leaf.column: values})
        answers = frame.select(leaf.test.fill_null(False)).to_series()
        codes = self.values.cast(self.dtype).to_physical().filter(answers[:-1])
        return (
            pl.when(pl.col(self.name).is_null())
            .then(pl.lit(bool(answers[-1])))
            .otherwise(pl.col(self.name).is_in(codes.implode()))
        )


_ACTIVE: ContextVar[Leaves | None] = ContextVar("leaves", default=None)


@contextmanager
def collecting(leaves: Leaves) -> Iterator[None]:
    """Within the block, the compiler registers scalar text predicates in `leaves`."""
    token = _ACTIVE.set(leaves)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active() -> Leaves | None:
    """The leaves the compiler registers predicates in (None: it compiles them in place)."""
    return _ACTIVE.get()
