"""The scan plan: every filter and derived value of a batch of rules, computed in ONE scan.

Rules register their query filters (`flag`) and the field values they need (`column`): group-by
values, distinct values, metrics. Identical expressions are registered once, so ten rules that
filter on `source:cloudtrail` and group by `@userIdentity.arn` cost one filter and one column. The
scan keeps a row when any filter matched and projects only the registered columns: what reaches
detection is small, whatever the archive size.

A plan can also be read one *hash partition* at a time (`Partition`): a filter registered with the
columns of its signal key (`partition_by`) keeps, in partition `p` of `n`, only the rows whose key
hashes to `p`, so every signal key lies whole in one partition and a per-group detection over the
partitions in turn finds what it finds over all the rows, holding a `1/n` share of them at a time.
Filters registered without a key keep all their rows, in partition 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from engine.query.coding import Leaves, worth_coding

TIME = "_t"
#: The seed of the partition hash (fixed: the same key always lands in the same partition).
_HASH_SEED = 0


@dataclass(frozen=True)
class Partition:
    """Hash partition `number` of `count` (0 <= number < count)."""

    number: int
    count: int


class ScanPlan:
    """Filters and derived columns shared by the rules of one job run."""

    def __init__(self, schema: Mapping[str, pl.DataType]) -> None:
        self.schema = dict(schema)
        self._exprs: dict[str, pl.Expr] = {}
        self._names: dict[str, str] = {}
        self.flags: list[str] = []
        self._pairs: dict[tuple[str, str], None] = {}  # (flag, partition column), in order
        self._whole: dict[str, None] = {}  # flags some rule reads whole
        #: The text predicates of the filters compiled while `coding.collecting(leaves)`.
        self.leaves = Leaves()

    def column(self, expr: pl.Expr, prefix: str = "v") -> str:
        """The plan column computing `expr` (registered once per distinct expression)."""
        key = expr.meta.serialize(format="json")
        name = self._names.get(key)
        if name is None:
            name = f"_{prefix}{len(self._exprs)}"
            self._names[key] = name
            self._exprs[name] = expr
        return name

    def flag(self, condition: pl.Expr) -> str:
        """The plan column holding whether a row matches `condition` (a rule query's filter)."""
        name = self.column(condition, "f")
        if name not in self.flags:
            self.flags.append(name)
        return name

    def dtype(self, name: str) -> pl.DataType:
        """The type of plan column `name`."""
        frame = pl.LazyFrame(schema=self.schema).select(self._exprs[name].alias(name))
        return frame.collect_schema()[name]

    def partition_by(
        self, flag: str, keys: Sequence[str], count: int, *, missing: str | None = None
    ) -> str:
        """Read the rows of filter `flag` by hash partitions (of `count`) of the plan columns
        `keys` (scalar text; a null hashed as `missing` when given); the name of the column
        holding each row's partition number."""
        fields = [
            (self._exprs[key] if missing is None else self._exprs[key].fill_null(missing)).alias(
                f"k{n}"
            )
            for n, key in enumerate(keys)
        ]
        name = self.column(pl.struct(fields).hash(_HASH_SEED) % count, "h")
        self._pairs[flag, name] = None
        return name

    def keep_whole(self, flag: str) -> None:
        """Read every row of filter `flag` in partition 0 (a rule that is not partitioned)."""
        self._whole[flag] = None

    def earliest(
        self, scan: pl.LazyFrame, reads: Sequence[tuple[Sequence[str], int | None]]
    ) -> pl.LazyFrame:
        """One row: per `(flags, low)` of `reads`, the earliest time (epoch ms) of the rows that
        match one of the filters `flags` at or after `low` (null: none), in column `str(n)`."""
        time = pl.col("timestamp").dt.epoch("ms")
        earliest = [
            time.filter(
                pl.any_horizontal([self._exprs[flag].fill_null(False) for flag in flags] or False)
                & (pl.lit(True) if low is None else time >= low)
            )
            .min()
            .alias(str(number))
            for number, (flags, low) in enumerate(reads)
        ]
        return self.with_leaves(scan).select(earliest)

    def with_leaves(self, scan: pl.LazyFrame) -> pl.LazyFrame:
        """`scan` with the columns of the plan's text predicates (`engine.query.coding`): coded
        on the columns whose distinct values in `scan` are few (read first), else direct."""
        if not self.leaves:
            return scan
        distinct = self.leaves.distinct(scan).collect() if self.leaves.candidates() else None
        codes, leaves = self.leaves.exprs({} if distinct is None else worth_coding(distinct))
        return scan.with_columns(codes).with_columns(leaves)

    def keep(self, partition: Partition) -> pl.Expr:
        """Whether a row of `apply`'s output belongs to `partition` (see the module docstring):
        one of its filters holds and, for a partitioned filter, its key hashes to the partition.
        A row can belong to several partitions (rules hash different keys)."""
        paired = {flag for flag, _ in self._pairs}
        whole = [f for f in self.flags if f in self._whole or f not in paired]
        keep = [pl.col(flag) & (pl.col(name) == partition.number) for flag, name in self._pairs]
        keep += [pl.col(flag) for flag in whole] if partition.number == 0 else []
        return pl.any_horizontal(keep) if keep else pl.lit(False)

    def apply(self, scan: pl.LazyFrame, partition: Partition | None = None) -> pl.LazyFrame:
        """The rows matching any registered filter, with `id`, `_t` (epoch ms) and plan columns,
        partition columns included (only those of `partition` when given: `keep`)."""
        flags = [self._exprs[name].fill_null(False).alias(name) for name in self.flags]
        if not flags:
            return scan.select(pl.col("id"), pl.col("timestamp").dt.epoch("ms").alias(TIME)).head(0)
        values = [expr.alias(name) for name, expr in self._exprs.items() if name not in self.flags]
        rows = (
            self.with_leaves(scan)
            .with_columns(flags)
            .filter(pl.any_horizontal(pl.col(name) for name in self.flags))
            .select(
                pl.col("id"),
                pl.col("timestamp").dt.epoch("ms").alias(TIME),
                *[pl.col(name) for name in self.flags],
                *values,
            )
        )
        return rows if partition is None else rows.filter(self.keep(partition))
