"""The streamed writers of `hindsight run` give the bytes the whole-run writers gave: a run of
several partitions (a lazy `SpilledResults`) written one result or one batch at a time, compared
with the documents, run file and frame built from every result at once."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import orjson
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import JobRun, load_rules, run
from engine.cli.outputs import OutputFormat, write_results
from engine.results.export import csv_frame, results_batches, results_frame, write_csv
from engine.results.runfile import (
    MANIFEST_KEY,
    read_run_file,
    run_document,
    write_run_file,
)
from engine.results.spill import SpilledResults
from engine.scan.backends.local import LocalBackend
from tests.results.many import FIELDS, result, spilled_run

REPO = Path(__file__).resolve().parents[2]
LINT = [{"rule": "r", "severity": "warning", "where": "queries[0]", "message": "ünïcode"}]


@pytest.fixture(scope="module")
def partitioned() -> JobRun:
    """The bundled rules (but the correlation ones, which hold every result) over the sample,
    in three partitions."""
    rules = [rule for rule in load_rules(REPO / "rules") if rule.type != "signal_correlation"]
    found = run(rules, REPO / "sample_logs" / "archive", backend=LocalBackend(partitions=3))
    assert isinstance(found.results, SpilledResults) and len(found.results) > 10
    assert len({tuple(r.group_by) for r in found.results}) > 3  # several group columns
    return found


def whole(outcome: JobRun, output_format: OutputFormat) -> bytes:
    """What the writers wrote before they streamed: built from every result at once."""
    match output_format:
        case "jsonl":
            return b"".join(orjson.dumps(r.to_histsignal()) + b"\n" for r in outcome.results)
        case "json":
            document = run_document(outcome, lint=LINT)
            return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
        case "csv":
            return csv_frame(results_frame(list(outcome.results))).write_csv().encode()
    raise AssertionError(output_format)


@pytest.mark.parametrize("output_format", ["jsonl", "json", "csv"])
def test_a_partitioned_run_is_written_with_the_bytes_of_the_whole_run(
    partitioned: JobRun, tmp_path: Path, output_format: OutputFormat
) -> None:
    path = tmp_path / f"results.{output_format}"
    write_results(partitioned, output_format, path, lint=LINT)
    assert path.read_bytes() == whole(partitioned, output_format)


def test_a_partitioned_run_as_parquet_reads_back_as_the_whole_frame(
    partitioned: JobRun, tmp_path: Path
) -> None:
    path = tmp_path / "results.parquet"
    write_results(partitioned, "parquet", path)
    assert pl.read_parquet(path).equals(partitioned.to_polars())
    manifest = pl.read_parquet_metadata(path)[MANIFEST_KEY]
    assert orjson.loads(manifest) == partitioned.manifest.to_json()  # type: ignore[union-attr]


def test_a_run_file_written_as_it_streams_reads_back(partitioned: JobRun, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    with path.open("wb") as handle:
        write_run_file(partitioned, handle, lint=LINT)
    back = read_run_file(path)
    assert back.documents == [r.to_histsignal() for r in partitioned.results]
    assert back.log_ids == {r.id: r.log_ids for r in partitioned.results}
    assert back.manifest == partitioned.manifest and back.lint == LINT


GROUPS = st.lists(st.lists(st.sampled_from(FIELDS), unique=True, max_size=3), max_size=40)


@settings(max_examples=40, deadline=None)
@given(GROUPS, st.integers(1, 12))
def test_batches_have_every_group_column_of_the_run_in_order(
    groups: list[list[str]], size: int
) -> None:
    # each result grouped by its own fields: a batch may lack a column that a later one has
    results = [
        replace(result(number), group_by={field: f"{field}={number}" for field in fields})
        for number, fields in enumerate(groups)
    ]
    batches = list(results_batches(results, size))
    assert len(batches) == max(1, -(-len(results) // size))
    assert pl.concat(batches).equals(results_frame(results))
    text = io.BytesIO()
    write_csv((csv_frame(batch) for batch in results_batches(results, size)), text)
    assert text.getvalue() == csv_frame(results_frame(results)).write_csv().encode()


@pytest.mark.parametrize("count", [0, 1, 7])
@pytest.mark.parametrize("output_format", ["jsonl", "json", "csv"])
def test_few_or_no_results_are_written_as_before(
    tmp_path: Path, count: int, output_format: OutputFormat
) -> None:
    outcome = spilled_run(count)
    path = tmp_path / f"results.{output_format}"
    write_results(outcome, output_format, path, lint=LINT)
    assert path.read_bytes() == whole(outcome, output_format)


def test_no_results_as_parquet_is_an_empty_frame_of_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "results.parquet"
    write_results(spilled_run(0), "parquet", path)
    assert pl.read_parquet(path).equals(results_frame([]))
    assert pq.read_metadata(path).num_rows == 0
