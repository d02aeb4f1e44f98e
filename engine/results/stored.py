"""A stored histsignal document back as a `JobResult` (what signal correlation reads of it).

The job service keeps results as their SPEC §4.3 documents; a signal_correlation job correlates
the stored results of other jobs in its range, so it reads them back: id, rule, case, severity,
times, group-by values, samples and the method's extra attributes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.core.times import parse_time
from engine.results.result import RULE_TYPE_LABELS, JobResult, QueryDetail, Sample

_TYPES = {label: name for name, label in RULE_TYPE_LABELS.items()}
#: The keys of a histsignal's inner attributes that are not the method's extra attributes.
_COMMON = {
    "title",
    "job_id",
    "workflow",
    "triggeringRuleCase",
    "groupByPaths",
    "group_by",
    "queries",
    "samples",
}


def method_attributes(inner: dict[str, Any]) -> dict[str, Any]:
    """What a histsignal's detection method added to its inner attributes (new values, the two
    locations, scores, steps, correlated results...)."""
    return {key: value for key, value in inner.items() if key not in _COMMON}


def _time(text: str) -> datetime:
    return datetime.fromtimestamp(parse_time(text) / 1000, tz=UTC)


def _sample(entry: dict[str, Any]) -> Sample:
    content = dict(entry.get("content") or {})
    log = {
        "id": entry["id"],
        "timestamp": parse_time(content["timestamp"]),
        **{key: content.get(key) for key in ("host", "service", "source", "status", "message")},
        "tags": content.get("tags", []),
        "attributes": content.get("custom", {}),
    }
    return Sample(entry["id"], int(entry.get("queryIndex", 0)), log)


def from_histsignal(document: dict[str, Any]) -> JobResult:
    """The `JobResult` a histsignal document (`JobResult.to_histsignal()`) was made from."""
    outer = document["attributes"]
    inner = outer.get("attributes") or outer.get("custom") or {}
    workflow = inner["workflow"]
    rule = workflow["rule"]
    case = inner.get("triggeringRuleCase", {})
    queries = [
        QueryDetail(
            name=query["name"],
            query=query["query"],
            aggregation=query["aggregation"],
            group_by_paths=query.get("groupByPaths", []),
            distinct_fields=query.get("distinctFields", []),
            metric=query.get("metric"),
            events_count=query.get("aggregationDetails", {}).get("eventsCount", 0),
        )
        for query in inner.get("queries", [])
    ]
    samples = [_sample(entry) for entry in inner.get("samples", [])]
    return JobResult(
        id=document["id"],
        rule_name=rule["name"],
        rule_id=rule.get("id"),
        rule_type=_TYPES.get(rule.get("type", ""), rule.get("type", "log_detection")),
        detection_method=rule.get("detectionMethod", "threshold"),
        case_index=0,
        case_name=case.get("name", ""),
        case_condition=case.get("condition", ""),
        severity=outer.get("status", case.get("status", "info")),
        group_by_paths=inner.get("groupByPaths", []),
        group_by=inner.get("group_by", {}),
        timestamp=_time(outer["timestamp"]),
        first_seen=_time(workflow["first_seen"]),
        last_seen=_time(workflow["last_seen"]),
        events_matched=workflow.get("events_matched", 0),
        events_per_query={query.name: query.events_count for query in queries},
        queries=queries,
        log_ids=[sample.id for sample in samples],
        samples=samples,
        tags=outer.get("tags", []),
        title=inner.get("title", ""),
        message=outer.get("message", ""),
        job_id=inner.get("job_id"),
        extra=method_attributes(inner),
    )
