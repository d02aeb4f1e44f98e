"""Results as files other tools open: histsignal documents (JSON lines), a frame, CSV, Parquet.

The frame has one row per result (`JobResult.to_dict`), times as UTC datetimes, the group as
`field:value, ...` text and, after it, one `group.<field>` column per group-by field of the
results (the value, or null for a result not grouped by it), the per-query counts as JSON text;
CSV writes it with the list columns (tags, log ids) joined by commas. `document_row` is the same
row from a stored histsignal document (the job API's export).

The writers stream: JSON lines one result at a time, the frame in batches of `RESULT_BATCH`
rows (`results_batches`: every batch has the group columns of all the results), CSV and Parquet
batch by batch, so writing a run holds one batch of its results, not all of them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

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
#: How `JobResult.to_dict` writes times (`format_timestamp`), as polars parses them.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"
#: Results per batch when they are written in batches (frames, CSV, Parquet, the job store).
RESULT_BATCH = 1_000


def group_text(group_by: Mapping[str, str]) -> str:
    """A result's group as `field:value, field:value`."""
    return ", ".join(f"{field}:{value}" for field, value in group_by.items())


def results_frame(results: Sequence[JobResult]) -> pl.DataFrame:
    """The results as a DataFrame, one row per result (`RESULT_SCHEMA` and the group columns)."""
    return rows_frame([result.to_dict() for result in results])


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows of `JobResult.to_dict` / `document_row` as the results DataFrame (built column by
    column: the list columns through Arrow, which converts Python lists fast)."""
    if not rows:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    grouped = [row["group_by"] for row in rows]
    texts = {
        "group_by": [group_text(group) for group in grouped],
        "events_per_query": [orjson.dumps(row["events_per_query"]).decode() for row in rows],
    }
    series = []
    for name, dtype in RESULT_SCHEMA.items():
        values = texts[name] if name in texts else [row[name] for row in rows]
        if isinstance(dtype, pl.List):
            series.append(pl.Series(name, pa.array(values, pa.large_list(pa.large_string()))))
        elif isinstance(dtype, pl.Datetime):
            text = pl.Series(name, values, pl.String())
            series.append(text.str.to_datetime(TIME_FORMAT, time_unit="ms", time_zone="UTC"))
        else:
            series.append(pl.Series(name, values, dtype))
    columns = group_columns(grouped)
    by_column = group_values(grouped, columns)
    series += [pl.Series(name, by_column[name], dtype=pl.String()) for name in columns]
    return pl.DataFrame(series).select(_ordered(columns))


def _ordered(groups: Sequence[str]) -> list[str]:
    """The columns of a results frame with these `group.<field>` columns, in order."""
    names = list(RESULT_SCHEMA)
    position = names.index("group_by") + 1
    return [*names[:position], *groups, *names[position:]]


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of `size` (the last one shorter), taken one list at a time."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def results_batches(
    results: Iterable[JobResult], size: int | None = None
) -> Iterator[pl.DataFrame]:
    """The results frame (`results_frame`) in batches of `size` rows (`RESULT_BATCH`), results
    read once.

    A result's group columns are only known once every result is read, so each batch's frame goes
    to a temporary Arrow IPC file as the results are read; the files are then read back one at a
    time with every group column of the run (null where a batch has none), in the order
    `results_frame` gives them. No results: one empty frame."""
    with tempfile.TemporaryDirectory(prefix="hindsight-frames-") as folder:
        paths: list[str] = []
        groups: dict[str, None] = {}  # every group column, first seen first
        for chunk in batched(results, size or RESULT_BATCH):
            frame = results_frame(chunk)
            found = [name for name in frame.columns if name not in RESULT_SCHEMA]
            groups.update(dict.fromkeys(found))
            paths.append(os.path.join(folder, f"batch-{len(paths)}.arrow"))
            frame.write_ipc(paths[-1])
        if not paths:
            yield results_frame([])
        for path in paths:
            frame = pl.read_ipc(path)
            absent = [pl.lit(None, pl.String()).alias(name) for name in groups if name not in frame]
            yield frame.with_columns(absent).select(_ordered(list(groups)))
            os.remove(path)


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


def write_documents(results: Iterable[JobResult], handle: IO[bytes]) -> None:
    """The histsignal documents as JSON lines, one result at a time."""
    for result in results:
        handle.write(orjson.dumps(result.to_histsignal()) + b"\n")


def csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A results frame ready for CSV: the list columns joined by commas."""
    return frame.with_columns(pl.col("tags", "log_ids").list.join(","))


def write_csv(frames: Iterable[pl.DataFrame], handle: IO[bytes]) -> None:
    """Frames of the same columns as one CSV text (the header once), one frame at a time."""
    for number, frame in enumerate(frames):
        handle.write(frame.write_csv(include_header=number == 0).encode())


def write_parquet(
    frames: Iterable[pl.DataFrame], path: Path, metadata: Mapping[str, str] | None = None
) -> None:
    """Frames of the same columns (one at least) as one Parquet file, a row group or more per
    frame, zstd-compressed as polars writes it, one frame at a time; `metadata` goes to the
    file's key-value metadata."""
    writer: pq.ParquetWriter | None = None
    try:
        for frame in frames:
            table = frame.to_arrow()
            if writer is None:
                schema = table.schema.with_metadata(dict(metadata or {}))
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def matched_documents(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Matched logs (`matched_frame`) as JSON objects: the result's id, rule and `group_by`,
    then the log (`timestamp` RFC 3339, `attributes` as an object)."""
    groups = [name for name in frame.columns if name.startswith(GROUP_PREFIX)]
    rows = frame.with_columns(
        pl.col("timestamp").dt.strftime(TIME_FORMAT),
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
