"""A seeded, scalable workload: authentication logs from many users, with failure bursts.

Deterministic for a given (count, seed): the same archive is built on every machine. Written as
canonical NDJSON (gzip) and ingested with `engine.ingest`, so the benchmark also measures ingest.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import engine
from engine.archive.ingest import IngestReport

START_MS = 1_709_510_400_000  # 2024-03-04T00:00:00Z
SPAN_MS = 7 * 86_400_000  # one week
COUNTRIES = ("US", "FR", "DE", "GB", "JP", "BR", "IN", "CA")


def auth_events(count: int, *, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`count` auth events over a week; ~8% failures, some in bursts against one user."""
    rng = random.Random(seed)
    users = [f"user{n:05d}" for n in range(max(10, count // 500))]
    services = [f"svc_{name}" for name in ("backup", "deploy", "monitor")]
    step = SPAN_MS / count
    burst_left = 0
    burst_user = users[0]
    for n in range(count):
        timestamp = START_MS + int(n * step)
        if burst_left:
            user, outcome = burst_user, "failure"
            burst_left -= 1
        else:
            user = rng.choice(services) if rng.random() < 0.05 else rng.choice(users)
            outcome = "failure" if rng.random() < 0.06 else "success"
            if rng.random() < 0.001:
                burst_user, burst_left = user, rng.randint(3, 12)
        octets = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
        yield {
            "id": f"b{seed}-{n}",
            "timestamp": timestamp,
            "host": f"idp-{n % 8}",
            "service": "okta",
            "source": "auth",
            "status": "info" if outcome == "success" else "warn",
            "message": f"User login {'succeeded' if outcome == 'success' else 'failed'}",
            "tags": ["env:prod", f"region:{rng.choice(('eu', 'us'))}"],
            "attributes": {
                "evt": {"name": "authentication", "outcome": outcome},
                "usr": {"id": user},
                "network": {
                    "client": {
                        "ip": "10.{}.{}.{}".format(*octets),
                        "geoip": {"country": {"iso_code": rng.choice(COUNTRIES)}},
                    }
                },
                "http": {"status_code": 200 if outcome == "success" else 401},
            },
        }


def write_ndjson(path: Path, count: int, *, seed: int = 1) -> Path:
    """Write the workload as gzipped NDJSON (fast compression: the benchmark measures ingest)."""
    with gzip.open(path, "wt", compresslevel=1) as handle:
        for event in auth_events(count, seed=seed):
            handle.write(json.dumps(event, separators=(",", ":")))
            handle.write("\n")
    return path


def build_archive(folder: Path, count: int, *, seed: int = 1) -> tuple[Path, IngestReport]:
    """Generate the workload under `folder` and ingest it; returns the archive and the report."""
    folder.mkdir(parents=True, exist_ok=True)
    source = write_ndjson(folder / f"auth-{count}-{seed}.ndjson.gz", count, seed=seed)
    archive = folder / "archive"
    report = engine.ingest(source, archive)
    return archive, report
