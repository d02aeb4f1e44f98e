"""Laying out NDJSON blocks on every core: a pool of worker processes, results in input order.

`BlockPool` is a `formats.Layout`: the blocks of a file go to worker processes
(`blocks.block_frame`, which needs no state), at most a few ahead of the one being consumed, so
memory stays bounded by the block size times the window. The frames come back in input order, so
the ingesting process keeps everything that depends on order (de-duplication, repeat ids,
rejection line numbers, writing). The first block is laid out in this process while the workers
start (a fork server, so they import the engine once); an input of one block never waits for
them.
"""

from __future__ import annotations

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
        pending: deque[tuple[Block, Future[pl.DataFrame | None]]] = deque()
        first = self._pool is None
        for block in blocks:
            if first:  # the workers start meanwhile
                self._start()
                first = False
                yield block, block_frame(block.data)
                continue
            pending.append((block, self._start().submit(block_frame, block.data)))
            while len(pending) > self.jobs * AHEAD_PER_JOB:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["engine.archive.blocks"])
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=context)
            self._pool.submit(int)  # start the workers now
        return self._pool
