"""`third_party` (SPEC §3.14): alerts of another product, each one a result, rolled up per day.

A third-party rule maps events to severities with its own root queries and `thirdPartyCases`, so
it needs neither `queries` nor `cases`. Evaluation:

- an event matches a root query (`thirdPartyRuleOptions.rootQueries[]`, each with its own
  group-by fields, missing values dropping the event);
- its case is the first third-party case whose `query` it matches, else the default case
  (`defaultStatus`, info when absent; `defaultNotifications`). Rules that only give `queries`
  and `cases` (as exported partner rules do) pair them: case i is `cases[i]` for `queries[i]`;
- the signal key is (root query, case, group values): a key's first event opens a result, and
  the key's events at most 24 hours after its first_seen join it (the roll-up; evaluationWindow and
  keepAlive are not used); after 24 hours a new result opens;
- the title is `signalTitleTemplate` rendered like a message, else the rule name and case name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from engine.detect.base import DetectContext, Detection, DetectionMethod, PlanContext, register
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.prepare import RulePlan, combine, plan_rule, query_filter, query_rows
from engine.rules.checks import DefinitionCheck, as_list, as_object
from engine.rules.models import Rule, RuleCase, RuleQuery
from engine.scan.plan import TIME, ScanPlan

#: The roll-up of a third-party result: events of its key within a day of its first_seen.
ROLL_UP_MS = 86_400_000
#: The key columns before the group values: root query index, case index.
_ROOT, _CASE = "_k0", "_k1"
_LEAD = 2


def third_party_cases(rule: Rule) -> list[tuple[str | None, RuleCase]]:
    """Each third-party case as (its query, the case it gives), then the default case."""
    options = rule.options.thirdPartyRuleOptions
    if rule.thirdPartyCases:
        cases = [
            (
                case.query,
                RuleCase(status=case.status, name=case.name, notifications=case.notifications),
            )
            for case in rule.thirdPartyCases
        ]
    else:
        cases = [(query.query, case) for query, case in zip(rule.queries, rule.cases, strict=False)]
    default = RuleCase(
        status=(options.defaultStatus if options and options.defaultStatus else "info"),
        notifications=list(options.defaultNotifications or []) if options else [],
    )
    return [*cases, (None, default)]


@dataclass(frozen=True)
class ThirdPartyPlan(RulePlan):
    """The plan of a third-party rule: its root queries; the group key leads with the root
    query's and the case's index."""

    roots: tuple[tuple[str, ...], ...] = ()

    def signal_group(self, key: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
        """The root query's own group-by fields and values."""
        fields = list(self.roots[int(key[0])])
        return fields, dict(zip(fields, key[_LEAD : _LEAD + len(fields)], strict=True))


class ThirdParty(DetectionMethod):
    """Third-party rules: their checks (root queries, case queries) and their roll-up."""

    name = "third_party"
    explainable = False
    explain_instead = (
        "a third_party rule has no evaluation: each event is a result of its case, rolled up "
        "for 24 hours per root query, case and group (`hindsight search` its root query)"
    )
    needs_queries = False
    needs_cases = False
    per_group = True  # a result rolls up the events of one (root query, case, group values)

    def partition_keys(self, rule: RulePlan) -> list[tuple[str, ...]] | None:
        """Each root query's own group-by values (its index and the case are fixed by the
        row), when every root query has some."""
        keys = [query.keys for query in rule.queries]
        return keys if keys and all(keys) else None

    def check(self, check: DefinitionCheck) -> None:
        """At least one root query; every root and case query parses."""
        at = "options.thirdPartyRuleOptions.rootQueries"
        options = as_object(check.options.get("thirdPartyRuleOptions"))
        roots = as_list(options.get("rootQueries"))
        if not roots:
            check.add(at, "a third_party rule needs at least one root query")
        for i, root in enumerate(roots):
            check.syntax(f"{at}[{i}].query", as_object(root).get("query"))
        for i, case in enumerate(as_list(check.data.get("thirdPartyCases"))):
            check.syntax(f"thirdPartyCases[{i}].query", as_object(case).get("query"))

    def plan(self, rule: Rule, plan: ScanPlan, context: PlanContext) -> RulePlan:
        """The root queries as the rule's queries, each carrying which case queries matched."""
        options = rule.options.thirdPartyRuleOptions
        roots = options.rootQueries if options else []
        cases = third_party_cases(rule)
        inner = rule.model_copy(
            update={
                "queries": [
                    RuleQuery(
                        query=root.query, aggregation="none", groupByFields=root.groupByFields
                    )
                    for root in roots
                ],
                "cases": [case for _, case in cases],
                "referenceTables": None,
                "groupSignalsBy": None,
            }
        )
        planned = plan_rule(inner, plan, context.tables)
        case_rule = rule.model_copy(
            update={
                "queries": [RuleQuery(query=text or "*") for text, _ in cases[:-1]],
                "filters": [],
                "referenceTables": None,
            }
        )
        flags = tuple(
            (
                f"_tc{index}",
                plan.column(
                    query_filter(case_rule, index, plan.schema, planned.calculated, context.tables),
                    "c",
                ),
            )
            for index in range(len(cases) - 1)
        )
        queries = tuple(replace(query, carry=flags) for query in planned.queries)
        return ThirdPartyPlan(
            inner,
            queries,
            _LEAD + planned.arity,
            planned.calculated,
            title=options.signalTitleTemplate if options else None,
            roots=tuple(tuple(root.groupByFields) for root in roots),
        )

    def matches(self, rule: RulePlan, rows: pl.DataFrame, context: DetectContext) -> pl.DataFrame:
        """One row per (event, root query): the key (root, case, group values padded)."""
        keys = rule.key_columns
        parts = []
        for query in rule.queries:
            part = query_rows(query, rows)
            shifted = {f"_k{p}": f"_k{p + _LEAD}" for p in range(len(query.keys))}
            case: pl.Expr = pl.lit(len(query.carry))
            for index in reversed(range(len(query.carry))):
                case = pl.when(pl.col(f"_tc{index}").fill_null(False)).then(index).otherwise(case)
            part = part.rename(shifted).with_columns(
                pl.lit(str(query.index)).alias(_ROOT),
                case.cast(pl.String).alias(_CASE),
                *[pl.lit("").alias(key) for key in keys[_LEAD + len(query.keys) :]],
            )
            parts.append(part.drop([name for name, _ in query.carry]))
        return combine(parts, keys)

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """Every event is an instant of its key, where its case matches."""
        keys = rule.key_columns
        instants = matches.select(*keys, TIME).unique(maintain_order=True)
        if context.start is not None:
            instants = instants.filter(pl.col(TIME) >= context.start)
        return Detection(
            instants.with_columns(
                pl.col(_CASE).cast(pl.Int32).alias(CASE), pl.col(TIME).alias(WINDOW_START)
            )
        )

    def lifecycle_ms(self, rule: RulePlan) -> tuple[int, int]:
        """The 24-hour roll-up from a result's first event."""
        return ROLL_UP_MS, ROLL_UP_MS


register(ThirdParty())
