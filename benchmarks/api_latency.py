"""Latency of listing 1,000 job results through the HTTP API (the job service issue's figure).

    python -m benchmarks.api_latency [--results 1000] [--requests 20]

Stores `--results` job results (copies of a real result of the bundled sample, with their own ids
and times) in a fresh database, starts the API on a loopback port, and times
`GET /histsignals?page[limit]=1000` (and with a `filter[query]`) over `--requests` requests.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import engine
from engine.core.times import format_timestamp
from engine.service.settings import ServerSettings
from engine.store.jobs import JobRecord

REPO = Path(__file__).resolve().parent.parent
API = "/api/v2/siem-historical-detections"


def seed(service: Any, count: int) -> None:
    """A finished job holding `count` results shaped like a real one."""
    (template,) = engine.run(
        REPO / "rules" / "okta" / "okta-password-spray.json", REPO / "sample_logs" / "archive"
    ).results
    document = template.to_histsignal()
    record = JobRecord(
        id="00000000-0000-4000-8000-000000000000",
        name="seeded",
        status="completed",
        definition={},
        index_name="main",
        from_ms=0,
        to_ms=1,
    )
    service.jobs.insert(record)
    documents = []
    for number in range(count):
        item = copy.deepcopy(document)
        item["id"] = f"seed-{number:06d}"
        item["attributes"]["timestamp"] = format_timestamp(1_709_510_400_000 + number * 60_000)
        item["attributes"]["attributes"]["job_id"] = record.id
        documents.append(item)
    service.jobs.add_results(record.id, documents)


def measure(results: int, requests: int) -> dict[str, float]:
    """Median and p95 milliseconds of the list, plain and filtered."""
    from tests.live import live_server  # noqa: PLC0415 - the same harness as the API tests

    with tempfile.TemporaryDirectory() as folder:
        settings = ServerSettings(
            archive=REPO / "sample_logs" / "archive", database=str(Path(folder) / "h.db")
        )
        with live_server(settings) as server:
            seed(server.service, results)
            figures: dict[str, float] = {}
            for label, params in (
                ("list", {"page[limit]": "1000"}),
                ("list + filter[query]", {"page[limit]": "1000", "filter[query]": "status:high"}),
            ):
                with httpx.Client(base_url=server.url, headers=server.headers()) as client:
                    times = []
                    for _ in range(requests):
                        began = time.perf_counter()
                        answer = client.get(f"{API}/histsignals", params=params)
                        times.append((time.perf_counter() - began) * 1000)
                        assert answer.status_code == 200, answer.text
                        assert len(answer.json()["data"]) == min(results, 1000)
                times.sort()
                figures[f"{label} median ms"] = statistics.median(times)
                figures[f"{label} p95 ms"] = times[max(0, int(len(times) * 0.95) - 1)]
            return figures


def main(argv: list[str] | None = None) -> int:
    """Print the latency figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    for label, value in measure(args.results, args.requests).items():
        print(f"{label:<30}{value:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
