"""A run's progress: the share of it done, monotonic, split between partitions and steps."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: The share of a run's progress given to the scan (detection and result assembly: the rest).
SCAN_SHARE = 0.5

ProgressCallback = Callable[[float], None]


@dataclass
class Share:
    """Partition `number` of `count`'s share of a run's detection, which follows the scan of
    every partition (the first `SCAN_SHARE` of the run)."""

    tracker: Progress
    number: int
    count: int

    def report(self, fraction: float) -> None:
        """`fraction` of the partition's detection is done."""
        self.tracker.report(SCAN_SHARE + (1 - SCAN_SHARE) * (self.number + fraction) / self.count)


class Progress:
    """A run's progress report: never moves back, and reaches 1.0 only by `finish`."""

    def __init__(self, report: ProgressCallback | None) -> None:
        self._report = report
        self._done = 0.0

    def report(self, fraction: float) -> None:
        """`fraction` of the run is done (kept below 1.0, never moving back)."""
        value = min(fraction, math.nextafter(1.0, 0.0))
        if self._report is not None and value > self._done:
            self._done = value
            self._report(value)

    def finish(self) -> None:
        """The run is over: 1.0."""
        if self._report is not None:
            self._done = 1.0
            self._report(1.0)
