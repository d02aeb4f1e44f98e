"""Ingest-only figures: `engine.ingest` vs `polars.read_ndjson` + `write_parquet` on one file.

    python -m benchmarks.ingest WORKLOAD.ndjson.gz             # canonical NDJSON (workload.py)
    python -m benchmarks.ingest --cloudtrail STRATUS/detonation-logs COPIES  # wide CloudTrail

Each side runs in a fresh process (`benchmarks.scale` steps), one after the other on the same
file, and the ratio polars s / hindsight s is printed (>= 1 wanted, issue 10). `--cloudtrail`
builds NDJSON of the Stratus Red Team records (`corpus/stratus-red-team-detonation-logs`)
repeated `COPIES` times with distinct `eventID`s, the wide real-world case, and prints the rate
only (polars cannot write the records' empty objects to Parquet).
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

from benchmarks.scale import in_fresh_process


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


def compare(source: Path, *, floor: bool = True) -> None:
    """Print the ingest time and rate for `source`, and with `floor` the polars ratio."""
    with tempfile.TemporaryDirectory(prefix="hs-ingest-") as scratch:
        polars = in_fresh_process("polars-ingest", source) if floor else None
        ours = in_fresh_process("ingest", source, str(Path(scratch) / "archive"))
    events = ours["answer"]
    print(f"{source.name}: {events:,} events")
    print(f"  engine.ingest   {ours['seconds']:8.2f} s  {events / ours['seconds']:>10,.0f} ev/s")
    print(f"  peak RSS        {ours['peak_rss'] / 2**20:8.0f} MiB")
    if polars is not None:
        print(f"  polars floor    {polars['seconds']:8.2f} s  (answer {polars['answer']:,})")
        print(f"  ratio           {polars['seconds'] / ours['seconds']:8.3f}  (>= 1 wanted)")


def main(argv: list[str]) -> None:
    """Command line (see module doc)."""
    if argv[:1] == ["--cloudtrail"]:
        with tempfile.TemporaryDirectory(prefix="hs-ct-") as folder:
            target = Path(folder) / "cloudtrail.ndjson.gz"
            # polars cannot write CloudTrail's empty objects (`{}`) to Parquet: no floor here
            compare(cloudtrail_ndjson(Path(argv[1]), int(argv[2]), target), floor=False)
        return
    compare(Path(argv[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
