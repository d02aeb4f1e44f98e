"""A rule made ready to run: compiled filters, registered field values, its matches frame.

`plan_rule` compiles each query (query AND additionalFilters AND customQueryExtension AND the
legacy `filters`) and registers in the scan plan the values the detection needs. `matches` turns
the scanned rows into the rule's *matches frame*: one row per (event, query, group), with

- `id`, `_t` (epoch ms), `_q` (query index);
- `_k0.._kn`: the group key as text (SPEC §3.6 step 2): arrays fan out to one row per element
  (a cartesian product across several array fields); a missing value drops the row, or becomes
  `N/A` with `hasOptionalGroupByFields`; queries join on these value tuples positionally;
- `_d`: the distinct values of a cardinality query (List(String); several fields form one tuple);
- `_ms` / `_mx`: the row's metric sum and maximum for sum/max queries.

A query without group-by fields, in a rule whose other queries have some, contributes its events to
every group of the other queries (SPEC §3.6 step 3). The evaluation window and the signal key
(`groupSignalsBy`) are read here too: every method's lifecycle uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl

from engine.core.errors import UnsupportedRuleError
from engine.detect.keys import numeric_values, text_values
from engine.query import compile_query, parse
from engine.rules.models import Rule, legacy_filter_text
from engine.scan.plan import TIME, ScanPlan

NOT_AVAILABLE = "N/A"
_TUPLE_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class QueryPlan:
    """One rule query, as plan columns."""

    index: int
    name: str
    aggregation: str
    group_by: tuple[str, ...]
    optional: bool
    flag: str
    keys: tuple[str, ...]
    distinct: tuple[str, ...]
    metric: str | None


@dataclass(frozen=True)
class RulePlan:
    """A rule ready for detection over the rows of a scan plan."""

    rule: Rule
    queries: tuple[QueryPlan, ...]
    arity: int

    @cached_property
    def key_columns(self) -> list[str]:
        """Names of the group key columns of the matches frame."""
        return [f"_k{position}" for position in range(self.arity)]

    @cached_property
    def group_by_paths(self) -> list[str]:
        """The group-by fields, from the first query that has them."""
        return next((list(q.group_by) for q in self.queries if q.group_by), [])


def plan_rule(rule: Rule, plan: ScanPlan) -> RulePlan:
    """Compile a rule's queries and register its filters and values in `plan`."""
    if rule.referenceTables:
        raise UnsupportedRuleError(f"rule {rule.name!r}: reference tables are not supported yet")
    if rule.calculatedFields:
        raise UnsupportedRuleError(f"rule {rule.name!r}: calculated fields are not supported yet")
    schema = plan.schema
    legacy = legacy_filter_text(rule.filters)
    names = rule.query_names()
    queries: list[QueryPlan] = []
    for index, query in enumerate(rule.queries):
        texts = [*query.filter_texts(), *([legacy] if legacy else [])]
        condition = pl.lit(True)
        for text in texts:
            condition = condition & compile_query(parse(text), schema)
        metric_fields = query.metric_fields()
        queries.append(
            QueryPlan(
                index=index,
                name=names[index],
                aggregation=query.aggregation,
                group_by=tuple(query.groupByFields),
                optional=query.hasOptionalGroupByFields,
                flag=plan.flag(condition),
                keys=tuple(plan.column(text_values(f, schema), "k") for f in query.groupByFields),
                distinct=tuple(
                    plan.column(text_values(f, schema), "d") for f in query.distinctFields
                )
                if query.aggregation == "cardinality"
                else (),
                metric=plan.column(numeric_values(metric_fields[0], schema), "m")
                if query.aggregation in ("sum", "max") and metric_fields
                else None,
            )
        )
    arity = max((len(q.group_by) for q in queries), default=0)
    return RulePlan(rule, tuple(queries), arity)


def matches(rule: RulePlan, scanned: pl.DataFrame) -> pl.DataFrame:
    """The rule's matches frame (see the module docstring), sorted by group then time."""
    keys = rule.key_columns
    parts = [_query_rows(query, scanned) for query in rule.queries]
    grouped = [part for part, query in zip(parts, rule.queries, strict=True) if query.keys]
    if keys and len(grouped) < len(parts):
        groups = pl.concat([part.select(keys) for part in grouped]).unique()
        parts = [
            part if query.keys else part.join(groups, how="cross")
            for part, query in zip(parts, rule.queries, strict=True)
        ]
    frame = pl.concat(parts, how="diagonal_relaxed")
    for column, dtype in (
        ("_d", pl.List(pl.String())),
        ("_ms", pl.Float64()),
        ("_mx", pl.Float64()),
    ):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(column))
    return frame.unique(subset=["id", "_q", *keys], keep="first").sort([*keys, TIME, "id"])


def _query_rows(query: QueryPlan, scanned: pl.DataFrame) -> pl.DataFrame:
    rows = scanned.filter(pl.col(query.flag))
    columns: list[pl.Expr] = [
        pl.col("id"),
        pl.col(TIME),
        pl.lit(query.index, dtype=pl.UInt8()).alias("_q"),
        *[pl.col(name).alias(f"_k{position}") for position, name in enumerate(query.keys)],
    ]
    if query.distinct:
        columns.append(_distinct_values(query.distinct, scanned.schema).alias("_d"))
    if query.metric is not None:
        columns += _metric_values(query.metric, scanned.schema)
    frame = rows.select(columns)
    key_names = [f"_k{position}" for position in range(len(query.keys))]
    for name in key_names:
        if isinstance(frame.schema[name], pl.List):
            frame = frame.explode(name, empty_as_null=True)
    if key_names:
        if query.optional:
            frame = frame.with_columns(pl.col(key_names).fill_null(NOT_AVAILABLE))
        else:
            frame = frame.drop_nulls(key_names)
    return frame


def _distinct_values(columns: tuple[str, ...], schema: pl.Schema) -> pl.Expr:
    """Per row, the list of distinct-value tuples (as text) a cardinality query counts."""
    if len(columns) == 1:
        (name,) = columns
        if isinstance(schema[name], pl.List):
            return pl.col(name)
        return pl.when(pl.col(name).is_not_null()).then(pl.concat_list(pl.col(name)))
    parts = [
        pl.col(name).list.join(",") if isinstance(schema[name], pl.List) else pl.col(name)
        for name in columns
    ]
    joined = pl.concat_str(parts, separator=_TUPLE_SEPARATOR, ignore_nulls=False)
    return pl.when(joined.is_not_null()).then(pl.concat_list(joined))


def _metric_values(column: str, schema: pl.Schema) -> list[pl.Expr]:
    """The row's metric sum (`_ms`) and maximum (`_mx`)."""
    if isinstance(schema[column], pl.List):
        values = pl.col(column)
        return [values.list.sum().alias("_ms"), values.list.max().alias("_mx")]
    return [pl.col(column).alias("_ms"), pl.col(column).alias("_mx")]


def window_ms(window_seconds: int) -> int:
    """An evaluation window in ms; W = 0 is 1 ms: `(t - 1, t]` keeps only the same millisecond."""
    return max(window_seconds * 1000, 1)


def window_period(window_seconds: int) -> str:
    """The polars rolling period of an evaluation window."""
    return f"{window_ms(window_seconds)}i"


def signal_key_positions(rule: RulePlan) -> list[int]:
    """Positions in the group key of the `groupSignalsBy` fields (all positions when unset)."""
    wanted = rule.rule.groupSignalsBy
    if not wanted:
        return list(range(rule.arity))
    positions: list[int] = []
    for field in wanted:
        for query in rule.queries:
            if field in query.group_by:
                positions.append(query.group_by.index(field))
                break
    return positions
