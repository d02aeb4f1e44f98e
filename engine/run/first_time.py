"""The first-time pre-pass: a run-wide fact a partitioned run finds before its partitions.

A method that reads `DetectContext.first_time` (the earliest time of the rule's rows over all its
groups: new_value's and anomaly's learning periods start there) must see the same value in every
partition, whichever groups the partition holds. For each such rule read by hash partitions, the
pre-pass finds it over the whole range: the earliest row matching one of the rule's filters within
its own range. The source's time slices are read in time order with only those filters, and the
pass stops at the first slice where every such rule has a row, so it usually reads one slice (a
rule that matches nothing makes it read them all). On a cluster, the client runs it once and sends
the times with the task (`Job.first_times`).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.scan.plan import ScanPlan
from engine.scan.source import LogSource


def first_times(
    reads: Sequence[tuple[Sequence[str], int | None]],
    source: LogSource,
    plan: ScanPlan,
    low: int | None,
    high: int | None,
) -> list[int | None]:
    """Per `(flags, rule_low)` of `reads`, the earliest time in `[low, high)` of the rows matching
    one of the plan filters `flags` at or after `rule_low` (None: no such row)."""
    found: list[int | None] = [None] * len(reads)
    for slice_low, slice_high in source.slices(low, high) if reads else []:
        frame = source.scan(slice_low, slice_high)
        (earliest,) = source.collect_all([plan.earliest(frame, reads)], slice_low, slice_high)
        found = [
            old if old is not None else new for old, new in zip(found, earliest.row(0), strict=True)
        ]
        if all(value is not None for value in found):
            break
    return found
