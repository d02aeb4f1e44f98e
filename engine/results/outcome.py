"""The outcome of `engine.run`: every result, and what each rule did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.results.export import results_frame
from engine.results.result import JobResult


@dataclass
class RuleStats:
    """What one rule did in a run."""

    rule: str
    detection_method: str
    events_scanned: int = 0
    events_matched: dict[str, int] = field(default_factory=dict)
    results: int = 0
    results_by_severity: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    #: with `run(..., keep_matches=True)`: the matched events (`id`, `_t` epoch ms, one boolean
    #: column per query name)
    matches: pl.DataFrame | None = field(default=None, repr=False)


@dataclass
class JobRun:
    """The outcome of `run`: every result, and per-rule statistics."""

    results: list[JobResult]
    stats: list[RuleStats]
    start: int | None
    end: int | None
    events_scanned: int
    seconds: float
    cancelled: bool = False  # stopped early: the results are those found so far
    truncated: bool = False  # more results than `max_results`: the first ones (by time) are kept

    def to_dicts(self) -> list[dict[str, Any]]:
        """One flat dict per result (see `JobResult.to_dict`)."""
        return [result.to_dict() for result in self.results]

    def to_polars(self) -> pl.DataFrame:
        """The results as a DataFrame, one row per result."""
        return results_frame(self.results)
