"""`JobResult`: one signal a rule would have produced (a "histsignal"), and its wire document.

A result says: this rule's case matched for this group from `first_seen` to `last_seen`, on these
logs. `to_histsignal()` renders the exact SPEC §4.3 document the Historical Jobs API serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.core.times import format_timestamp
from engine.rules.template import wrap_message

RULE_TYPE_LABELS = {"log_detection": "Log Detection", "signal_correlation": "Signal Correlation"}
MAX_SAMPLES = 10


@dataclass(frozen=True)
class QueryDetail:
    """One rule query as a result reports it (`queries[]` of the histsignal)."""

    name: str
    query: str
    aggregation: str
    group_by_paths: list[str]
    distinct_fields: list[str]
    metric: str | None
    events_count: int
    distinct_values: list[str] = field(default_factory=list)
    value: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The histsignal `queries[]` entry."""
        data: dict[str, Any] = {
            "name": self.name,
            "query": self.query,
            "aggregation": self.aggregation,
            "groupByPaths": self.group_by_paths,
            "distinctFields": self.distinct_fields,
            "aggregationDetails": {
                "eventsCount": self.events_count,
                "distinctValues": self.distinct_values,
                "value": self.value,
            },
        }
        if self.metric is not None:
            data["metric"] = self.metric
        return data


def sample_content(log: Mapping[str, Any]) -> dict[str, Any]:
    """A sample's `content`: the log, its attributes as `custom`."""
    return {
        "timestamp": format_timestamp(log["timestamp"]),
        "host": log.get("host"),
        "service": log.get("service"),
        "source": log.get("source"),
        "status": log.get("status"),
        "message": log.get("message"),
        "tags": log.get("tags", []),
        "custom": log.get("attributes", {}),
    }


@dataclass(frozen=True)
class Sample:
    """One matched log kept in full with a result."""

    id: str
    query_index: int
    log: dict[str, Any]  # canonical event: id, timestamp (ms), reserved fields, tags, attributes
    #: `sample_content(log)`, when made already (results sharing a log share it)
    content: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The histsignal `samples[]` entry (the log under `content`, attributes as `custom`)."""
        content = self.content if self.content is not None else sample_content(self.log)
        return {"id": self.id, "queryIndex": self.query_index, "content": content}


@dataclass(frozen=True)
class JobResult:
    """A signal the rule would have produced over the archive."""

    id: str
    rule_name: str
    rule_id: str | None
    rule_type: str
    detection_method: str
    case_index: int
    case_name: str
    case_condition: str
    severity: str
    group_by_paths: list[str]
    group_by: dict[str, str]
    timestamp: datetime
    first_seen: datetime
    last_seen: datetime
    events_matched: int
    events_per_query: dict[str, int]
    queries: list[QueryDetail]
    log_ids: list[str]
    samples: list[Sample]
    tags: list[str]
    title: str
    message: str
    job_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def services(self) -> list[str]:
        """Distinct services of the samples, in sample order."""
        return list(dict.fromkeys(s.log["service"] for s in self.samples if s.log.get("service")))

    @property
    def host(self) -> str | None:
        """Host of the earliest sample."""
        return next((s.log["host"] for s in self.samples if s.log.get("host")), None)

    def to_histsignal(self, *, attributes_key: str = "attributes") -> dict[str, Any]:
        """The SPEC §4.3 histsignal document (`custom` instead of `attributes` for GET by id)."""
        inner: dict[str, Any] = {
            "title": self.title,
            "job_id": self.job_id,
            "workflow": {
                "rule": {
                    "name": self.rule_name,
                    "type": RULE_TYPE_LABELS.get(self.rule_type, self.rule_type),
                    "detectionMethod": self.detection_method,
                    "id": self.rule_id,
                },
                "first_seen": format_timestamp(self.first_seen),
                "last_seen": format_timestamp(self.last_seen),
                "events_matched": self.events_matched,
            },
            "triggeringRuleCase": {
                "name": self.case_name,
                "status": self.severity,
                "condition": self.case_condition,
            },
            "groupByPaths": self.group_by_paths,
            "group_by": self.group_by,
            "queries": [query.to_json() for query in self.queries],
            "samples": [sample.to_json() for sample in self.samples],
            **self.extra,
        }
        return {
            "id": self.id,
            "type": "signal",
            "attributes": {
                "message": wrap_message(self.message),
                "timestamp": format_timestamp(self.timestamp),
                "tags": self.tags,
                "status": self.severity,
                "service": self.services,
                "host": self.host,
                attributes_key: inner,
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """A flat summary row (what `JobRun.to_dicts()` and the CLI's tabular outputs show)."""
        return {
            "id": self.id,
            "rule": self.rule_name,
            "case": self.case_name,
            "severity": self.severity,
            "group_by": self.group_by,
            "timestamp": format_timestamp(self.timestamp),
            "first_seen": format_timestamp(self.first_seen),
            "last_seen": format_timestamp(self.last_seen),
            "events_matched": self.events_matched,
            "events_per_query": self.events_per_query,
            "title": self.title,
            "message": self.message,
            "tags": self.tags,
            "log_ids": self.log_ids,
        }


def inner_attributes(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The inner attribute map of a histsignal document (`attributes`, or `custom` by id)."""
    outer = document["attributes"]
    inner: Mapping[str, Any] = outer.get("attributes") or outer.get("custom") or {}
    return inner
