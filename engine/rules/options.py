"""Rule and job options (SPEC §3.5): detection method, time windows and per-method settings.

Field names are Datadog's wire names (camelCase). `JobOptions` is the API's
`HistoricalJobOptions`; `RuleOptions` adds the rule-only fields (`decreaseCriticalityBasedOnEnv`,
`hardcodedEvaluatorType`, `complianceRuleOptions`, and the response-only `relatedSignalsFields`).
A job accepts `decreaseCriticalityBasedOnEnv` too, so a rule pasted as a `jobDefinition` runs,
and ignores it, as the rule -> job conversion does.
Every enum is a `Literal`, so a wrong value is reported with the list of allowed ones.
"""

# ruff: noqa: N815  (field names are Datadog's camelCase wire names)

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.core.severity import Severity

__all__ = [
    "WINDOW_SECONDS",
    "AnomalyDetectionOptions",
    "DetectionMethod",
    "ImpossibleTravelOptions",
    "JobOptions",
    "NewValueOptions",
    "RootQuery",
    "RuleOptions",
    "SequenceDetectionOptions",
    "SequenceStep",
    "SequenceStepTransition",
    "Severity",
    "ThirdPartyRuleOptions",
    "Window",
    "WireModel",
]

#: The `detectionMethod` values of the API.
DetectionMethod = Literal[
    "threshold",
    "new_value",
    "anomaly_detection",
    "anomaly_threshold",
    "impossible_travel",
    "hardcoded",
    "third_party",
    "sequence_detection",
]

#: The durations (seconds) allowed for `evaluationWindow`, `keepAlive` and `maxSignalDuration`.
Window = Literal[0, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
WINDOW_SECONDS: tuple[int, ...] = (
    0,
    60,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)


class WireModel(BaseModel):
    """Base of every model read from JSON: unknown fields refused, JSON types not coerced."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON object with Datadog's field names; fields left unset (None) are omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class NewValueOptions(WireModel):
    """`newValueOptions`: how values are learned and forgotten (SPEC §3.10)."""

    forgetAfter: Annotated[int, Field(ge=1, le=30)] | None = None
    learningDuration: Annotated[int, Field(ge=0, le=30)] | None = None
    learningMethod: Literal["duration", "threshold"] = "duration"
    learningThreshold: Literal[0, 1] = 0
    instantaneousBaseline: bool | None = None
    instantaneousBaselineTimeoutMinutes: int | None = None  # response-only


class AnomalyDetectionOptions(WireModel):
    """`anomalyDetectionOptions` (SPEC §3.12)."""

    bucketDuration: Literal[300, 600, 900, 1800, 3600, 10800] | None = None
    learningDuration: Literal[1, 6, 12, 24, 48, 168, 336] | None = None
    detectionTolerance: Literal[1, 2, 3, 4, 5] | None = None
    learningPeriodBaseline: Annotated[int, Field(ge=0)] | None = None
    instantaneousBaseline: bool | None = None
    instantaneousBaselineTimeoutMinutes: int | None = None  # response-only


class ImpossibleTravelOptions(WireModel):
    """`impossibleTravelOptions` (SPEC §3.11)."""

    baselineUserLocations: bool | None = None
    baselineUserLocationsDuration: Annotated[int, Field(ge=1, le=30)] | None = None
    detectIpTransition: bool | None = None  # response-only


class SequenceStep(WireModel):
    """One step of a sequence rule: a condition over the queries, in its own window."""

    name: str
    condition: str = ""
    evaluationWindow: Window = 0


class SequenceStepTransition(WireModel):
    """`parent` -> `child`: the child must follow within `evaluationWindow` seconds."""

    parent: str
    child: str
    evaluationWindow: Window = 0


class SequenceDetectionOptions(WireModel):
    """`sequenceDetectionOptions` (SPEC §3.13)."""

    steps: list[SequenceStep] = Field(default_factory=list)
    stepTransitions: list[SequenceStepTransition] = Field(default_factory=list)


class RootQuery(WireModel):
    """A root query of a third-party rule, with its own group-by fields."""

    query: str
    groupByFields: list[str] = Field(default_factory=list)


class ThirdPartyRuleOptions(WireModel):
    """`thirdPartyRuleOptions` (SPEC §3.14)."""

    rootQueries: list[RootQuery] = Field(default_factory=list)
    defaultStatus: Severity | None = None
    defaultNotifications: list[str] | None = None
    signalTitleTemplate: str | None = None


class JobOptions(WireModel):
    """`HistoricalJobOptions`: the options of a historical job.

    Omitted values default to `threshold` and windows of 0 seconds (SPEC §3.5).
    """

    detectionMethod: DetectionMethod = "threshold"
    evaluationWindow: Window = 0
    keepAlive: Window = 0
    maxSignalDuration: Window = 0
    newValueOptions: NewValueOptions | None = None
    anomalyDetectionOptions: AnomalyDetectionOptions | None = None
    impossibleTravelOptions: ImpossibleTravelOptions | None = None
    sequenceDetectionOptions: SequenceDetectionOptions | None = None
    thirdPartyRuleOptions: ThirdPartyRuleOptions | None = None
    #: A rule-only option: accepted in a job definition, then ignored (never echoed).
    decreaseCriticalityBasedOnEnv: bool | None = Field(default=None, exclude=True)

    def to_job_options(self) -> JobOptions:
        """These options without the rule-only fields."""
        return JobOptions.model_validate(self.model_dump(include=set(JobOptions.model_fields)))


class RuleOptions(JobOptions):
    """`SecurityMonitoringRuleOptions`: job options plus the rule-only fields."""

    decreaseCriticalityBasedOnEnv: bool | None = None  # kept (and echoed) on rules
    hardcodedEvaluatorType: Literal["log4shell"] | None = None
    complianceRuleOptions: dict[str, Any] | None = None
    relatedSignalsFields: list[str] | None = None  # response-only
