"""A run's results, streamed: each partition's results sorted and written to a temporary file as
they are finished, then read back lazily, merged by time, behind a read-only sequence.

A run detecting partition by partition (`engine.run.local`) adds each partition's results to a
`ResultSpill`; with one partition the results stay in memory (a plain sorted list), with more
every batch is pickled to a file of a temporary folder, one result after the other, and only
their sort keys and file offsets are kept. `SpilledResults` is the sorted merge of the batches:
`len`, indexing, slicing and iteration read results from the files on demand, so going through a
run's results holds one at a time. The folder is removed when the last sequence reading it is
garbage collected.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import overload

import polars as pl

from engine.results.result import JobResult

__all__ = ["ResultSpill", "SpilledResults", "by_time"]


def by_time(results: list[JobResult]) -> None:
    """Sort results by time (then rule and id), in place: the order of a run's results."""
    results.sort(key=lambda result: (result.timestamp, result.rule_name, result.id))


class _Files:
    """The temporary folder of a spill and its open batch files (closed and removed on
    collection)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="hindsight-results-")
        self.descriptors: list[int] = []
        weakref.finalize(self, _remove, self.folder, self.descriptors)

    def write(self, batch: list[JobResult]) -> tuple[int, list[int]]:
        """A new batch file holding `batch` pickled one result after the other (one result's
        bytes in memory at a time); its number and the length of each result."""
        number = len(self.descriptors)
        path = os.path.join(self.folder, f"batch-{number}.bin")
        lengths = []
        with open(path, "wb") as handle:
            for result in batch:
                lengths.append(handle.write(pickle.dumps(result, pickle.HIGHEST_PROTOCOL)))
        self.descriptors.append(os.open(path, os.O_RDONLY))
        return number, lengths

    def read(self, batch: int, offset: int, length: int) -> JobResult:
        result: JobResult = pickle.loads(os.pread(self.descriptors[batch], length, offset))
        return result


def _remove(folder: str, descriptors: list[int]) -> None:
    for descriptor in descriptors:
        os.close(descriptor)
    shutil.rmtree(folder, ignore_errors=True)


class ResultSpill:
    """Collects a run's results batch by batch (each partition's), in memory or, `to_disk`, in
    temporary files; `results()` is their sorted merge."""

    def __init__(self, *, to_disk: bool) -> None:
        self._to_disk = to_disk
        self._kept: list[JobResult] = []  # the batches kept in memory
        self._files: _Files | None = None
        self._keys: list[pl.DataFrame] = []  # per spilled batch: sort keys, file and offsets

    def add(self, batch: list[JobResult]) -> None:
        """Add a batch of results (any order)."""
        if not self._to_disk:
            self._kept += batch
        elif batch:
            self._spill(batch)

    def _spill(self, batch: list[JobResult]) -> None:
        files = self._files = self._files or _Files()
        number, lengths = files.write(batch)
        offsets = list(accumulate(lengths[:-1], initial=0))  # each result after those before
        self._keys.append(
            pl.DataFrame(
                {
                    "timestamp": [result.timestamp for result in batch],
                    "rule": [result.rule_name for result in batch],
                    "id": [result.id for result in batch],
                    "batch": [number] * len(batch),
                    "offset": offsets,
                    "length": lengths,
                },
                schema_overrides={"batch": pl.Int32, "offset": pl.Int64, "length": pl.Int64},
            )
        )

    def results(self) -> Sequence[JobResult]:
        """Every result added, sorted by time (then rule and id)."""
        if self._files is None:
            by_time(self._kept)
            return self._kept
        keys = pl.concat(self._keys).sort("timestamp", "rule", "id", maintain_order=True)
        return SpilledResults(
            self._files,
            keys["batch"].to_list(),
            keys["offset"].to_list(),
            keys["length"].to_list(),
        )


class SpilledResults(Sequence[JobResult]):
    """Results read from a spill's files on demand, in sorted order (a read-only sequence:
    `len`, indexing, slicing, iteration; equal to any sequence of the same results)."""

    def __init__(
        self, files: _Files, batches: list[int], offsets: list[int], lengths: list[int]
    ) -> None:
        self._files = files
        self._batches = batches
        self._offsets = offsets
        self._lengths = lengths

    def __len__(self) -> int:
        return len(self._batches)

    @overload
    def __getitem__(self, index: int) -> JobResult: ...

    @overload
    def __getitem__(self, index: slice) -> SpilledResults: ...

    def __getitem__(self, index: int | slice) -> JobResult | SpilledResults:
        if isinstance(index, slice):
            return SpilledResults(
                self._files, self._batches[index], self._offsets[index], self._lengths[index]
            )
        return self._files.read(self._batches[index], self._offsets[index], self._lengths[index])

    def __iter__(self) -> Iterator[JobResult]:
        for batch, offset, length in zip(self._batches, self._offsets, self._lengths, strict=True):
            yield self._files.read(batch, offset, length)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SpilledResults({len(self)} results)"

    def __reduce__(self) -> tuple[type[list[JobResult]], tuple[list[JobResult]]]:
        """Pickled as a list of its results (a spill's files are of this process)."""
        return list, (list(self),)
