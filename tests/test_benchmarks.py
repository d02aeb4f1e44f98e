"""Smoke version of the benchmarks: small data, and the three implementations must agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import compare
from benchmarks import ingest as ingest_figures
from benchmarks.api_latency import measure
from benchmarks.run import main
from benchmarks.workload import build_archive

EVENTS = 20_000


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root, report = build_archive(tmp_path_factory.mktemp("bench"), EVENTS, seed=3)
    assert report.events_written == EVENTS
    return root


def test_filter_counts_agree(archive: Path) -> None:
    ours = compare.filter_count_hindsight(archive)
    assert ours > 0
    assert compare.filter_count_polars(archive) == ours
    assert compare.filter_count_duckdb(archive) == ours


def test_threshold_instants_agree(archive: Path) -> None:
    ours = compare.threshold_instants_hindsight(archive)
    assert ours  # the workload plants failure bursts
    assert compare.threshold_instants_polars(archive) == ours
    assert compare.threshold_instants_duckdb(archive) == ours


def test_threshold_job_results_cover_every_matched_instant(archive: Path) -> None:
    instants = compare.threshold_instants_hindsight(archive)
    results = compare.threshold_results_hindsight(archive).results
    spans = [
        (r.group_by["@usr.id"], r.first_seen.timestamp() * 1000, r.last_seen.timestamp() * 1000)
        for r in results
    ]
    for user, moment in instants:
        assert any(u == user and low <= moment <= high for u, low, high in spans)


def test_runner_writes_a_report(tmp_path: Path) -> None:
    args = ["--events", "2000", "--repeat", "1", "--data", str(tmp_path), "--out", str(tmp_path)]
    assert main(args) == 0
    saved = json.loads((tmp_path / "latest.json").read_text())
    assert saved["events"] == 2000
    assert {t["implementation"] for t in saved["timings"]} == {"hindsight", "polars", "duckdb"}


def test_api_latency_benchmark_runs_small() -> None:
    figures = measure(results=30, requests=2)
    assert set(figures) == {
        "list median ms",
        "list p95 ms",
        "list + filter[query] median ms",
        "list + filter[query] p95 ms",
    }
    assert all(value > 0 for value in figures.values())


def test_scale_runner_reports_every_figure_with_answers_checked(tmp_path: Path) -> None:
    args = ["--scale", "--sizes", "3k", "--rules", "4", "--many", "8"]
    assert main([*args, "--data", str(tmp_path), "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "scale.json").read_text())
    (size,) = saved["sizes"]
    assert size["events"] == 3000
    assert size["ingest"]["answer"] == 3000
    assert size["rules"]["peak_rss"] > 0 and size["rules"]["cpu"] > 0
    text = (tmp_path / "scale.txt").read_text()
    for figure in (
        "ingest vs polars",
        "one rule: whole job vs hand polars",
        "4 rules one by one",
        "DuckDB window queries",
        "peak RSS",
        "1-hour job",
        "8 rules in one run",
        "CPU seconds (user + system): ingest",
        "load average",
    ):
        assert figure in text


def test_ingest_runner_reports_the_ingest_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ingest_figures.main(["--sizes", "2k", "--data", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "events: 2,000" in text
    assert "ingest vs polars read_ndjson+write_parquet" in text
    for step in ingest_figures.STEPS:
        assert f"  {step} " in text
    assert "CPU" in text and "peak RSS" in text and "load" in text
