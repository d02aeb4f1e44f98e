"""Scale figures: ingest, one rule, 100 and 1,000 rules, peak memory and pruning, as ratios.

    python -m benchmarks.run --scale [--sizes 2M,20M] [--rules 100] [--many 1000]

Every figure is measured in a fresh process (`python -m benchmarks.scale STEP ...`, imports not
timed), which reports its wall time, its answer and its own peak RSS; comparisons are made side by
side on the same data, in one run, and answers are checked equal where they are comparable:

- ingest of the workload's NDJSON: `engine.ingest` vs `polars.read_ndjson` + `write_parquet` and
  DuckDB `read_json` -> Parquet;
- one threshold rule (`compare.RULE`): the whole `engine.run` vs its instants in hand-written
  polars and in DuckDB (the instants must agree);
- the varied rule library (`rules.py`) in one `engine.run`, vs one rule, vs the rules one by one
  (estimated from every 10th rule), vs DuckDB running each rule's window query (generated SQL;
  each rule's matched instants must agree with Hindsight's);
- peak RSS of the many-rule run at every size; a 1-hour job vs the full range; 1,000 rules.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

import engine
from benchmarks import compare
from benchmarks.compare import RULE, _files
from benchmarks.rules import FILTERS, varied_rules
from benchmarks.workload import START_MS, write_ndjson
from engine.detect.instants import CASE
from engine.detect.methods.threshold import instants, matched_cases
from engine.detect.prepare import matches, plan_rule
from engine.run import as_rules
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource

HOUR_MS = 3_600_000

#: DuckDB's WHERE clause for each filter shape of `rules.FILTERS` (same order).
FILTER_SQL = (
    "source = 'auth' AND \"@evt.outcome\" = 'failure'",
    "source = 'auth' AND \"@evt.outcome\" = 'failure'"
    " AND NOT coalesce(starts_with(\"@usr.id\", 'svc_'), false)",
    '"@http.status_code" = 401',
    "status = 'warn'",
    "source = 'auth' AND list_contains(tags, 'region:eu') AND \"@evt.outcome\" = 'failure'",
    "\"@network.client.geoip.country.iso_code\" IN ('FR', 'DE') AND \"@evt.outcome\" = 'failure'",
    "service = 'okta' AND \"@evt.outcome\" = 'success'"
    " AND NOT coalesce(starts_with(\"@usr.id\", 'user'), false)",
    "starts_with(\"@usr.id\", 'user0') AND \"@evt.outcome\" = 'failure'",
)
assert len(FILTER_SQL) == len(FILTERS)


def rule_sql(rule: dict[str, Any], files: list[str]) -> str:
    """DuckDB SQL for a library rule's matched instants: (group, time) where some case holds."""
    (query,) = rule["queries"]
    where = FILTER_SQL[FILTERS.index(query["query"])]
    (group,) = query["groupByFields"]
    window = rule["options"]["evaluationWindow"] * 1000
    lowest = min(int(case["condition"].split(">")[1]) for case in rule["cases"])
    value = (
        f'count(DISTINCT "{query["distinctFields"][0]}")'
        if query["aggregation"] == "cardinality"
        else "count(*)"
    )
    listed = ", ".join(f"'{name}'" for name in files)
    return f"""
        WITH rows AS (
            SELECT "{group}" AS g, epoch_ms(timestamp) AS t, * EXCLUDE (timestamp)
            FROM read_parquet([{listed}], union_by_name = true)
            WHERE ({where}) AND "{group}" IS NOT NULL
        )
        SELECT DISTINCT CAST(g AS VARCHAR), t FROM (
            SELECT g, t, {value} OVER (
                PARTITION BY g ORDER BY t RANGE BETWEEN {window - 1} PRECEDING AND CURRENT ROW
            ) AS v FROM rows
        ) WHERE v > {lowest}
    """


# -- the steps, each run in a fresh process -------------------------------------------------------


def _ingest(source: Path, target: Path) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    shutil.rmtree(target, ignore_errors=True)
    return (lambda: engine.ingest(source, target)), (lambda report: report.events_written)


def _polars_ingest(source: Path, scratch: Path) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    def work() -> int:
        frame = pl.read_ndjson(source)
        frame.write_parquet(scratch / "polars.parquet")
        return frame.height

    return work, int


def _duckdb_ingest(source: Path, scratch: Path) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    def work() -> int:
        target = scratch / "duckdb.parquet"
        duckdb.sql(f"COPY (SELECT * FROM read_json('{source}')) TO '{target}' (FORMAT parquet)")
        ((count,),) = duckdb.sql(f"SELECT count(*) FROM '{target}'").fetchall()
        return int(count)

    return work, int


def _one_rule(archive: Path, _arg: str) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    engine.run(RULE, [{"timestamp": 0, "message": "warm"}])  # grammar and caches, not timed
    return (lambda: engine.run(RULE, str(archive))), (lambda run: len(run.results))


def _instants(name: str) -> Callable[[Path, str], tuple[Callable[[], Any], Callable[[Any], Any]]]:
    def step(archive: Path, _arg: str) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
        work = getattr(compare, f"threshold_instants_{name}")
        return (lambda: work(archive)), sorted

    return step


def _rules(archive: Path, arg: str) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    rules = varied_rules(int(arg))
    engine.run(rules[:1], [{"timestamp": 0, "message": "warm"}])
    return (lambda: engine.run(rules, str(archive))), (lambda run: len(run.results))


def _one_by_one(archive: Path, arg: str) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    rules = varied_rules(int(arg))[::10]
    engine.run(rules[:1], [{"timestamp": 0, "message": "warm"}])

    def work() -> int:
        return sum(len(engine.run(rule, str(archive)).results) for rule in rules)

    return work, int


def _duckdb_rules(archive: Path, arg: str) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    files = _files(archive)
    rules = varied_rules(int(arg))

    def work() -> list[list[tuple[str, int]]]:
        return [sorted(duckdb.sql(rule_sql(rule, files)).fetchall()) for rule in rules]

    return work, list


def _hindsight_rule_instants(
    archive: Path, arg: str
) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    """Each library rule's matched instants through the engine's pipeline (one shared scan)."""

    def work() -> list[list[tuple[str, int]]]:
        source = LogSource.of(str(archive))
        plan = ScanPlan(source.schema)
        planned = [plan_rule(rule, plan) for rule in as_rules(varied_rules(int(arg)))]
        scanned = plan.apply(source.scan()).collect()
        found = []
        for rule in planned:
            rows = scanned.filter(pl.col(rule.queries[0].flag))
            evaluated = matched_cases(rule, instants(rule, matches(rule, rows)))
            hits = evaluated.filter(pl.col(CASE).is_not_null())
            found.append(sorted(set(zip(hits["_k0"], hits["_t"], strict=True))))
        return found

    return work, list


def _hour(archive: Path, arg: str) -> tuple[Callable[[], Any], Callable[[Any], Any]]:

    rules = varied_rules(int(arg))
    start = START_MS + 3 * 86_400_000
    engine.run(rules, str(archive), start=start, end=start + HOUR_MS)  # warm: files cached
    return (
        lambda: engine.run(rules, str(archive), start=start, end=start + HOUR_MS)
    ), lambda run: len(run.results)


Step = Callable[[Path, Any], tuple[Callable[[], Any], Callable[[Any], Any]]]
STEPS: dict[str, Step] = {
    "ingest": _ingest,
    "polars-ingest": _polars_ingest,
    "duckdb-ingest": _duckdb_ingest,
    "one-rule": _one_rule,
    "hindsight-instants": _instants("hindsight"),
    "polars-instants": _instants("polars"),
    "duckdb-instants": _instants("duckdb"),
    "rules": _rules,
    "one-by-one": _one_by_one,
    "duckdb-rules": _duckdb_rules,
    "hindsight-rule-instants": _hindsight_rule_instants,
    "hour": _hour,
}


def child(step: str, path: Path, arg: str) -> dict[str, Any]:
    """Run one step (its setup untimed) and report seconds (wall, and CPU user + system of the
    process), answer, this process's peak RSS and the load average when it ended."""
    scratch = Path(tempfile.mkdtemp(prefix="hs-scale-"))
    try:
        work, answer = STEPS[step](path, _arg(step, arg, scratch))
        began, cpu = time.perf_counter(), _cpu()
        result = work()
        seconds, cpu = time.perf_counter() - began, _cpu() - cpu
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "cpu": cpu,
        "answer": answer(result),
        "peak_rss": peak,
        "load": os.getloadavg()[0],
    }


def _arg(step: str, arg: str, scratch: Path) -> Any:
    """A step's second argument: the ingest target, the scratch folder, or the text given."""
    if step == "ingest":
        return Path(arg)
    return scratch if step in ("polars-ingest", "duckdb-ingest") else arg


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its threads so far."""
    times = os.times()
    return times.user + times.system


def in_fresh_process(step: str, path: Path, arg: str = "") -> dict[str, Any]:
    """`child` in a new Python process; its JSON report."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", step, str(path), arg],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {step} failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


# -- the report ----------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """The versions the figures were measured with."""
    return {
        "python": sys.version.split()[0],
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def parse_size(text: str) -> int:
    """`2M` -> 2,000,000; `500k` -> 500,000; `1000` -> 1,000."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def measure_size(events: int, data: Path, rules: int, many: int) -> dict[str, Any]:
    """Every figure for one archive size (data generated and kept under `data`)."""

    folder = data / f"scale-{events}"
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"auth-{events}.ndjson.gz"
    if not source.exists():
        write_ndjson(source, events)
    archive = folder / "archive"
    figures: dict[str, Any] = {"events": events}
    figures["ingest"] = in_fresh_process("ingest", source, str(archive))
    figures["polars-ingest"] = in_fresh_process("polars-ingest", source)
    figures["duckdb-ingest"] = in_fresh_process("duckdb-ingest", source)
    for step in ("one-rule", "hindsight-instants", "polars-instants", "duckdb-instants"):
        figures[step] = in_fresh_process(step, archive)
    for step in ("rules", "one-by-one", "duckdb-rules", "hindsight-rule-instants", "hour"):
        figures[step] = in_fresh_process(step, archive, str(rules))
    figures["full-range"] = figures["rules"]
    figures["many-rules"] = in_fresh_process("rules", archive, str(many))
    _check(figures)
    return figures


def _check(figures: dict[str, Any]) -> None:
    """The answers that must agree do."""
    counts = {figures[name]["answer"] for name in ("ingest", "polars-ingest", "duckdb-ingest")}
    if counts != {figures["events"]}:
        raise AssertionError(f"ingest event counts differ: {counts}")
    ours = figures["hindsight-instants"]["answer"]
    for name in ("polars-instants", "duckdb-instants"):
        if [list(pair) for pair in figures[name]["answer"]] != [list(p) for p in ours]:
            raise AssertionError(f"{name} disagree with hindsight's instants")
    theirs = figures["duckdb-rules"]["answer"]
    mine = figures["hindsight-rule-instants"]["answer"]
    for number, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        if [list(pair) for pair in a] != [list(pair) for pair in b]:
            raise AssertionError(f"rule {number}: DuckDB's instants disagree with hindsight's")


def ratios(figures: dict[str, Any], rules: int, many: int) -> list[tuple[str, str, float]]:
    """(figure, how it was measured, ratio) rows for one size."""
    s = {name: value["seconds"] for name, value in figures.items() if isinstance(value, dict)}
    s["one-by-one"] *= 10  # every 10th rule was run: the estimate for all of them
    quotients = [  # (figure, unit, numerator step, denominator step)
        (
            "ingest vs polars read_ndjson+write_parquet",
            "polars s / hindsight s (>= 1 wanted)",
            "polars-ingest",
            "ingest",
        ),
        (
            "ingest vs DuckDB read_json -> Parquet",
            "duckdb s / hindsight s",
            "duckdb-ingest",
            "ingest",
        ),
        (
            "one rule: whole job vs hand polars instants",
            "hindsight s / polars s (<= 2 wanted)",
            "one-rule",
            "polars-instants",
        ),
        (
            "one rule: whole job vs DuckDB instants",
            "hindsight s / duckdb s",
            "one-rule",
            "duckdb-instants",
        ),
        (f"{rules} rules in one run vs one rule", "x one rule (<= 3 wanted)", "rules", "one-rule"),
        (
            f"{rules} rules one by one vs in one run",
            "one-by-one s / one run s (>= 10 wanted)",
            "one-by-one",
            "rules",
        ),
        (
            f"{rules} rules in one run vs DuckDB window queries",
            "hindsight s / duckdb s",
            "rules",
            "duckdb-rules",
        ),
        ("1-hour job vs full range", f"{rules} rules, warm (<= 0.03 wanted)", "hour", "full-range"),
        (f"{many} rules in one run vs {rules} rules", f"x {rules} rules", "many-rules", "rules"),
    ]
    rows = [(name, unit, s[top] / s[bottom]) for name, unit, top, bottom in quotients]
    rows.insert(2, ("ingest rate", "events/s", figures["events"] / s["ingest"]))
    rows.insert(8, (f"{rules} rules: peak RSS", "MiB", figures["rules"]["peak_rss"] / 2**20))
    rows.append((f"{many} rules: peak RSS", "MiB", figures["many-rules"]["peak_rss"] / 2**20))
    return rows


def report(sizes: list[dict[str, Any]], rules: int, many: int) -> str:
    """The scale table: one block of ratios and the seconds behind them per size."""
    lines: list[str] = []
    for figures in sizes:
        lines.append(f"events: {figures['events']:,}")
        for name, unit, value in ratios(figures, rules, many):
            lines.append(f"  {name:<52}{value:>12,.3f}  {unit}")
        seconds = ", ".join(
            f"{name} {value['seconds']:.2f}"
            for name, value in figures.items()
            if isinstance(value, dict) and name != "full-range"
        )
        lines.append(f"  seconds: {seconds}")
        cpu = ", ".join(
            f"{name} {value['cpu']:.2f}"
            for name, value in figures.items()
            if isinstance(value, dict) and name != "full-range"
        )
        loads = [value["load"] for value in figures.values() if isinstance(value, dict)]
        lines.append(f"  CPU seconds (user + system): {cpu}")
        lines.append(
            f"  load average (1 min) at the end of the steps: {min(loads):.1f} to {max(loads):.1f}"
        )
        results = figures["rules"]["answer"], figures["one-rule"]["answer"]
        lines.append(f"  results: {results[0]:,} ({rules} rules), {results[1]:,} (one rule)")
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        growth = last["rules"]["peak_rss"] / first["rules"]["peak_rss"]
        lines.append(
            f"peak RSS of the {rules}-rule run, {last['events']:,} vs {first['events']:,} events:"
            f" {growth:.2f}x (<= 1.5 wanted)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(
        json.dumps(child(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""))
    )
