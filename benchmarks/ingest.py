"""Ingest figures only: `engine.ingest` vs the polars and DuckDB floors, as ratios.

    python -m benchmarks.ingest [--sizes 2M,20M] [--data benchmarks/data]

The ingest steps of `scale.py` (same workload files, `<data>/scale-<events>/`), each in a fresh
process, side by side, event counts checked equal: wall seconds, the CPU seconds of the
measured process (not of its worker processes: polars' and DuckDB's threads are counted, the
ingest workers are not), peak RSS, and the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from benchmarks.scale import in_fresh_process, parse_size, versions
from benchmarks.workload import write_ndjson

STEPS = ("ingest", "polars-ingest", "duckdb-ingest")


def measure(events: int, data: Path) -> dict[str, dict[str, Any]]:
    """Every ingest step over the workload's NDJSON of `events` events (generated once)."""
    folder = data / f"scale-{events}"
    source = folder / f"auth-{events}.ndjson.gz"
    if not source.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_ndjson(source, events)
    target = Path(os.environ.get("TMPDIR", "/tmp")) / f"hs-ingest-{events}"
    figures = {step: in_fresh_process(step, source, str(target)) for step in STEPS}
    counts = {figures[step]["answer"] for step in STEPS}
    if counts != {events}:
        raise AssertionError(f"ingest event counts differ: {counts}")
    return figures


def report(events: int, figures: dict[str, dict[str, Any]]) -> str:
    """The ratios and the seconds behind them."""
    ours = figures["ingest"]
    lines = [
        f"events: {events:,}",
        f"  ingest vs polars read_ndjson+write_parquet  "
        f"{figures['polars-ingest']['seconds'] / ours['seconds']:>8.3f}  (>= 1 wanted)",
        f"  ingest vs DuckDB read_json -> Parquet       "
        f"{figures['duckdb-ingest']['seconds'] / ours['seconds']:>8.3f}",
        f"  ingest rate {events / ours['seconds']:>40,.0f}  events/s",
    ]
    for step in STEPS:
        value = figures[step]
        lines.append(
            f"  {step:<14} {value['seconds']:7.2f} s, CPU {value['cpu']:6.2f} s in the process,"
            f" peak RSS {value['peak_rss'] / 2**20:,.0f} MiB, load {value['load']:.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the ingest figures for every size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2M", help="workload sizes: 2M,20M")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent / "data")
    args = parser.parse_args(argv)
    print(json.dumps(versions()))
    for size in args.sizes.split(","):
        events = parse_size(size)
        print(report(events, measure(events, args.data)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
