"""A rule made ready to run: compiled filters, registered field values, its matches frame.

`plan_rule` compiles each query (query AND additionalFilters AND customQueryExtension AND the
legacy `filters` AND its reference tables, with the rule's calculated fields) and registers in the
scan plan the values the detection needs. `matches` turns the scanned rows into the rule's
*matches frame*: one row per (event, query, group), with

- `id`, `_t` (epoch ms), `_q` (query index);
- `_k0.._kn`: the group key as text (SPEC §3.6 step 2): arrays fan out to one row per element
  (a cartesian product across several array fields); a missing value drops the row, or becomes
  `N/A` with `hasOptionalGroupByFields`; queries join on these value tuples positionally;
- `_d`: the distinct values of a cardinality query (List(String); several fields form one tuple);
- `_ms` / `_mx`: the row's metric sum and maximum for sum/max queries;
- the `carry` columns a method asked for (new values, locations...), under its own names.

A query without group-by fields, in a rule whose other queries have some, contributes its events to
every group of the other queries (SPEC §3.6 step 3). The evaluation window and the signal key
(`groupSignalsBy`) are read here too: every method's lifecycle uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from engine.core.errors import FormulaError, UnsupportedRuleError
from engine.detect.keys import numeric_values, text_values
from engine.detect.tables import ReferenceTables, table_filter
from engine.query import compile_query, parse
from engine.query.formula import check_calculated_names, compile_calculated
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
    #: Extra columns of the matches frame: (name in the frame, plan column).
    carry: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RulePlan:
    """A rule ready for detection over the rows of a scan plan.

    `calculated` holds the expressions of the rule's calculated fields (by name without `#`),
    for a method that reads one as a value.
    """

    rule: Rule
    queries: tuple[QueryPlan, ...]
    arity: int
    calculated: Mapping[str, pl.Expr] = field(default_factory=dict)
    #: A template for the results' titles (None: the rule name, then ` - <case name>`).
    title: str | None = None

    @cached_property
    def key_columns(self) -> list[str]:
        """Names of the group key columns of the matches frame."""
        return [f"_k{position}" for position in range(self.arity)]

    @cached_property
    def group_by_paths(self) -> list[str]:
        """The group-by fields, from the first query that has them."""
        return next((list(q.group_by) for q in self.queries if q.group_by), [])

    def signal_group(self, key: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
        """A result's `groupByPaths` and `group_by` values, from its signal key."""
        paths = self.group_by_paths
        return paths, dict(zip(self.rule.groupSignalsBy or paths, key, strict=True))

    def text_values(self, name: str, schema: Mapping[str, pl.DataType]) -> pl.Expr:
        """A rule field's values as text (`keys.text_values`; a `#name` is its formula)."""
        if name.startswith("#") and name[1:] in self.calculated:
            return self.calculated[name[1:]].cast(pl.String)
        return text_values(name, schema)

    def numeric_values(self, name: str, schema: Mapping[str, pl.DataType]) -> pl.Expr:
        """A rule field's numeric values (`keys.numeric_values`; a `#name` is its formula)."""
        if name.startswith("#") and name[1:] in self.calculated:
            return self.calculated[name[1:]].cast(pl.Float64, strict=False)
        return numeric_values(name, schema)


def calculated_fields(rule: Rule, schema: Mapping[str, pl.DataType]) -> dict[str, pl.Expr]:
    """The expressions of the rule's calculated fields (`FormulaError` names the field)."""
    fields = [
        (item.name.removeprefix("#"), item.expression) for item in rule.calculatedFields or []
    ]
    try:
        return compile_calculated(fields, schema)
    except FormulaError as exc:
        raise UnsupportedRuleError(f"rule {rule.name!r}: calculated field: {exc}") from None


def query_filter(
    rule: Rule,
    index: int,
    schema: Mapping[str, pl.DataType],
    calculated: Mapping[str, pl.Expr],
    tables: ReferenceTables,
) -> pl.Expr:
    """The filter of `rule.queries[index]`: its texts, the legacy filters, its reference tables."""
    query = rule.queries[index]
    legacy = legacy_filter_text(rule.filters)
    condition = pl.lit(True)
    for text in [*query.filter_texts(), *([legacy] if legacy else [])]:
        node = parse(text)
        check_calculated_names(text, node, list(calculated))
        condition = condition & compile_query(node, schema, rule.casing, calculated)
    name = rule.query_names()[index]
    for table in rule.referenceTables or []:
        if table.ruleQueryName == name:
            condition = condition & table_filter(table, tables, schema)
    return condition


def plan_rule(rule: Rule, plan: ScanPlan, tables: ReferenceTables | None = None) -> RulePlan:
    """Compile a rule's queries and register its filters and values in `plan`.

    A reference table or column that `tables` lacks is a `ReferenceTableError`, a bad calculated
    field an `UnsupportedRuleError` naming it, both raised here, before the scan.
    """
    schema = plan.schema
    tables = tables or ReferenceTables()
    calculated = calculated_fields(rule, schema)
    names = rule.query_names()
    planned = RulePlan(rule, (), 0, calculated)
    queries: list[QueryPlan] = []
    for index, query in enumerate(rule.queries):
        metric_fields = query.metric_fields()
        queries.append(
            QueryPlan(
                index=index,
                name=names[index],
                aggregation=query.aggregation,
                group_by=tuple(query.groupByFields),
                optional=query.hasOptionalGroupByFields,
                flag=plan.flag(query_filter(rule, index, schema, calculated, tables)),
                keys=tuple(
                    plan.column(planned.text_values(f, schema), "k") for f in query.groupByFields
                ),
                distinct=tuple(
                    plan.column(planned.text_values(f, schema), "d") for f in query.distinctFields
                )
                if query.aggregation == "cardinality"
                else (),
                metric=plan.column(planned.numeric_values(metric_fields[0], schema), "m")
                if query.aggregation in ("sum", "max") and metric_fields
                else None,
            )
        )
    arity = max((len(q.group_by) for q in queries), default=0)
    return RulePlan(rule, tuple(queries), arity, calculated)


def matches(rule: RulePlan, scanned: pl.DataFrame) -> pl.DataFrame:
    """The rule's matches frame (see the module docstring), sorted by group then time."""
    keys = rule.key_columns
    parts = [query_rows(query, scanned) for query in rule.queries]
    grouped = [part for part, query in zip(parts, rule.queries, strict=True) if query.keys]
    if keys and len(grouped) < len(parts):
        groups = pl.concat([part.select(keys) for part in grouped]).unique()
        parts = [
            part if query.keys else part.join(groups, how="cross")
            for part, query in zip(parts, rule.queries, strict=True)
        ]
    return combine(parts, keys)


def combine(parts: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    """One matches frame from per-query parts: every column present, one row per (event,
    query, group), sorted by group then time."""
    frame = pl.concat(parts, how="diagonal_relaxed")
    for column, dtype in (
        ("_d", pl.List(pl.String())),
        ("_ms", pl.Float64()),
        ("_mx", pl.Float64()),
    ):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(column))
    return frame.unique(subset=["id", "_q", *keys], keep="first").sort([*keys, TIME, "id"])


def query_rows(query: QueryPlan, scanned: pl.DataFrame) -> pl.DataFrame:
    """The rows of one query: id, time, query index, its group key (fanned out), values."""
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
    columns += [pl.col(column).alias(name) for name, column in query.carry]
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
    for name in wanted:
        for query in rule.queries:
            if name in query.group_by:
                positions.append(query.group_by.index(name))
                break
    return positions
