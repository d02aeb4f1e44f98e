"""Every matched log of results, read back from the logs of the run in ONE pass.

A result carries the ids of all the logs it matched (`JobResult.log_ids`), not only its 10
samples. `read_matched(logs, results)` reads them for any number of results at once: one lazy
scan over the merged time spans of the results (so the archive's files outside them are not
opened), filtered on the wanted ids, collected once, then joined back to the results (a log
matched by two results is read once and listed under both).

Two layouts:

- `read_matched`: the archive's own columns (`id`, `timestamp`, the reserved fields, `tags`,
  every `@attribute` column that has a value), after `result_id`, `rule` and `rule_id`: what
  `JobRun.events(result)` returns for a notebook;
- `matched_frame`: the file layout of `hindsight run --matched-logs` and `hindsight events`:
  `result_id`, `rule`, `rule_id`, one `group.<field>` column per group-by field, then the log's
  `id`, `timestamp`, reserved fields, `tags` and `attributes` (the whole object as JSON text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from engine.archive.frame import BASE_SCHEMA
from engine.archive.reader import Archive
from engine.core.columns import BASE_COLUMNS, RAW_COLUMN
from engine.core.times import parse_timestamp
from engine.results.result import JobResult, inner_attributes

#: Result spans closer than this are read by one scan range (fewer, larger reads).
MERGE_GAP_MS = 3_600_000
#: The columns that name the result a matched log belongs to.
RESULT_COLUMNS = ("result_id", "rule", "rule_id")
GROUP_PREFIX = "group."


class Scannable(Protocol):
    """Logs that can be scanned by time (`LogSource`, `IndexLogs`)."""

    def scan(self, start: int | None = None, end: int | None = None) -> pl.LazyFrame:
        """Events with `start <= timestamp < end`."""
        ...


@dataclass(frozen=True)
class IndexLogs:
    """One index of an opened archive, as `Scannable` logs."""

    archive: Archive
    index: str = "main"

    def scan(self, start: int | None = None, end: int | None = None) -> pl.LazyFrame:
        """Events with `start <= timestamp < end`."""
        return self.archive.scan(self.index, start=start, end=end)


@dataclass(frozen=True)
class ResultLogs:
    """What reading a result's matched logs needs: its ids, rule, group and time span."""

    result_id: str
    rule: str
    rule_id: str | None
    group_by: Mapping[str, str]
    log_ids: Sequence[str]
    first_ms: int
    last_ms: int

    @classmethod
    def of(cls, result: JobResult) -> ResultLogs:
        """The matched logs of a `JobResult`."""
        return cls(
            result.id,
            result.rule_name,
            result.rule_id,
            result.group_by,
            result.log_ids,
            int(result.first_seen.timestamp() * 1000),
            int(result.last_seen.timestamp() * 1000),
        )

    @classmethod
    def of_document(cls, document: Mapping[str, Any], log_ids: Sequence[str]) -> ResultLogs:
        """The matched logs of a histsignal document (list form) and its log ids."""
        outer = document["attributes"]
        inner = inner_attributes(document)
        workflow = inner.get("workflow", {})
        rule = workflow.get("rule", {})
        return cls(
            str(document["id"]),
            str(rule.get("name", "")),
            rule.get("id"),
            dict(inner.get("group_by", {})),
            list(log_ids),
            parse_timestamp(workflow.get("first_seen", outer["timestamp"])),
            parse_timestamp(workflow.get("last_seen", outer["timestamp"])),
        )


def group_columns(groups: Sequence[Mapping[str, str]]) -> list[str]:
    """The `group.<field>` columns of results' groups: every group-by field, first seen first."""
    fields = dict.fromkeys(field for group in groups for field in group)
    return [GROUP_PREFIX + field for field in fields]


def group_values(
    groups: Sequence[Mapping[str, str]], columns: Sequence[str]
) -> dict[str, list[str | None]]:
    """Per `group.<field>` column, each group's value of the field (None where it has none)."""
    return {
        column: [group.get(column.removeprefix(GROUP_PREFIX)) for group in groups]
        for column in columns
    }


def spans(results: Sequence[ResultLogs]) -> list[tuple[int, int]]:
    """The results' `[first, last + 1)` spans, merged when they overlap or nearly touch."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted((r.first_ms, r.last_ms + 1) for r in results if r.log_ids):
        if merged and low <= merged[-1][1] + MERGE_GAP_MS:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _pairs(results: Sequence[ResultLogs]) -> pl.DataFrame:
    """One row per (result, log id), in result order then log order."""
    return pl.DataFrame(
        {
            "result_id": [r.result_id for r in results],
            "rule": [r.rule for r in results],
            "rule_id": [r.rule_id for r in results],
            "id": [list(r.log_ids) for r in results],
        },
        schema={
            "result_id": pl.String(),
            "rule": pl.String(),
            "rule_id": pl.String(),
            "id": pl.List(pl.String()),
        },
    ).explode("id", empty_as_null=False)


def read_matched(
    logs: Scannable,
    results: Sequence[ResultLogs | JobResult],
    *,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Every matched log of `results` (one row per result and log, the archive's columns after
    `RESULT_COLUMNS`), read in one pass. `columns` limits the log's columns (default: all that
    hold a value for some of these logs)."""
    wanted = [r if isinstance(r, ResultLogs) else ResultLogs.of(r) for r in results]
    pairs = _pairs(wanted).drop_nulls("id")
    ranges = spans(wanted)
    if pairs.is_empty() or not ranges:
        return pairs.with_columns(pl.lit(None, pl.Datetime("ms", "UTC")).alias("timestamp"))
    ids = pl.Series("ids", pairs["id"].unique(), dtype=pl.String()).implode()
    scans = [logs.scan(low, high) for low, high in ranges]
    scan = pl.concat(scans, how="diagonal_relaxed") if len(scans) > 1 else scans[0]
    if columns is not None:
        scan = scan.select([name for name in columns if name in scan.collect_schema()])
    events = scan.filter(pl.col("id").is_in(ids)).unique("id", keep="first").collect()
    if columns is None:
        events = events.select(
            [s for s in events.iter_columns() if s.name == "id" or s.null_count() < len(s)]
        )
    # result order, then each result's logs earliest first (the order of `log_ids`)
    return pairs.join(events, on="id", how="inner", maintain_order="left")


def matched_frame(logs: Scannable, results: Sequence[ResultLogs | JobResult]) -> pl.DataFrame:
    """Every matched log of `results` in the file layout (see the module docstring)."""
    wanted = [r if isinstance(r, ResultLogs) else ResultLogs.of(r) for r in results]
    read = read_matched(logs, wanted, columns=[*BASE_COLUMNS, RAW_COLUMN])
    groups = group_columns([r.group_by for r in wanted])
    values = group_values([r.group_by for r in wanted], groups)
    keys = pl.DataFrame(
        {"result_id": [r.result_id for r in wanted], **values},
        schema={"result_id": pl.String(), **dict.fromkeys(groups, pl.String())},
    )
    frame = read.join(keys, on="result_id", how="left", maintain_order="left")
    for name, dtype in {**BASE_SCHEMA, RAW_COLUMN: pl.String()}.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(name))
    attributes = pl.col(RAW_COLUMN).fill_null("{}").alias("attributes")
    return frame.select(*RESULT_COLUMNS, *groups, *BASE_COLUMNS, attributes)
