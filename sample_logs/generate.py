"""Command line of the sample-log generator (the package `sample_logs/generator/`).

Writes one seeded week of Okta, CloudTrail and nginx events as gzipped NDJSON (standard library
only)::

    python sample_logs/generate.py --out sample.ndjson.gz [--seed 7]

It also re-exports the generator's public names (`generate`, `PLANTED`, ...), so that
`from sample_logs.generate import PLANTED` and loading this file by path keep working.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

if not __package__:  # run as a script or loaded by path: make `sample_logs` importable
    _REPO = str(Path(__file__).resolve().parent.parent)
    if _REPO not in sys.path:
        sys.path.insert(0, _REPO)

from sample_logs.generator import (
    CRAWLER_IP,
    DEFAULT_SEED,
    INCIDENT_END,
    INCIDENT_HOST,
    INCIDENT_START,
    PLANTED,
    SCANNER_IP,
    WEEK_END_MS,
    WEEK_START_MS,
    generate,
)
from sample_logs.generator.context import Event

__all__ = [
    "CRAWLER_IP",
    "DEFAULT_SEED",
    "INCIDENT_END",
    "INCIDENT_HOST",
    "INCIDENT_START",
    "PLANTED",
    "SCANNER_IP",
    "WEEK_END_MS",
    "WEEK_START_MS",
    "generate",
    "main",
]


def _dumps(event: Event) -> str:
    """One NDJSON line: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: write the events as gzipped NDJSON and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="generate.py", description="Generate Hindsight's one-week sample logs."
    )
    parser.add_argument("--out", required=True, help="output file (gzipped NDJSON)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 7)")
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    with (
        open(args.out, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out,
    ):
        batch: list[str] = []
        for event in generate(args.seed):
            counts[str(event["source"])] += 1
            batch.append(_dumps(event))
            if len(batch) >= 5000:
                out.write(("\n".join(batch) + "\n").encode())
                batch = []
        if batch:
            out.write(("\n".join(batch) + "\n").encode())
    per_source = ", ".join(f"{source}={count}" for source, count in sorted(counts.items()))
    names = ", ".join(attack["name"] for attack in PLANTED)
    print(
        f"wrote {sum(counts.values())} events ({per_source}) to {args.out}; "
        f"planted {len(PLANTED)} attacks: {names}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
