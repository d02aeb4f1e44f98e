"""Results as files other tools open: histsignal documents (JSON, JSON lines), a frame, CSV.

The frame has one row per result (`JobResult.to_dict`), times as UTC datetimes, the group as
`field:value, ...` text and, after it, one `group.<field>` column per group-by field of the
results (the value, or null for a result not grouped by it), the per-query counts as JSON text;
CSV writes it with the list columns (tags, log ids) joined by commas. `document_row` is the same
row from a stored histsignal document (the job API's export).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import polars as pl

from engine.results.matched import GROUP_PREFIX, group_columns, group_values
from engine.results.result import JobResult, inner_attributes
from engine.rules.template import unwrap_message

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "rule": pl.String(),
    "case": pl.String(),
    "severity": pl.String(),
    "group_by": pl.String(),
    "timestamp": pl.Datetime("ms", "UTC"),
    "first_seen": pl.Datetime("ms", "UTC"),
    "last_seen": pl.Datetime("ms", "UTC"),
    "events_matched": pl.Int64(),
    "events_per_query": pl.String(),
    "title": pl.String(),
    "message": pl.String(),
    "tags": pl.List(pl.String()),
    "log_ids": pl.List(pl.String()),
}


def group_text(group_by: Mapping[str, str]) -> str:
    """A result's group as `field:value, field:value`."""
    return ", ".join(f"{field}:{value}" for field, value in group_by.items())


def results_frame(results: Sequence[JobResult]) -> pl.DataFrame:
    """The results as a DataFrame, one row per result (`RESULT_SCHEMA` and the group columns)."""
    return rows_frame([result.to_dict() for result in results])


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows of `JobResult.to_dict` / `document_row` as the results DataFrame."""
    if not rows:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    flat = [
        {
            **row,
            "group_by": group_text(row["group_by"]),
            "events_per_query": orjson.dumps(row["events_per_query"]).decode(),
        }
        for row in rows
    ]
    frame = pl.DataFrame(
        flat,
        schema=RESULT_SCHEMA
        | {"timestamp": pl.String, "first_seen": pl.String, "last_seen": pl.String},
    )
    frame = frame.with_columns(
        pl.col("timestamp", "first_seen", "last_seen").str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.3fZ", time_unit="ms", time_zone="UTC"
        )
    )
    grouped = [row["group_by"] for row in rows]
    columns = group_columns(grouped)
    values = group_values(grouped, columns)
    groups = [pl.Series(name, values[name], dtype=pl.String()) for name in columns]
    position = frame.columns.index("group_by") + 1
    ordered = [*frame.columns[:position], *columns, *frame.columns[position:]]
    return frame.with_columns(groups).select(ordered)


def document_row(document: Mapping[str, Any], log_ids: Sequence[str]) -> dict[str, Any]:
    """A stored histsignal document (list form) as the row `JobResult.to_dict` gives."""
    outer = document["attributes"]
    inner = inner_attributes(document)
    workflow = inner.get("workflow", {})
    queries = inner.get("queries", [])
    return {
        "id": document["id"],
        "rule": workflow.get("rule", {}).get("name", ""),
        "case": inner.get("triggeringRuleCase", {}).get("name", ""),
        "severity": outer.get("status", ""),
        "group_by": dict(inner.get("group_by", {})),
        "timestamp": outer["timestamp"],
        "first_seen": workflow.get("first_seen", outer["timestamp"]),
        "last_seen": workflow.get("last_seen", outer["timestamp"]),
        "events_matched": workflow.get("events_matched", 0),
        "events_per_query": {
            query["name"]: query.get("aggregationDetails", {}).get("eventsCount", 0)
            for query in queries
        },
        "title": inner.get("title", ""),
        "message": unwrap_message(outer.get("message", "")),
        "tags": list(outer.get("tags", [])),
        "log_ids": list(log_ids),
    }


def sample_ids(document: Mapping[str, Any]) -> list[str]:
    """The log ids of a histsignal document's samples."""
    return [sample["id"] for sample in inner_attributes(document).get("samples", [])]


def documents_text(results: Sequence[JobResult], *, lines: bool) -> str:
    """The histsignal documents: JSON lines (`lines`), else one indented JSON array."""
    documents = [result.to_histsignal() for result in results]
    if lines:
        return "".join(orjson.dumps(document).decode() + "\n" for document in documents)
    return orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n"


def csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A results frame ready for CSV: the list columns joined by commas."""
    return frame.with_columns(pl.col("tags", "log_ids").list.join(","))


def matched_documents(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Matched logs (`matched_frame`) as JSON objects: the result's id, rule and `group_by`,
    then the log (`timestamp` RFC 3339, `attributes` as an object)."""
    groups = [name for name in frame.columns if name.startswith(GROUP_PREFIX)]
    rows = frame.with_columns(
        pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
    )
    documents = []
    for row in rows.iter_rows(named=True):
        group_by = {name.removeprefix(GROUP_PREFIX): row.pop(name) for name in groups}
        document = {
            "result_id": row.pop("result_id"),
            "rule": row.pop("rule"),
            "rule_id": row.pop("rule_id"),
            "group_by": {key: value for key, value in group_by.items() if value is not None},
        }
        document.update(row, attributes=orjson.loads(row["attributes"]))
        documents.append(document)
    return documents


def matched_text(frame: pl.DataFrame, *, lines: bool) -> str:
    """Matched logs as JSON lines (`lines`), else one indented JSON array."""
    documents = matched_documents(frame)
    if lines:
        return "".join(orjson.dumps(document).decode() + "\n" for document in documents)
    return orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n"


def matched_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Matched logs ready for CSV: `tags` joined by commas."""
    return frame.with_columns(pl.col("tags").list.join(","))


def documents_csv(
    documents: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> tuple[str, list[str]]:
    """Stored histsignal documents as CSV rows (`log_ids`: their samples' ids), and the columns.

    Without `columns` (the first chunk of an export) the text starts with the header; with them
    (a later chunk) the rows have those columns, a group column this chunk lacks left empty."""
    rows = [document_row(document, sample_ids(document)) for document in documents]
    frame = csv_frame(rows_frame(rows))
    if columns is None:
        return frame.write_csv(), frame.columns
    missing = [pl.lit(None, pl.String()).alias(name) for name in columns if name not in frame]
    return frame.with_columns(missing).select(columns).write_csv(include_header=False), list(
        columns
    )
