"""A sample of an archive index for `lint`: its schema, some rows spread over time, its size.

Never a full scan: at most `SAMPLE_FILES` files of the range are read, chosen evenly through
time from the manifest, and at most `SAMPLE_ROWS` rows overall (the first rows of each file). The
rows a full scan of the range would read (after partition pruning) come from the manifest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.archive.reader import Archive, collect, open_archive
from engine.archive.schema import Schema

SAMPLE_FILES = 32
SAMPLE_ROWS = 20_000


@dataclass(frozen=True)
class ArchiveSample:
    """Schema, sampled rows and size figures of one index over `[start, end)`."""

    schema: Schema
    rows: pl.DataFrame
    tag_keys: frozenset[str]
    rows_in_range: int  # rows of the files the range's scan reads (partition pruning)
    files_in_range: int
    bytes_in_range: int
    complete: bool  # the sample holds every row of the range


def take_sample(
    archive: str | Any,
    index: str = "main",
    start: int | None = None,
    end: int | None = None,
    *,
    max_rows: int = SAMPLE_ROWS,
    max_files: int = SAMPLE_FILES,
) -> ArchiveSample:
    """Read a sample of `index` within `[start, end)` (see the module docstring)."""
    opened: Archive = open_archive(archive)
    schema = opened.schema(index)
    files = opened.files(index, start=start, end=end)
    chosen = files
    if len(files) > max_files:
        step = len(files) / max_files
        chosen = [files[math.floor(i * step)] for i in range(max_files)]
    per_file = math.ceil(max_rows / len(chosen)) if chosen else 0
    frames = [
        collect(opened.scan(index, start=start, end=end, files=[entry]).head(per_file))
        for entry in chosen
    ]
    rows = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)
    keys: frozenset[str] = frozenset()
    if "tags" in rows.columns and rows.height:
        exploded = rows.select(pl.col("tags").explode().drop_nulls().str.split(":").list.first())
        keys = frozenset(exploded.to_series().unique().to_list())
    return ArchiveSample(
        schema=schema,
        rows=rows,
        tag_keys=keys,
        rows_in_range=sum(entry.rows for entry in files),
        files_in_range=len(files),
        bytes_in_range=sum(entry.bytes for entry in files),
        complete=len(chosen) == len(files) and all(entry.rows <= per_file for entry in chosen),
    )
