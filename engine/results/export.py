"""Results as files other tools open: histsignal documents (JSON, JSON lines), a frame, CSV.

The frame has one row per result (`JobResult.to_dict`), times as UTC datetimes, the group as
`field:value, ...` text and the per-query counts as JSON text; CSV writes it with the list columns
(tags, log ids) joined by commas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
import polars as pl

from engine.results.result import JobResult

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
    """The results as a DataFrame, one row per result (`RESULT_SCHEMA`)."""
    rows = [result.to_dict() for result in results]
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
    return frame.with_columns(
        pl.col("timestamp", "first_seen", "last_seen").str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.3fZ", time_unit="ms", time_zone="UTC"
        )
    )


def documents_text(results: Sequence[JobResult], *, lines: bool) -> str:
    """The histsignal documents: JSON lines (`lines`), else one indented JSON array."""
    documents = [result.to_histsignal() for result in results]
    if lines:
        return "".join(orjson.dumps(document).decode() + "\n" for document in documents)
    return orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n"


def csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A results frame ready for CSV: the list columns joined by commas."""
    return frame.with_columns(pl.col("tags", "log_ids").list.join(","))
