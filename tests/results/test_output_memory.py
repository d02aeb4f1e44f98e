"""Writing a run's results holds one batch of them, not all: the Python memory each output format
of `hindsight run` takes at its peak does not grow with the number of results (issue 10).

Each writer writes N and then 10 N results of a run spilled in three partitions (a lazy
`SpilledResults`, as `engine.run` gives for a run of several partitions), in batches of
`BATCH` results; tracemalloc measures what the writer itself allocates. A writer that builds
every document or row in memory (as they did before) peaks about 10 times higher on 10 N.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.cli.outputs import OutputFormat, write_results
from engine.results import export
from tests.results.many import BATCH, COUNTS, assert_flat, peak_bytes, spilled_run


@pytest.mark.parametrize("output_format", ["jsonl", "json", "csv", "parquet"])
def test_writing_results_holds_one_batch_whatever_their_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_format: OutputFormat
) -> None:
    monkeypatch.setattr(export, "RESULT_BATCH", BATCH)
    peaks = []
    for count in COUNTS:
        run = spilled_run(count)
        path = tmp_path / f"{count}.{output_format}"
        peaks.append(peak_bytes(lambda: write_results(run, output_format, path)))  # noqa: B023
        if output_format == "parquet":  # every result, a row group per batch
            metadata = pq.read_metadata(path)
            assert metadata.num_rows == count
            assert metadata.num_row_groups == -(-count // BATCH)
        else:  # every result (a document or row is more than 300 bytes)
            assert path.stat().st_size > count * 300
    assert_flat(peaks, output_format)
