"""Every output format of results and matched logs round-trips: written by `hindsight run`, read
back with polars, and compared with the Python API's frames (the bundled sample and rules)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from engine import JobRun, load_rules, run
from engine.cli import main
from engine.results.export import document_row
from engine.results.runfile import MANIFEST_KEY, read_manifest, read_run_file

REPO = Path(__file__).resolve().parents[2]
SAMPLE_ARCHIVE = REPO / "sample_logs" / "archive"
RULES = REPO / "rules"
FORMATS = {"jsonl": "jsonl", "json": "json", "csv": "csv", "parquet": "parquet"}


@pytest.fixture(scope="module")
def outcome() -> JobRun:
    return run(load_rules(RULES), SAMPLE_ARCHIVE)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One `hindsight run` per format, each writing results and matched logs (format: extension)."""
    folder = tmp_path_factory.mktemp("outputs")
    for extension in FORMATS:
        results, matched = folder / f"results.{extension}", folder / f"matched.{extension}"
        args = ["run", str(RULES), "--archive", str(SAMPLE_ARCHIVE), "--output", str(results)]
        assert main([*args, "--matched-logs", str(matched)]) == 0
    return {name: folder / name for name in ("results", "matched")}


def test_to_polars_has_a_column_per_group_by_field(outcome: JobRun) -> None:
    frame = outcome.to_polars()
    assert frame["id"].to_list() == [result.id for result in outcome.results]
    fields = {field for result in outcome.results for field in result.group_by}
    assert len(fields) >= 3
    for field in fields:
        assert frame[f"group.{field}"].to_list() == [r.group_by.get(field) for r in outcome.results]
    assert pl.from_arrow(outcome.to_arrow()).equals(frame)  # type: ignore[union-attr]


def test_matched_logs_are_every_log_of_every_result(outcome: JobRun) -> None:
    frame = outcome.matched_logs()
    of_logs = [result for result in outcome.results if result.rule_type == "log_detection"]
    for result in of_logs:
        mine = frame.filter(pl.col("result_id") == result.id)
        assert mine["id"].to_list() == result.log_ids  # all of them, not the 10 samples
        assert set(mine["rule"]) == {result.rule_name}
        for field, value in result.group_by.items():
            assert set(mine[f"group.{field}"]) == {value}
    # a signal_correlation result's inputs are results (`correlated_results`), not logs
    correlations = {r.id for r in outcome.results if r.rule_type == "signal_correlation"}
    assert correlations and frame.filter(pl.col("result_id").is_in(correlations)).height == 0
    assert frame.height == sum(len(result.log_ids) for result in of_logs)
    assert frame.height > 10 * len(outcome.results)


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_tabular_results_round_trip(
    outcome: JobRun, written: dict[str, Path], extension: str
) -> None:
    expected = outcome.to_polars()
    path = written["results"].with_suffix(f".{extension}")
    if extension == "parquet":
        back = pl.read_parquet(path)
        assert back.equals(expected)
        manifest = json.loads(pl.read_parquet_metadata(path)[MANIFEST_KEY])
        assert len(manifest["rules"]) == len(outcome.stats)
        assert read_manifest(path).documents == outcome.manifest.documents  # type: ignore[union-attr]
        return
    back = pl.read_csv(path, schema=_csv_schema(expected))
    flat = expected.with_columns(pl.col("tags", "log_ids").list.join(","))
    assert back.columns == flat.columns
    assert back.equals(flat)


def test_jsonl_results_round_trip(outcome: JobRun, written: dict[str, Path]) -> None:
    back = pl.read_ndjson(written["results"].with_suffix(".jsonl"))
    documents = [result.to_histsignal() for result in outcome.results]
    assert back["id"].to_list() == [document["id"] for document in documents]
    assert back.to_dicts() == pl.DataFrame(documents).to_dicts()


def test_json_run_file_round_trips(outcome: JobRun, written: dict[str, Path]) -> None:
    path = written["results"].with_suffix(".json")
    data = json.loads(path.read_text())
    documents = [result.to_histsignal() for result in outcome.results]
    assert data["data"] == json.loads(json.dumps(documents))
    assert pl.DataFrame(data["data"])["id"].to_list() == [r.id for r in outcome.results]
    back = read_run_file(path)
    assert back.log_ids == {result.id: result.log_ids for result in outcome.results}
    assert back.manifest is not None
    assert back.manifest.documents == outcome.manifest.documents  # type: ignore[union-attr]
    assert [rule["rule"] for rule in back.rules] == [stat.rule for stat in outcome.stats]


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_tabular_matched_logs_round_trip(
    outcome: JobRun, written: dict[str, Path], extension: str
) -> None:
    expected = outcome.matched_logs()
    path = written["matched"].with_suffix(f".{extension}")
    if extension == "parquet":
        assert pl.read_parquet(path).equals(expected)
        return
    flat = expected.with_columns(pl.col("tags").list.join(","))
    back = pl.read_csv(path, schema=_csv_schema(expected))
    assert back.columns == flat.columns
    assert any(name.startswith("group.") for name in back.columns)
    assert back.equals(flat)


@pytest.mark.parametrize("extension", ["jsonl", "json"])
def test_json_matched_logs_round_trip(
    outcome: JobRun, written: dict[str, Path], extension: str
) -> None:
    path = written["matched"].with_suffix(f".{extension}")
    if extension == "jsonl":
        back = pl.read_ndjson(path, infer_schema_length=None)
    else:
        back = pl.read_json(path, infer_schema_length=None)
    expected = outcome.matched_logs()
    assert back["result_id"].to_list() == expected["result_id"].to_list()
    assert back["id"].to_list() == expected["id"].to_list()
    rows = back.to_dicts()
    for row, want in zip(rows, expected.iter_rows(named=True), strict=True):
        assert _without_nulls(row["attributes"]) == _without_nulls(json.loads(want["attributes"]))
        groups = {k.removeprefix("group."): v for k, v in want.items() if k.startswith("group.")}
        assert _without_nulls(row["group_by"]) == _without_nulls(groups)
        assert row["timestamp"] == want["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _csv_schema(frame: pl.DataFrame) -> dict[str, pl.DataType]:
    """The CSV types of a frame: lists as text, times as UTC datetimes, the rest as is."""
    return {
        name: pl.String() if isinstance(dtype, pl.List) else dtype
        for name, dtype in frame.schema.items()
    }


def _without_nulls(value: object) -> object:
    """A JSON value without the null members polars adds when it unifies rows' structs."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def test_a_stored_document_gives_the_row_of_its_result(outcome: JobRun) -> None:
    # the job API's CSV export reads rows back from the stored histsignal documents
    for result in outcome.results:
        assert document_row(result.to_histsignal(), result.log_ids) == result.to_dict()
        by_id = result.to_histsignal(attributes_key="custom")
        assert document_row(by_id, result.log_ids) == result.to_dict()
