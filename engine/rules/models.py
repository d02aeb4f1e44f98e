"""The detection rule and historical job models (SPEC §3.1-3.3), with Datadog's JSON field names.

`Rule` is a stored Datadog detection rule as the rules API returns it (and as exported rule
files hold it); `JobDefinition` is the `jobDefinition` of a historical job request and `FromRule`
its `fromRule` alternative. Both definitions share the queries/cases/options pieces and the
helpers the detection engine reads (`query_names`, `case_conditions`, ...).

The classes check types, enums and ranges only; `engine.rules.checks` adds the semantic checks
(windows, metrics, conditions, query syntax, each detection method's own) and reports every problem
at once. Build them with `validate_rule` / `validate_job_definition` rather than `model_validate`.
"""

# ruff: noqa: N815  (field names are Datadog's camelCase wire names)

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PrivateAttr

from engine.core.errors import Problem, RuleValidationError
from engine.core.times import EARLIEST_MS, LATEST_MS
from engine.query.casing import DATADOG, Casing
from engine.rules.checks import SUPPORTED_RULE_TYPES, job_problems, method_rules, positional_name
from engine.rules.conditions import Condition, parse_condition
from engine.rules.options import JobOptions, RuleOptions, Severity, WireModel
from engine.rules.problems import validated

if TYPE_CHECKING:
    from engine.rules.options import DetectionMethod

__all__ = [
    "MAX_CASES",
    "MAX_QUERIES",
    "SUPPORTED_RULE_TYPES",
    "CalculatedField",
    "CaseAction",
    "CaseActionOptions",
    "FromRule",
    "JobDefinition",
    "ReferenceTable",
    "Rule",
    "RuleCase",
    "RuleFilter",
    "RuleQuery",
    "ThirdPartyCase",
    "positional_name",
]

MAX_QUERIES = 10
MAX_CASES = 10

#: A job's `from` / `to`: epoch ms between years 0001 and 9999.
EpochMs = Annotated[int, Field(ge=EARLIEST_MS, le=LATEST_MS)]

Aggregation = Literal[
    "count", "cardinality", "sum", "max", "new_value", "geo_data", "event_count", "none"
]
DataSource = Literal[
    "logs",
    "audit",
    "events",
    "security_signals",
    "spans",
    "app_sec_spans",
    "network",
    "security_runtime",
]


class RuleQuery(WireModel):
    """One rule query (`HistoricalJobQuery` / `SecurityMonitoringStandardRuleQuery`).

    Signal-correlation queries name another rule (`ruleId` / `defaultRuleId`) instead of a
    log search `query`.
    """

    query: str | None = None
    name: str = ""
    aggregation: Aggregation = "count"
    groupByFields: list[str] = Field(default_factory=list)
    distinctFields: list[str] = Field(default_factory=list)
    metrics: list[str] | None = None
    metric: str | None = None  # deprecated: one metric
    hasOptionalGroupByFields: bool = False
    dataSource: DataSource = "logs"
    index: str | None = None
    indexes: list[str] | None = None
    additionalFilters: str | None = None
    customQueryExtension: str | None = None
    correlatedByFields: list[str] | None = None
    correlatedQueryIndex: Annotated[int, Field(ge=0, le=9)] | None = None
    datasetIds: list[str] | None = None
    queryLanguage: str | None = None
    ruleId: str | None = None  # signal_correlation
    defaultRuleId: str | None = None  # signal_correlation (response-only)

    def metric_fields(self) -> list[str]:
        """The target fields: `metrics`, else the deprecated single `metric`."""
        if self.metrics:
            return list(self.metrics)
        return [self.metric] if self.metric else []

    def filter_texts(self) -> list[str]:
        """The search texts an event must all match: query, additionalFilters, extension."""
        parts = (self.query, self.additionalFilters, self.customQueryExtension)
        return [part for part in parts if part and part.strip()]


class CaseActionOptions(WireModel):
    """Options of a case action (App & API Protection; stored, never executed)."""

    duration: Annotated[int, Field(ge=0)] | None = None
    flaggedIPType: Literal["FLAGGED", "SUSPICIOUS"] | None = None
    userBehaviorName: str | None = None


class CaseAction(WireModel):
    """A case action: block or flag an IP or a user (stored, never executed)."""

    type: Literal["block_ip", "block_user", "flag_ip", "user_behavior"]
    options: CaseActionOptions | None = None


class RuleCase(WireModel):
    """A case: a condition over the queries and the severity it gives (SPEC §3.3)."""

    status: Severity
    name: str = ""
    condition: str = ""
    notifications: list[str] = Field(default_factory=list)
    actions: list[CaseAction] | None = None
    customStatus: Severity | None = None  # response-only


class ThirdPartyCase(WireModel):
    """A third-party case: events matching `query` get `status` (SPEC §3.14)."""

    status: Severity
    name: str = ""
    query: str | None = None
    notifications: list[str] = Field(default_factory=list)


class RuleFilter(WireModel):
    """Legacy rule filter: `require` keeps matching events, `suppress` drops them."""

    action: Literal["require", "suppress"]
    query: str


class ReferenceTable(WireModel):
    """Join of a query with a reference table column (SPEC §3.16)."""

    tableName: str
    columnName: str
    logFieldPath: str
    checkPresence: bool = True
    ruleQueryName: str


class CalculatedField(WireModel):
    """A computed attribute, referenced as `#name` in queries (SPEC §3.16)."""

    name: str
    expression: str


class DefinitionHelpers:
    """What the detection engine reads from a rule or a job definition."""

    if TYPE_CHECKING:
        queries: list[RuleQuery]
        cases: list[RuleCase]
        options: JobOptions

    @property
    def detection_method(self) -> DetectionMethod:
        """`options.detectionMethod` (threshold when omitted)."""
        return self.options.detectionMethod

    def query_names(self) -> list[str]:
        """Each query's identifier: its `name`, else its positional letter (SPEC §3.4)."""
        return [q.name or positional_name(i) for i, q in enumerate(self.queries)]

    def group_by_fields(self) -> list[list[str]]:
        """The `groupByFields` of each query, in query order."""
        return [list(q.groupByFields) for q in self.queries]

    def step_names(self) -> list[str]:
        """The step names of a sequence rule (empty for other methods)."""
        sequence = self.options.sequenceDetectionOptions
        return [step.name for step in sequence.steps] if sequence else []

    def case_names(self) -> tuple[list[str], str]:
        """What case conditions may name (the detection method says), and what those names are."""
        rules = method_rules(self.detection_method)
        return rules.case_names(self.options.to_json(), self.query_names())

    def case_identifiers(self) -> list[str]:
        """What case conditions may name: step names for sequences, else the query names."""
        return self.case_names()[0]

    def case_conditions(self) -> list[Condition | None]:
        """The parsed condition of each case (None: the case matches every detection)."""
        known, noun = self.case_names()
        return [parse_condition(case.condition, known, noun=f"{noun} name") for case in self.cases]

    def step_conditions(self) -> list[Condition | None]:
        """The parsed condition of each sequence step, over the query names."""
        sequence = self.options.sequenceDetectionOptions
        steps = sequence.steps if sequence else []
        return [parse_condition(step.condition, self.query_names()) for step in steps]


def legacy_filter_text(filters: list[RuleFilter]) -> str:
    """The legacy `filters` as one search text: `require` clauses ANDed, `suppress` negated."""
    parts = []
    for item in filters:
        if not item.query.strip():
            continue
        parts.append(f"({item.query})" if item.action == "require" else f"-({item.query})")
    return " ".join(parts)


def _json(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.to_json()
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value


def definition_fields(source: WireModel, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of `source` that are set (not None), as JSON values."""
    values = {name: getattr(source, name) for name in names}
    return {name: _json(value) for name, value in values.items() if value is not None}


class RuleAuthor(WireModel):
    """`creator` / `updater` of a stored rule (response-only)."""

    handle: str | None = None
    name: str | None = None


class RuleMetadata(WireModel):
    """`metadata` of a stored rule (response-only, opaque)."""

    entities: Any = None
    sources: Any = None


class SchedulingOptions(WireModel):
    """`schedulingOptions` of a scheduled rule (stored; jobs ignore it)."""

    rrule: str | None = None
    start: str | None = None
    timezone: str | None = None


_SHARED_FIELDS = (
    "message",
    "tags",
    "groupSignalsBy",
    "referenceTables",
    "calculatedFields",
    "thirdPartyCases",
)


class Rule(DefinitionHelpers, WireModel):
    """A stored Datadog detection rule, as the rules API returns it (SPEC §3)."""

    name: str
    type: str = "log_detection"
    isEnabled: bool | None = None
    queries: list[RuleQuery] = Field(max_length=MAX_QUERIES)
    cases: list[RuleCase] = Field(default_factory=list, max_length=MAX_CASES)
    options: RuleOptions = Field(default_factory=RuleOptions)
    message: str = ""
    tags: list[str] = Field(default_factory=list)
    filters: list[RuleFilter] = Field(default_factory=list)
    hasExtendedTitle: bool | None = None
    groupSignalsBy: list[str] | None = None
    referenceTables: list[ReferenceTable] | None = None
    calculatedFields: list[CalculatedField] | None = None
    thirdPartyCases: list[ThirdPartyCase] | None = Field(default=None, max_length=MAX_CASES)
    schedulingOptions: SchedulingOptions | None = None
    complianceSignalOptions: dict[str, Any] | None = None
    # Response-only fields of stored rules.
    id: str | None = None
    version: int | None = None
    createdAt: int | None = None
    updatedAt: int | None = None
    deprecationDate: int | None = None
    creationAuthorId: int | None = None
    updateAuthorId: int | None = None
    creator: RuleAuthor | None = None
    updater: RuleAuthor | None = None
    isDefault: bool | None = None
    isDeleted: bool | None = None
    isDeprecated: bool | None = None
    isBeta: bool | None = None
    isPartner: bool | None = None
    blocking: bool | None = None
    defaultTags: list[str] | None = None
    defaultRuleId: str | None = None
    partnerRuleId: str | None = None
    partnerIntegrationId: str | None = None
    customName: str | None = None
    customMessage: str | None = None
    metadata: RuleMetadata | None = None
    #: Hindsight-only, never written to JSON: how the queries compare string values
    _casing: Casing = PrivateAttr(default=DATADOG)

    @property
    def casing(self) -> Casing:
        """How the rule's queries compare string values: Datadog's case-sensitive equality,
        or Sigma's case-insensitive one for a rule converted from Sigma (`engine.query.casing`)."""
        return self._casing

    def with_casing(self, casing: Casing) -> Rule:
        """A copy of the rule whose queries compare string values as `casing` says."""
        copy = self.model_copy()
        copy._casing = casing
        return copy

    def to_job_definition(
        self, start: int, end: int, index: str, case_index: int | None = None
    ) -> JobDefinition:
        """The job definition of a `fromRule` job over `[start, end)` of `index` (SPEC §3.2).

        Copies queries, cases, options (without the rule-only ones), message, tags and the
        other definition fields; `case_index` keeps only that case. Legacy `filters` are folded
        into every query's `additionalFilters`. Raises `RuleValidationError` when `case_index`
        is out of range or the result is not a valid job (e.g. a `hardcoded` rule).
        """
        cases = [case.to_json() for case in self.cases]
        if case_index is not None:
            if not 0 <= case_index < len(cases):
                count = f"{len(cases)} case{'s' if len(cases) != 1 else ''}"
                problem = f"must be between 0 and {len(cases) - 1} (rule {self.name!r} has {count})"
                if not cases:
                    problem = f"rule {self.name!r} has no cases"
                raise RuleValidationError([Problem("caseIndex", f"{problem} (got {case_index})")])
            cases = [cases[case_index]]
        queries = [q.to_json() for q in self.queries]
        extra = legacy_filter_text(self.filters)
        if extra:
            for query in queries:
                current = query.get("additionalFilters") or ""
                query["additionalFilters"] = f"({current}) {extra}" if current.strip() else extra
        data: dict[str, Any] = {
            "from": start,
            "to": end,
            "index": index,
            "name": self.name,
            "type": self.type,
            "queries": queries,
            "cases": cases,
            "options": self.options.to_job_options().to_json(),
            **definition_fields(self, _SHARED_FIELDS),
        }
        return validate_job_definition(data, source=self.id or self.name)


class JobDefinition(DefinitionHelpers, WireModel):
    """`jobDefinition` of a historical job request (`JobDefinition`, SPEC §3.1)."""

    from_: EpochMs = Field(alias="from")
    to: EpochMs
    index: str
    name: str
    message: str
    queries: list[RuleQuery] = Field(max_length=MAX_QUERIES)
    cases: list[RuleCase] = Field(max_length=MAX_CASES)
    options: JobOptions = Field(default_factory=JobOptions)
    type: str | None = None
    tags: list[str] | None = None
    groupSignalsBy: list[str] | None = None
    referenceTables: list[ReferenceTable] | None = None
    calculatedFields: list[CalculatedField] | None = None
    thirdPartyCases: list[ThirdPartyCase] | None = Field(default=None, max_length=MAX_CASES)

    def normalized_json(self) -> dict[str, Any]:
        """The definition as the API echoes it, with the server-side defaults (SPEC §3.1).

        Queries gain `name: ""`, `dataSource: "logs"`, `hasOptionalGroupByFields: false` (and
        `aggregation`, `groupByFields`, `distinctFields` when omitted); options gain
        `detectionMethod: "threshold"` and zero windows when omitted. Fields never sent stay absent.
        """
        return self.to_json()

    def to_rule(self) -> Rule:
        """The rule this job evaluates (type `log_detection` unless the job names one)."""
        return Rule.model_validate(
            {
                "name": self.name,
                "type": self.type or "log_detection",
                "queries": [q.to_json() for q in self.queries],
                "cases": [c.to_json() for c in self.cases],
                "options": self.options.to_json(),
                **definition_fields(self, _SHARED_FIELDS),
            }
        )


class FromRule(WireModel):
    """`fromRule` of a historical job request: run a stored rule (SPEC §3.2)."""

    id: str
    from_: EpochMs = Field(alias="from")
    to: EpochMs
    index: str
    caseIndex: Annotated[int, Field(ge=0, le=9)] | None = None
    notifications: list[str] | None = None

    def to_job_definition(self, rule: Rule) -> JobDefinition:
        """The job definition that runs `rule` as this request asks."""
        return rule.to_job_definition(self.from_, self.to, self.index, self.caseIndex)


def validate_job_definition(data: Any, *, source: str | None = None) -> JobDefinition:
    """A historical job's `jobDefinition`, checked; raises `RuleValidationError`."""
    return validated(JobDefinition, data, source, job_problems, "job definition")
