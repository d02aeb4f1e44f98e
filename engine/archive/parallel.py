"""Laying out NDJSON blocks on every core: a pool of worker processes, results in input order.

`BlockPool` is a `formats.Layout`: the blocks of a file go to worker processes
(`blocks.block_frame`, which needs no state), at most a few ahead of the one being consumed, so
memory stays bounded by the block size times the window. The frames come back in input order, so
the ingesting process keeps everything that depends on order (de-duplication, repeat ids,
rejection line numbers, writing). Frames travel as Arrow IPC bytes (about five times cheaper
to write and read than pickling a polars frame). The first block is laid out in this process
while the workers start (a fork server, so they import the engine once); an input of one block
never waits for them.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType

import polars as pl

from engine.archive.blocks import block_frame
from engine.archive.formats.lines import Block

#: Blocks laid out ahead of the one consumed, per worker.
AHEAD_PER_JOB = 2


def default_jobs() -> int:
    """The default number of worker processes: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class BlockPool:
    """Lays out blocks in `jobs` worker processes (use as a context manager)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> BlockPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __call__(self, blocks: Iterator[Block]) -> Iterator[tuple[Block, pl.DataFrame | None]]:
        """Each block with its frame (or `None`), in input order."""
        pending: deque[tuple[Block, Future[bytes | None]]] = deque()
        first = self._pool is None
        for block in blocks:
            if first:  # the workers start meanwhile
                self._start()
                first = False
                yield block, block_frame(block.data)
                continue
            pending.append((block, self._start().submit(block_ipc, block.data)))
            while len(pending) > self.jobs * AHEAD_PER_JOB:
                done, future = pending.popleft()
                yield done, from_ipc(future.result())
        while pending:
            done, future = pending.popleft()
            yield done, from_ipc(future.result())

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=context)
            self._pool.submit(int)  # start the workers now
        return self._pool


def block_ipc(data: bytes) -> bytes | None:
    """`blocks.block_frame` of `data` as Arrow IPC bytes (run in a worker)."""
    frame = block_frame(data)
    return None if frame is None else to_ipc(frame)


def to_ipc(frame: pl.DataFrame) -> bytes:
    """`frame` as uncompressed Arrow IPC bytes."""
    out = io.BytesIO()
    frame.write_ipc(out, compression="uncompressed")
    return out.getvalue()


def from_ipc(data: bytes | None) -> pl.DataFrame | None:
    """The frame `to_ipc` wrote (`None` stays `None`)."""
    return None if data is None else pl.read_ipc(io.BytesIO(data))
