"""Request bodies, as pydantic models with Datadog's field names (SPEC §4.1, §4.5, §5.2).

Unknown fields are refused (`extra="forbid"`) so a typo is a readable 400 rather than an ignored
field; booleans and strings are strict. The job definition itself (`jobDefinition`, `fromRule`) is
passed through as an object: the job service validates it and reports every problem at once.
"""

# ruff: noqa: N815  (field names are Datadog's camelCase wire names)

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from engine.core.severity import Severity


class RequestModel(BaseModel):
    """A request body part: unknown fields refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RunJobAttributes(RequestModel):
    """`RunHistoricalJobRequestAttributes`: exactly one of `jobDefinition` and `fromRule`."""

    jobDefinition: dict[str, Any] | None = Field(
        None, description="The rule to run (`JobDefinition`: queries, cases, options, range)."
    )
    fromRule: dict[str, Any] | None = Field(
        None, description="Run a stored rule (`JobDefinitionFromRule`: id, from, to, index)."
    )
    signalOutput: StrictBool | None = Field(
        None, description="Whether the job outputs signals when results are converted."
    )


class RunJobData(RequestModel):
    """`RunHistoricalJobRequestData`."""

    type: Literal["historicalDetectionsJobCreate"] = "historicalDetectionsJobCreate"
    attributes: RunJobAttributes


class RunJobRequest(RequestModel):
    """`RunHistoricalJobRequest`: the body of `POST /jobs`."""

    data: RunJobData


class ConvertAttributes(RequestModel):
    """`ConvertJobResultsToSignalsAttributes`: every field is required."""

    jobResultIds: list[StrictStr] = Field(description="Ids of the job results to convert.")
    notifications: list[StrictStr] = Field(description="Notification targets of the signals.")
    signalMessage: StrictStr = Field(description="Message of the signals.")
    signalSeverity: Severity = Field(description="Severity of the signals.")


class ConvertData(RequestModel):
    """`ConvertJobResultsToSignalsData`."""

    type: Literal["historicalDetectionsJobResultSignalConversion"] = (
        "historicalDetectionsJobResultSignalConversion"
    )
    attributes: ConvertAttributes


class ConvertRequest(RequestModel):
    """`ConvertJobResultsToSignalsRequest`: the body of `POST /jobs/signal_convert`."""

    data: ConvertData


class SignalListFilter(RequestModel):
    """`SecurityMonitoringSignalListRequestFilter` (times: RFC 3339 or epoch ms)."""

    from_: StrictStr | int | None = Field(None, alias="from")
    to: StrictStr | int | None = None
    query: StrictStr | None = None


class SignalListPage(RequestModel):
    """`SecurityMonitoringSignalListRequestPage`."""

    cursor: StrictStr | None = None
    limit: int | None = None


class SignalListRequest(RequestModel):
    """`SecurityMonitoringSignalListRequest`: the optional body of the `.../search` endpoints."""

    filter: SignalListFilter | None = None
    page: SignalListPage | None = None
    sort: StrictStr | None = None
