"""Writing and reading an archive: partitions, sorting, de-duplication, widening, time pruning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest

from engine.archive.event import LogEvent, normalize_event
from engine.archive.layout import list_data_files
from engine.archive.reader import open_archive
from engine.archive.writer import ArchiveWriter
from engine.core.errors import ArchiveError, IngestError

T0 = 1_709_510_400_000  # 2024-03-04T00:00:00Z
MINUTE = 60_000


def events(count: int, *, start: int = T0, step: int = 10 * MINUTE, **attrs: Any) -> list[LogEvent]:
    return [
        normalize_event(
            {"timestamp": start + i * step, "message": f"m{i}", "attributes": {"i": i, **attrs}}
        )
        for i in range(count)
    ]


def write(root: Path, batch: list[LogEvent], index: str = "main", **options: Any) -> Any:
    with ArchiveWriter(root, index, **options) as writer:
        writer.write(batch)
    return writer.summary


def test_partitions_by_utc_hour_and_sorts_rows(tmp_path: Path) -> None:
    batch = events(12)  # two hours of events, one every 10 minutes
    summary = write(tmp_path, list(reversed(batch)))
    assert summary.events == 12
    files = list_data_files(tmp_path / "index=main")
    assert [name.rsplit("/", 1)[0] for name in files] == [
        "dt=20240304/hour=00",
        "dt=20240304/hour=01",
    ]
    for name in files:
        stamps = pl.read_parquet(tmp_path / "index=main" / name)["timestamp"]
        assert stamps.is_sorted()


def test_files_are_zstd_with_statistics(tmp_path: Path) -> None:
    write(tmp_path, events(3))
    (name,) = list_data_files(tmp_path / "index=main")
    metadata = pq.read_metadata(tmp_path / "index=main" / name)
    column = metadata.row_group(0).column(metadata.schema.names.index("timestamp"))
    assert column.compression == "ZSTD"
    assert column.statistics is not None and column.statistics.has_min_max


def test_reingest_adds_no_duplicates(tmp_path: Path) -> None:
    batch = events(30)
    write(tmp_path, batch)
    summary = write(tmp_path, batch + batch[:5])
    assert summary.events == 0
    assert summary.duplicates == 35
    assert open_archive(tmp_path).info().events == 30


def test_small_buffer_flushes_early_and_keeps_every_event(tmp_path: Path) -> None:
    batch = events(500, step=MINUTE)
    with ArchiveWriter(tmp_path, buffer_bytes=1) as writer:
        for i in range(0, 500, 50):
            writer.write(batch[i : i + 50])
    assert writer.summary.events == 500
    assert writer.summary.files > len(writer.summary.partitions)  # flushed more than once
    frame = open_archive(tmp_path).scan().collect()
    assert frame.height == 500
    assert frame["id"].n_unique() == 500


def test_type_widening_across_ingests_converts_old_files_on_read(tmp_path: Path) -> None:
    write(tmp_path, events(2, n=5, roles="admin"))
    write(tmp_path, events(2, start=T0 + 5, n="five", roles=["dev", "ops"]))
    archive = open_archive(tmp_path)
    schema = archive.schema()
    assert schema["@n"] == pl.String()
    assert schema["@roles"] == pl.List(pl.String())
    frame = archive.scan().collect().sort("timestamp", "@n")
    assert sorted(frame["@n"].to_list()) == ["5", "5", "five", "five"]
    assert ["admin"] in frame["@roles"].to_list()
    assert ["dev", "ops"] in frame["@roles"].to_list()


def test_scan_prunes_files_by_time_and_filters_half_open(tmp_path: Path) -> None:
    write(tmp_path, events(48, step=5 * MINUTE))  # 4 hours
    archive = open_archive(tmp_path)
    start, end = T0 + 60 * MINUTE, T0 + 120 * MINUTE
    assert len(archive.files(start=start, end=end)) == 1
    frame = archive.scan(start=start, end=end).collect()
    stamps = frame["timestamp"].dt.epoch("ms")
    assert frame.height == 12
    assert stamps.min() == start and stamps.max() < end


def test_manifest_is_rebuilt_when_missing(tmp_path: Path) -> None:
    write(tmp_path, events(10))
    (tmp_path / "index=main" / "_manifest.json").unlink()
    assert open_archive(tmp_path).info().events == 10


def test_indexes_are_separate(tmp_path: Path) -> None:
    write(tmp_path, events(3), index="main")
    write(tmp_path, events(5), index="cloud")
    archive = open_archive(tmp_path)
    assert archive.indexes() == ["cloud", "main"]
    assert archive.info("cloud").events == 5


def test_unknown_index_names_the_known_ones(tmp_path: Path) -> None:
    write(tmp_path, events(1))
    with pytest.raises(ArchiveError, match=r"index 'nope' does not exist .*indexes: main"):
        open_archive(tmp_path).scan("nope")


def test_missing_archive_is_an_archive_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="does not exist"):
        open_archive(tmp_path / "absent")


def test_corrupt_file_is_named(tmp_path: Path) -> None:
    write(tmp_path, events(3))
    (name,) = list_data_files(tmp_path / "index=main")
    (tmp_path / "index=main" / name).write_bytes(b"not parquet at all")
    with pytest.raises(ArchiveError, match=f"corrupt archive file .*{name.rsplit('/', 1)[1]}"):
        open_archive(tmp_path).scan()


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-x", "x" * 101])
def test_invalid_index_names_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(IngestError, match="invalid index name"):
        ArchiveWriter(tmp_path, name)


def test_second_writer_on_same_index_is_refused(tmp_path: Path) -> None:
    with (
        ArchiveWriter(tmp_path),
        pytest.raises(ArchiveError, match="being written by another process"),
    ):
        ArchiveWriter(tmp_path).open()


def test_a_missing_file_fails_reads_of_its_time_until_acknowledged(tmp_path: Path) -> None:
    write(tmp_path, events(12))  # hours 00 and 01
    first, _ = list_data_files(tmp_path / "index=main")
    (tmp_path / "index=main" / first).unlink()
    archive = open_archive(tmp_path)
    with pytest.raises(ArchiveError, match=f"archive file .*{first.rsplit('/', 1)[1]} is missing"):
        archive.scan().collect()
    assert archive.scan(start=T0 + 60 * MINUTE).collect().height == 6  # hour 01 is intact
    (tmp_path / "index=main" / "_manifest.json").unlink()  # acknowledge: rebuild from disk
    assert open_archive(tmp_path).scan().collect().height == 6


def test_reingesting_restores_a_missing_file(tmp_path: Path) -> None:
    batch = events(12)
    write(tmp_path, batch)
    (tmp_path / "index=main" / list_data_files(tmp_path / "index=main")[0]).unlink()
    summary = write(tmp_path, batch)
    assert (summary.events, summary.duplicates) == (6, 6)
    assert open_archive(tmp_path).scan().collect().height == 12
