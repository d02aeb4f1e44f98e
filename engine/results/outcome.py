"""The outcome of `engine.run`: every result, what each rule did, and the run's manifest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.core.errors import HindsightError
from engine.results.export import results_frame
from engine.results.matched import Scannable, matched_frame, read_matched
from engine.results.result import JobResult

if TYPE_CHECKING:
    import pyarrow as pa

    from engine.results.manifest import RunManifest


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

    def to_json(self) -> dict[str, Any]:
        """The statistics as JSON (without `matches`)."""
        return {
            "rule": self.rule,
            "detection_method": self.detection_method,
            "events_scanned": self.events_scanned,
            "events_matched": self.events_matched,
            "results": self.results,
            "results_by_severity": self.results_by_severity,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


@dataclass
class JobRun:
    """The outcome of `run`: every result, per-rule statistics and the run manifest."""

    #: sorted by time; a lazy sequence reading them from temporary files when the run was
    #: detected in several partitions (`engine.results.spill`)
    results: Sequence[JobResult]
    stats: list[RuleStats]
    start: int | None
    end: int | None
    events_scanned: int
    seconds: float
    cancelled: bool = False  # stopped early: the results are those found so far
    truncated: bool = False  # more results than `max_results`: the first ones (by time) are kept
    #: what the run read and ran (`engine.results.manifest`); `engine.rerun` reproduces it
    manifest: RunManifest | None = None
    #: the logs the run read, for `events` and `matched_logs`
    logs: Scannable | None = field(default=None, repr=False)

    def to_dicts(self) -> list[dict[str, Any]]:
        """One flat dict per result (see `JobResult.to_dict`)."""
        return [result.to_dict() for result in self.results]

    def to_polars(self) -> pl.DataFrame:
        """The results as a DataFrame, one row per result, a `group.<field>` column per
        group-by field."""
        return results_frame(self.results)

    def to_arrow(self) -> pa.Table:
        """The results as a pyarrow Table (`to_polars()`'s columns)."""
        return self.to_polars().to_arrow()

    def result(self, result_id: str) -> JobResult:
        """The result with this id (raises `KeyError`)."""
        for result in self.results:
            if result.id == result_id:
                return result
        raise KeyError(result_id)

    def events(self, result: JobResult | str) -> pl.DataFrame:
        """Every log `result` matched (not only its samples), as the archive holds them: one row
        per log, earliest first, with every column that has a value."""
        chosen = self.result(result) if isinstance(result, str) else result
        found = read_matched(self._logs(), [chosen])
        return found.drop("result_id", "rule", "rule_id")

    def matched_logs(self, results: Sequence[JobResult] | None = None) -> pl.DataFrame:
        """Every matched log of every result (or of `results`), read in one pass: one row per
        result and log, with its result id, rule and group-by values (`matched_frame`)."""
        return matched_frame(self._logs(), self.results if results is None else results)

    def _logs(self) -> Scannable:
        if self.logs is None:
            raise HindsightError("this run does not know the logs it read (it was not run here)")
        return self.logs
