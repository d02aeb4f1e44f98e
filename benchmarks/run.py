"""Run the benchmarks and report times and ratios against polars and DuckDB.

    python -m benchmarks.run [--events 1000000] [--repeat 3] [--out benchmarks/results]
    python -m benchmarks.run --scale [--sizes 2M,20M] [--rules 100] [--many 1000]

Builds (or reuses) a seeded archive of `--events` auth logs, measures ingest, then times each
question of `compare.py` for Hindsight, hand-written polars and DuckDB (best of `--repeat`), checks
that they agree, prints a table and writes `<out>/latest.json`. With `--scale`, the scale figures
of `scale.py` instead, per size, written to `<out>/scale.{txt,json}`.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import compare, scale
from benchmarks.workload import build_archive

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Timing:
    """Best wall time of one implementation of one question."""

    question: str
    implementation: str
    seconds: float
    answer: int


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest wall time of `repeat` runs, and the last answer."""
    best = float("inf")
    answer: Any = None
    for _ in range(repeat):
        began = time.perf_counter()
        answer = work()
        best = min(best, time.perf_counter() - began)
    return best, answer


def measure(archive: Path, repeat: int) -> list[Timing]:
    """Time every implementation of every question; raise if they disagree."""
    questions: dict[str, dict[str, Callable[[Path], Any]]] = {
        "filter count": {
            "hindsight": compare.filter_count_hindsight,
            "polars": compare.filter_count_polars,
            "duckdb": compare.filter_count_duckdb,
        },
        "threshold instants": {
            "hindsight": compare.threshold_instants_hindsight,
            "polars": compare.threshold_instants_polars,
            "duckdb": compare.threshold_instants_duckdb,
        },
    }
    timings: list[Timing] = []
    for question, implementations in questions.items():
        answers: dict[str, Any] = {}
        for name, work in implementations.items():
            seconds, answer = best_of(repeat, lambda work=work: work(archive))
            answers[name] = answer
            size = answer if isinstance(answer, int) else len(answer)
            timings.append(Timing(question, name, seconds, size))
        reference = answers["hindsight"]
        for name, answer in answers.items():
            if answer != reference:
                raise AssertionError(f"{question}: {name} disagrees with hindsight")
    seconds, outcome = best_of(repeat, lambda: compare.threshold_results_hindsight(archive))
    timings.append(Timing("threshold job (run)", "hindsight", seconds, len(outcome.results)))
    return timings


def report(timings: list[Timing], events: int, ingest: dict[str, float]) -> str:
    """A plain-text table: seconds, events/s and the ratio to Hindsight per question."""
    lines = [
        f"events: {events:,}",
        f"ingest: {ingest['events_per_second']:,.0f} events/s, "
        f"{ingest['bytes_per_million_events'] / 1e6:,.1f} MB on disk per million events",
        "",
        f"{'question':<22}{'implementation':<16}{'seconds':>10}{'events/s':>14}{'vs hindsight':>14}"
        f"{'answer':>10}",
    ]
    ours = {t.question: t.seconds for t in timings if t.implementation == "hindsight"}
    for timing in timings:
        rate = events / timing.seconds if timing.seconds else 0.0
        ratio = timing.seconds / ours[timing.question] if ours[timing.question] else 0.0
        lines.append(
            f"{timing.question:<22}{timing.implementation:<16}{timing.seconds:>10.3f}"
            f"{rate:>14,.0f}{ratio:>13.2f}x{timing.answer:>10,}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build the data, run the benchmarks, print and save the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--scale", action="store_true", help="the scale figures (scale.py)")
    parser.add_argument("--sizes", default="2M", help="archive sizes for --scale: 2M,20M")
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--many", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.scale:
        return _scale(args)
    folder = args.data / f"auth-{args.events}-{args.seed}"
    shutil.rmtree(folder, ignore_errors=True)
    archive, ingested = build_archive(folder, args.events, seed=args.seed)
    ingest = {
        "seconds": ingested.seconds,
        "events_per_second": ingested.events_per_second,
        "bytes_written": ingested.bytes_written,
        "bytes_per_million_events": ingested.bytes_per_million_events,
    }
    timings = measure(archive, args.repeat)
    text = report(timings, args.events, ingest)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(
        json.dumps(
            {
                "events": args.events,
                "machine": platform.platform(),
                "ingest": ingest,
                "timings": [asdict(timing) for timing in timings],
            },
            indent=2,
        )
    )
    (args.out / "latest.txt").write_text(text + "\n")
    return 0


def _scale(args: argparse.Namespace) -> int:
    sizes = [scale.parse_size(size) for size in args.sizes.split(",")]
    figures = [scale.measure_size(size, args.data, args.rules, args.many) for size in sizes]
    text = scale.report(figures, args.rules, args.many)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    versions = {"machine": platform.platform(), **scale.versions()}
    (args.out / "scale.json").write_text(json.dumps({**versions, "sizes": figures}, indent=2))
    (args.out / "scale.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
