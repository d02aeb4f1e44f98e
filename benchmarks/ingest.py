"""Ingest-only figures: `engine.ingest` vs `polars.read_ndjson` + `write_parquet` on one file.

    python -m benchmarks.ingest WORKLOAD.ndjson.gz [MORE.ndjson.gz ...]   # canonical NDJSON
    python -m benchmarks.ingest --cloudtrail STRATUS/detonation-logs COPIES  # wide CloudTrail

Each side runs in a fresh process (`benchmarks.scale` steps), one after the other on the same
file, and the ratio polars s / hindsight s is printed (>= 1 wanted, issue 10). Both sides use
several threads or processes, so the load average of a shared machine moves the seconds; the CPU
seconds (user + sys of the whole process tree, sampled from /proc) move less. Peak RSS is the
largest sum over the tree (the ingesting process and its block workers). `--cloudtrail` builds
NDJSON of the Stratus Red Team records (`corpus/stratus-red-team-detonation-logs`) repeated
`COPIES` times with distinct `eventID`s, the wide real-world case, and prints the rate only
(polars cannot write the records' empty objects to Parquet).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cloudtrail_ndjson(stratus: Path, copies: int, target: Path) -> Path:
    """The Stratus records repeated `copies` times (distinct ids) as gzipped NDJSON."""
    records: list[dict[str, Any]] = [
        record
        for path in sorted(stratus.glob("*.json"))
        for record in orjson.loads(path.read_bytes())
    ]
    if not records:
        raise SystemExit(f"no *.json records under {stratus}")
    with gzip.open(target, "wb", compresslevel=1) as handle:
        for copy in range(copies):
            for record in records:
                handle.write(orjson.dumps(record | {"eventID": f"{record['eventID']}-{copy}"}))
                handle.write(b"\n")
    return target


def _tree(root: int) -> dict[int, tuple[float, int]]:
    """CPU seconds and RSS bytes of `root` and its descendants, by pid (from /proc)."""
    parents: dict[int, int] = {}
    usage: dict[int, tuple[float, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS
        usage[int(entry)] = (cpu, int(fields[21]) * _PAGE)
    family, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grown = bool(more)
    return {pid: usage[pid] for pid in family if pid in usage}


def measured(step: str, path: Path, arg: str = "") -> dict[str, Any]:
    """`scale.child` in a fresh process, with the CPU seconds and peak RSS of its process tree."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scale", step, str(path), arg],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cpu: dict[int, float] = {}
    peak = 0
    while process.poll() is None:
        tree = _tree(process.pid)
        cpu.update({pid: seconds for pid, (seconds, _rss) in tree.items()})
        peak = max(peak, sum(rss for _cpu, rss in tree.values()))
        time.sleep(0.1)
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"benchmark step {step} failed:\n{err[-3000:]}")
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    report["cpu"] = sum(cpu.values())
    report["tree_peak_rss"] = max(peak, report["peak_rss"])
    return report


def compare(source: Path, *, floor: bool = True) -> None:
    """Print the ingest time, CPU and rate for `source`, and with `floor` the polars ratio."""
    with tempfile.TemporaryDirectory(prefix="hs-ingest-") as scratch:
        polars = measured("polars-ingest", source) if floor else None
        ours = measured("ingest", source, str(Path(scratch) / "archive"))
    events = ours["answer"]
    print(f"{source.name}: {events:,} events (load average {os.getloadavg()[0]:.1f})")
    rate, cpu = events / ours["seconds"], ours["cpu"]
    print(f"  engine.ingest   {ours['seconds']:8.2f} s  {rate:>10,.0f} ev/s  {cpu:7.1f} CPU s")
    print(f"  peak RSS        {ours['tree_peak_rss'] / 2**20:8.0f} MiB (process tree)")
    if polars is not None:
        print(
            f"  polars floor    {polars['seconds']:8.2f} s  (answer {polars['answer']:,})"
            f"  {polars['cpu']:7.1f} CPU s"
        )
        print(f"  ratio           {polars['seconds'] / ours['seconds']:8.3f}  (>= 1 wanted)")
        print(f"  CPU ratio       {polars['cpu'] / cpu:8.3f}  (polars CPU s / hindsight CPU s)")


def main(argv: list[str]) -> None:
    """Command line (see module doc)."""
    if argv[:1] == ["--cloudtrail"]:
        with tempfile.TemporaryDirectory(prefix="hs-ct-") as folder:
            target = Path(folder) / "cloudtrail.ndjson.gz"
            # polars cannot write CloudTrail's empty objects (`{}`) to Parquet: no floor here
            compare(cloudtrail_ndjson(Path(argv[1]), int(argv[2]), target), floor=False)
        return
    for source in argv:
        compare(Path(source))


if __name__ == "__main__":
    main(sys.argv[1:])
