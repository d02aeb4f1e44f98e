"""The scan plan: every filter and derived value of a batch of rules, computed in ONE scan.

Rules register their query filters (`flag`) and the field values they need (`column`): group-by
values, distinct values, metrics. Identical expressions are registered once, so ten rules that
filter on `source:cloudtrail` and group by `@userIdentity.arn` cost one filter and one column. The
scan keeps a row when any filter matched and projects only the registered columns: what reaches
detection is small, whatever the archive size.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

TIME = "_t"


class ScanPlan:
    """Filters and derived columns shared by the rules of one job run."""

    def __init__(self, schema: Mapping[str, pl.DataType]) -> None:
        self.schema = dict(schema)
        self._exprs: dict[str, pl.Expr] = {}
        self._names: dict[str, str] = {}
        self.flags: list[str] = []

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

    def apply(self, scan: pl.LazyFrame) -> pl.LazyFrame:
        """The rows matching any registered filter, with `id`, `_t` (epoch ms) and plan columns."""
        flags = [self._exprs[name].fill_null(False).alias(name) for name in self.flags]
        values = [expr.alias(name) for name, expr in self._exprs.items() if name not in self.flags]
        if not flags:
            return scan.select(pl.col("id"), pl.col("timestamp").dt.epoch("ms").alias(TIME)).head(0)
        return (
            scan.with_columns(flags)
            .filter(pl.any_horizontal(self.flags))
            .select(
                pl.col("id"),
                pl.col("timestamp").dt.epoch("ms").alias(TIME),
                *[pl.col(name) for name in self.flags],
                *values,
            )
        )
