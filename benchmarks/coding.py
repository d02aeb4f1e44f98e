"""Scan time of a rule library with and without dictionary-coded string predicates.

`python -m benchmarks.coding ARCHIVE [RULES]` plans the varied library (`rules.varied_rules`) and a
library of many distinct string predicates (IN-lists, prefixes and `?` wildcards, a third of the
rules case-insensitive as Sigma's are, on the user and country), then times the shared scan of
each plan, direct and coded (`engine.query.coding`), each in a fresh process, and checks the
scanned rows are equal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import polars as pl

from benchmarks.rules import varied_rules
from engine.detect.prepare import plan_rule
from engine.query.casing import SIGMA
from engine.query.coding import collecting
from engine.rules.models import Rule
from engine.run.job import as_rules
from engine.scan.backends.local import LocalBackend
from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource


def string_rules(count: int) -> list[Rule]:
    """`count` rules, each with its own string predicates on `@usr.id` and the country."""
    shapes = (
        "@usr.id:(user{0:03d}1 OR user{0:03d}2 OR user{0:03d}3)",
        "@usr.id:user{0:03d}* @evt.outcome:failure",
        "@usr.id:USER{0:03d}9* @network.client.geoip.country.iso_code:fr",
        "@network.client.geoip.country.iso_code:(US OR FR) -@usr.id:user?{0:03d}*",
    )
    loaded = []
    for number in range(count):
        text = shapes[number % len(shapes)].format(number)
        spec = {"query": text, "groupByFields": ["@usr.id"], "aggregation": "count"}
        data = {"name": f"strings {number}", "queries": [spec], "cases": [{"status": "low"}]}
        (rule,) = as_rules(data)
        loaded.append(rule.model_copy(update={"casing": SIGMA}) if number % 3 == 0 else rule)
    return loaded


def measure(archive: str, library: str, count: int, coded: bool) -> dict[str, Any]:
    """Plan the library and time its scan (wall and CPU seconds), in this process."""
    source = LogSource.of(archive)
    plan = ScanPlan(source.schema)
    rules = as_rules(varied_rules(count)) if library == "varied" else string_rules(count)
    if coded:
        with collecting(plan.leaves):
            [plan_rule(rule, plan) for rule in rules]
    else:
        [plan_rule(rule, plan) for rule in rules]
    wall, cpu = time.perf_counter(), time.process_time()
    scanned = LocalBackend().scan(
        source, plan, None, None, progress=lambda _: None, should_stop=lambda: False
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    flags = scanned.rows.select(pl.col(plan.flags).sum()).row(0)
    return {"wall": wall, "cpu": cpu, "rows": scanned.rows.height, "flags": list(flags)}


def main() -> None:
    """Run each measure in a fresh process, direct and coded, three times; print the best."""
    archive, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
    if len(sys.argv) > 3:
        print(json.dumps(measure(archive, sys.argv[3], count, sys.argv[4] == "coded")))
        return
    print(f"load average {os.getloadavg()[0]:.2f}")
    for library in ("varied", "strings"):
        best: dict[str, dict[str, Any]] = {}
        for _ in range(3):
            for mode in ("direct", "coded"):
                command = [sys.executable, "-m", "benchmarks.coding", archive, str(count)]
                out = subprocess.run(
                    [*command, library, mode], check=True, capture_output=True, text=True
                ).stdout
                found = json.loads(out)
                if mode not in best or found["wall"] < best[mode]["wall"]:
                    best[mode] = found
        direct, coded = best["direct"], best["coded"]
        assert (direct["rows"], direct["flags"]) == (coded["rows"], coded["flags"])
        print(
            f"{library}: {count} rules, {direct['rows']:,} rows kept: "
            f"direct {direct['wall']:.2f} s ({direct['cpu']:.2f} s CPU), "
            f"coded {coded['wall']:.2f} s ({coded['cpu']:.2f} s CPU)"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
