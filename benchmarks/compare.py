"""The same questions answered by Hindsight, by a hand-written polars query, and by DuckDB.

1. Filter: how many events match `source:auth @evt.outcome:failure -@usr.id:svc_*`?
2. Threshold: at which (user, instant) do more than 3 such failures fall in the sliding window
   `(t - 300 s, t]`? (SPEC §3.6: rule R1 of SPEC §8.)

Each answer is computed over the same Parquet archive; the implementations must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import engine
from engine.detect.instants import CASE
from engine.detect.methods.threshold import instants, matched_cases
from engine.detect.prepare import matches, plan_rule
from engine.run import as_rules
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource

FILTER_QUERY = "source:auth @evt.outcome:failure -@usr.id:svc_*"
WINDOW_MS = 300_000
THRESHOLD = 3

RULE: dict[str, Any] = {
    "name": "Brute force (R1)",
    "type": "log_detection",
    "queries": [{"query": FILTER_QUERY, "aggregation": "count", "groupByFields": ["@usr.id"]}],
    "cases": [{"status": "high", "condition": f"a > {THRESHOLD}"}],
    "options": {"evaluationWindow": 300, "keepAlive": 600, "maxSignalDuration": 3600},
    "message": "{{@usr.id}} failed {{events_matched}} logins",
}


def _files(archive: Path) -> list[str]:
    return sorted(str(path) for path in (archive / "index=main").glob("dt=*/hour=*/*.parquet"))


def _polars_failures(archive: Path) -> pl.LazyFrame:
    frame = pl.scan_parquet(_files(archive), missing_columns="insert", extra_columns="ignore")
    return frame.filter(
        (pl.col("source") == "auth")
        & (pl.col("@evt.outcome") == "failure")
        & ~pl.col("@usr.id").str.starts_with("svc_").fill_null(False)
    )


_DUCKDB_FAILURES = """
    FROM read_parquet({files}, union_by_name = true)
    WHERE source = 'auth' AND "@evt.outcome" = 'failure'
      AND NOT coalesce(starts_with("@usr.id", 'svc_'), false)
"""


def _duckdb_sql(archive: Path, body: str) -> str:
    files = "[" + ", ".join(f"'{name}'" for name in _files(archive)) + "]"
    return body.format(files=files)


def filter_count_hindsight(archive: Path) -> int:
    return engine.count(FILTER_QUERY, str(archive))


def filter_count_polars(archive: Path) -> int:
    return int(_polars_failures(archive).select(pl.len()).collect().item())


def filter_count_duckdb(archive: Path) -> int:
    sql = _duckdb_sql(archive, "SELECT count(*) " + _DUCKDB_FAILURES)
    ((total,),) = duckdb.sql(sql).fetchall()
    return int(total)


def threshold_instants_hindsight(archive: Path) -> set[tuple[str, int]]:
    """Matched-case instants through the engine's own pipeline (what `engine.run` evaluates)."""
    (rule,) = as_rules(RULE)
    source = LogSource.of(str(archive))
    plan = ScanPlan(source.schema)
    rule_plan = plan_rule(rule, plan)
    scanned = plan.apply(source.scan()).collect()
    evaluated = matched_cases(rule_plan, instants(rule_plan, matches(rule_plan, scanned)))
    found = evaluated.filter(pl.col(CASE).is_not_null())
    return set(zip(found["_k0"].to_list(), found["_t"].to_list(), strict=True))


def threshold_instants_polars(archive: Path) -> set[tuple[str, int]]:
    counted = (
        _polars_failures(archive)
        .select(pl.col("@usr.id").alias("user"), pl.col("timestamp").dt.epoch("ms").alias("t"))
        .drop_nulls("user")
        .sort("user", "t")
        .rolling(index_column="t", period=f"{WINDOW_MS}i", closed="right", group_by="user")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") > THRESHOLD)
        .unique()
        .collect()
    )
    return set(zip(counted["user"].to_list(), counted["t"].to_list(), strict=True))


def threshold_instants_duckdb(archive: Path) -> set[tuple[str, int]]:
    sql = _duckdb_sql(
        archive,
        f"""
        WITH failures AS (
            SELECT "@usr.id" AS usr, epoch_ms(timestamp) AS t {_DUCKDB_FAILURES}
              AND "@usr.id" IS NOT NULL
        )
        SELECT DISTINCT usr, t FROM (
            SELECT usr, t, count(*) OVER (
                PARTITION BY usr ORDER BY t
                RANGE BETWEEN {WINDOW_MS - 1} PRECEDING AND CURRENT ROW
            ) AS n FROM failures
        ) WHERE n > {THRESHOLD}
        """,
    )
    return {(str(user), int(t)) for user, t in duckdb.sql(sql).fetchall()}


def threshold_results_hindsight(archive: Path) -> engine.JobRun:
    """The whole job: scan, detection, lifecycle, results with samples and messages."""
    return engine.run(RULE, str(archive))
