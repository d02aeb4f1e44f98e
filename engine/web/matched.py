"""Reading back from the archive: a result's matched logs, and a job's matched events over time.

A result's matched logs are the events of its group, between its first and last seen (inclusive),
that match one of the job's queries: each query's filters (query, additional filters) and, for a
query that groups, its group-by values equal to the result's (positionally, as detection joins
them; `N/A` stands for a missing value). A job's timeline counts the events matching any of its
queries in each time bucket of its range. Both compile the job's queries with the engine's query
compiler over the archive's schema and read only the columns they need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.archive.frame import frame_to_events
from engine.archive.reader import collect
from engine.core.errors import HindsightError
from engine.detect.keys import field_column, text_values
from engine.query import compile_query, parse
from engine.rules import JobDefinition, Rule
from engine.service.jobs import JobService
from engine.store.jobs import JobRecord, ResultRecord
from engine.web.render import parse_iso

NOT_AVAILABLE = "N/A"
_BUCKET = "_bucket"


@dataclass(frozen=True)
class MatchedLogs:
    """One page of a result's matched logs (`error` says why none could be read)."""

    total: int = 0
    logs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def _rule(job: JobRecord) -> Rule:
    return JobDefinition.model_validate(job.definition).to_rule()


def _query_filter(
    texts: Sequence[str], schema: Mapping[str, pl.DataType], group: Mapping[str, str | None]
) -> pl.Expr:
    condition = pl.lit(True)
    for text in texts:
        condition = condition & compile_query(parse(text), schema)
    for path, value in group.items():
        condition = condition & _equals(path, value, schema)
    return condition.fill_null(False)


def _equals(path: str, value: str | None, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """The event's value of a group-by field is `value` (text comparison, SPEC §2.11)."""
    values = text_values(path, schema)
    if value is None or value == NOT_AVAILABLE:
        return values.is_null()
    if isinstance(schema.get(field_column(path)), pl.List):
        return values.list.contains(pl.lit(value))
    return values == pl.lit(value)


def _group_of(
    rule: Rule, position: int, paths: Sequence[str], group_by: Mapping[str, Any]
) -> dict[str, str | None]:
    """The group-by values a query's events must have for a result (positional, by path)."""
    values = [group_by.get(path) for path in paths]
    fields = rule.queries[position].groupByFields
    return {
        name: None if values[k] is None else str(values[k])
        for k, name in enumerate(fields)
        if k < len(values)
    }


def result_window(result: ResultRecord) -> tuple[int, int]:
    """`[first seen, last seen]` of a result, epoch ms (its trigger time when unknown)."""
    workflow = result.document["attributes"]["attributes"].get("workflow") or {}
    first = parse_iso(workflow.get("first_seen")) or result.timestamp_ms
    last = parse_iso(workflow.get("last_seen")) or result.timestamp_ms
    return min(first, last), max(first, last)


def matched_logs(
    service: JobService, job: JobRecord, result: ResultRecord, *, offset: int = 0, limit: int = 50
) -> MatchedLogs:
    """A page of the logs a result matched, oldest first, each with `queries` it matched."""
    inner = result.document["attributes"]["attributes"]
    try:
        rule = _rule(job)
        index = service.archive_index(job.index_name)
        schema = service.archive.schema(index)
        paths = list(inner.get("groupByPaths") or [])
        group_by = inner.get("group_by") or {}
        names = rule.query_names()
        flags = [
            _query_filter(
                query.filter_texts(), schema, _group_of(rule, position, paths, group_by)
            ).alias(f"_q{position}")
            for position, query in enumerate(rule.queries)
        ]
        first, last = result_window(result)
        scan = service.archive.scan(index, start=first, end=last + 1).with_columns(flags)
        matched = scan.filter(pl.any_horizontal([f"_q{i}" for i in range(len(flags))]))
        total = int(collect(matched.select(pl.len())).item())
        page = collect(matched.sort("timestamp", "id").slice(offset, limit))
    except HindsightError as exc:
        return MatchedLogs(error=str(exc))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        return MatchedLogs(error=f"the archive could not be read: {exc}")
    logs = frame_to_events(page)
    for log, row in zip(logs, page.select(f"_q{i}" for i in range(len(flags))).rows(), strict=True):
        log["queries"] = [name for name, hit in zip(names, row, strict=True) if hit]
    return MatchedLogs(total, logs)


def matched_event_counts(
    service: JobService, job: JobRecord, *, bucket_ms: int, buckets: int
) -> list[int]:
    """Events matching any of the job's queries, per bucket of its range (from its start)."""
    rule = _rule(job)
    index = service.archive_index(job.index_name)
    schema = service.archive.schema(index)
    condition = pl.lit(False)
    for query in rule.queries:
        condition = condition | _query_filter(query.filter_texts(), schema, {})
    bucket = ((pl.col("timestamp").dt.epoch("ms") - job.from_ms) // bucket_ms).alias(_BUCKET)
    frame = (
        service.archive.scan(index, start=job.from_ms, end=job.to_ms)
        .filter(condition)
        .group_by(bucket)
        .agg(pl.len().alias("n"))
    )
    counts = [0] * buckets
    for position, count in collect(frame).iter_rows():
        if 0 <= position < buckets:
            counts[int(position)] = int(count)
    return counts
