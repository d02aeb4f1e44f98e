"""Where a job reads logs from: an archive index, or log dicts given in memory."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from engine.archive.event import distinguish_repeats
from engine.archive.formats import records_to_events
from engine.archive.frame import events_to_frame, frame_to_events
from engine.archive.reader import Archive, collect, collect_all, open_archive, time_filter
from engine.archive.schema import Schema
from engine.core.columns import BASE_COLUMNS, RAW_COLUMN
from engine.core.errors import ArchiveError

SLICE_ROWS = 2_000_000


class LogSource:
    """Logs a job runs over: a schema to compile against, a lazy scan, and logs by id."""

    def __init__(
        self,
        schema: Schema,
        frame: pl.LazyFrame | None,
        archive: Archive | None = None,
        index: str = "main",
    ) -> None:
        self.schema = schema
        self._frame = frame
        self.archive = archive
        self.index = index

    @classmethod
    def of(
        cls,
        logs: Any,
        index: str = "main",
        *,
        format: str = "auto",
        timestamp_field: str | None = None,
    ) -> LogSource:
        """A source from an archive path, an opened `Archive`, or a sequence of log dicts.

        Log dicts are read as `ingest` reads records of `format` (`auto`: detected from the first
        one), so raw CloudTrail records get the CloudTrail remap.
        """
        if isinstance(logs, LogSource):
            return logs
        if isinstance(logs, Sequence) and not isinstance(logs, str | bytes):
            if not all(isinstance(item, Mapping) for item in logs):
                raise TypeError("logs given as a list must all be log dicts")
            read = records_to_events(logs, format=format, timestamp_field=timestamp_field)
            frame = events_to_frame(distinguish_repeats(read))
            return cls(dict(frame.schema), frame.lazy(), index=index)
        if format != "auto" or timestamp_field is not None:
            raise ArchiveError("format and timestamp_field apply to log dicts given in memory")
        archive = open_archive(logs)
        return cls(archive.schema(index), None, archive, index)

    def scan(
        self, start: int | None = None, end: int | None = None, *, selective: bool = False
    ) -> pl.LazyFrame:
        """Events with `start <= timestamp < end` (epoch ms; None = open); `selective`: the query
        keeps few rows (`Archive.scan`)."""
        if self.archive is not None:
            return self.archive.scan(self.index, start=start, end=end, selective=selective)
        assert self._frame is not None
        return self._frame.filter(time_filter(start, end))

    def collect_all(
        self, frames: Sequence[pl.LazyFrame], start: int | None, end: int | None
    ) -> list[pl.DataFrame]:
        """Run queries over `[start, end)`; a read failure names the unreadable archive file."""
        try:
            return collect_all(frames)
        except ArchiveError:
            if self.archive is not None:
                self.archive.check_files(self.index, start=start, end=end)
            raise

    def logs_by_id(
        self, ids: Sequence[str], start: int | None = None, end: int | None = None
    ) -> dict[str, dict[str, Any]]:
        """Full canonical logs of the given ids within `[start, end)`, keyed by id."""
        if not ids:
            return {}
        return {event["id"]: event for event in frame_to_events(self.logs_frame(ids, start, end))}

    def logs_frame(
        self, ids: Sequence[str], start: int | None = None, end: int | None = None
    ) -> pl.DataFrame:
        """The rows of the given ids within `[start, end)`, with the columns of their full logs
        (`frame_to_events` makes the logs of any subset of them)."""
        columns = [name for name in (*BASE_COLUMNS, RAW_COLUMN) if name in self.schema]
        wanted = pl.Series("ids", list(set(ids)), dtype=pl.String())
        found = self.scan(start, end, selective=True).filter(pl.col("id").is_in(wanted.implode()))
        return collect(found.select(columns))

    def slices(
        self, start: int | None, end: int | None, *, target_rows: int = SLICE_ROWS
    ) -> list[tuple[int | None, int | None]]:
        """Consecutive `[low, high)` time slices covering `[start, end)`, each ~`target_rows` rows.

        Cuts fall on file boundaries of the archive (from its manifest); in-memory logs are one
        slice. The scan reads slice by slice, so progress follows event time.
        """
        if self.archive is None:
            return [(start, end)]
        cuts: list[int] = []
        rows = 0
        for entry in self.archive.files(self.index, start=start, end=end):
            if rows >= target_rows and entry.min_ts is not None:
                low = cuts[-1] if cuts else start
                if (low is None or entry.min_ts > low) and (end is None or entry.min_ts < end):
                    cuts.append(entry.min_ts)
                    rows = 0
            rows += entry.rows
        bounds: list[int | None] = [start, *cuts, end]
        return list(itertools.pairwise(bounds))
