"""`diff`: two versions of a rule set run on the same data, in ONE scan, and what differs.

Both versions go through a single `engine.run` call (every rule is tagged with its version), so
they see exactly the same events. The report lists the results only OLD produces, the results
only NEW produces, the results both produce but differently, the matched events each query of
one version catches and the other does not, and both versions' counts per day.

Matching results across versions: two results are *the same result* when they come from the same
rule identity (see `revisions`), have the same group-by fields and values, and their
`[first_seen, last_seen]` spans overlap (bounds included). Each OLD result, in time order, is paired
with the earliest unpaired NEW result that qualifies. A pair is *changed* when its severity,
case, first or last seen time, or attached events differ.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from engine.core.errors import HindsightError
from engine.results.outcome import JobRun
from engine.results.result import JobResult
from engine.run import TimeInput, run
from engine.workflow.report import Report, time_text
from engine.workflow.revisions import RuleVersion, VersionedRule, load_version

Version = Literal["old", "new"]
#: Events listed per query and side (the counts are always complete).
MAX_EXAMPLE_EVENTS = 20
_TIME = "_t"


@dataclass
class ResultSummary:
    """One result of one version."""

    rule: str
    identity: str
    case: str
    severity: str
    group_by: dict[str, str]
    timestamp: datetime
    first_seen: datetime
    last_seen: datetime
    events_matched: int
    id: str


@dataclass
class Change:
    """One field of a result that differs between the versions."""

    field: str
    old: Any
    new: Any


@dataclass
class ChangedResult:
    """A result both versions produce, with what differs."""

    old: ResultSummary
    new: ResultSummary
    changes: list[Change]
    events_only_old: int
    events_only_new: int


@dataclass
class EventRef:
    """A matched event, by id and time."""

    id: str
    timestamp: str | None


@dataclass
class QueryEvents:
    """The events one query matches in each version, and those only one of them matches."""

    rule: str
    identity: str
    query: str
    old_query: str | None
    new_query: str | None
    old_events: int
    new_events: int
    only_old: int
    only_new: int
    examples_only_old: list[EventRef] = field(default_factory=list)
    examples_only_new: list[EventRef] = field(default_factory=list)


@dataclass
class DayCounts:
    """Results (by trigger time) and matched events of each version on one UTC day."""

    day: str
    old_results: int
    new_results: int
    old_events: int
    new_events: int


@dataclass
class RulePair:
    """A rule identity and its two versions (None: absent from that version)."""

    identity: str
    old: str | None
    new: str | None
    old_error: str | None = None
    new_error: str | None = None


@dataclass
class DiffReport(Report):
    """What changes between two versions of a rule set on the same data."""

    old: str
    new: str
    start: str | None
    end: str | None
    events_scanned: int
    rules: list[RulePair]
    old_results: int
    new_results: int
    only_old: list[ResultSummary]
    only_new: list[ResultSummary]
    changed: list[ChangedResult]
    unchanged: int
    queries: list[QueryEvents]
    per_day: list[DayCounts]
    seconds: float

    @property
    def has_changes(self) -> bool:
        """Whether any result or any query's matched events differ."""
        return bool(
            self.only_old
            or self.only_new
            or self.changed
            or any(q.only_old or q.only_new for q in self.queries)
        )


def diff(
    old: str | Path,
    new: str | Path,
    logs: Any,
    *,
    start: TimeInput = None,
    end: TimeInput = None,
    index: str = "main",
) -> DiffReport:
    """Run both versions of the rules (files, folders or `path@rev`) in one scan and compare."""
    began = time.perf_counter()
    versions = {"old": load_version(old), "new": load_version(new)}
    if versions["old"].folder != versions["new"].folder:
        raise HindsightError(f"compare a file with a file or a folder with a folder: {old}, {new}")
    tagged: list[Any] = []
    owners: dict[str, tuple[Version, VersionedRule]] = {}
    for side, version in versions.items():
        for number, item in enumerate(version.rules):
            tag = f"{side}:{number}"
            owners[tag] = (_side(side), item)
            tagged.append(item.rule.model_copy(update={"id": tag}))
    outcome = run(tagged, logs, start=start, end=end, index=index, keep_matches=True)
    results = _summaries(outcome, owners)
    pairs = _pairs(versions["old"], versions["new"], outcome, owners)
    only_old: list[ResultSummary] = []
    only_new: list[ResultSummary] = []
    changed: list[ChangedResult] = []
    unchanged = 0
    for pair in pairs:
        old_side = [r for r in results["old"] if r[0].identity == pair.identity]
        new_side = [r for r in results["new"] if r[0].identity == pair.identity]
        matched, lone_old, lone_new = match_results(old_side, new_side)
        only_old += [summary for summary, _ in lone_old]
        only_new += [summary for summary, _ in lone_new]
        for (a, a_ids), (b, b_ids) in matched:
            change = _compare(a, a_ids, b, b_ids)
            if change is None:
                unchanged += 1
            else:
                changed.append(change)
    matches = _matches(outcome, owners)
    return DiffReport(
        old=str(old),
        new=str(new),
        start=time_text(outcome.start),
        end=time_text(outcome.end),
        events_scanned=outcome.events_scanned,
        rules=pairs,
        old_results=len(results["old"]),
        new_results=len(results["new"]),
        only_old=only_old,
        only_new=only_new,
        changed=changed,
        unchanged=unchanged,
        queries=_query_events(pairs, versions, matches),
        per_day=_per_day(results, matches),
        seconds=time.perf_counter() - began,
    )


def _side(name: str) -> Version:
    return "old" if name == "old" else "new"


Summarised = tuple[ResultSummary, frozenset[str]]


def _summaries(
    outcome: JobRun, owners: dict[str, tuple[Version, VersionedRule]]
) -> dict[Version, list[Summarised]]:
    found: dict[Version, list[Summarised]] = {"old": [], "new": []}
    for result in outcome.results:
        side, item = owners[result.rule_id or ""]
        found[side].append((_summary(result, item.key), frozenset(result.log_ids)))
    return found


def _summary(result: JobResult, identity: str) -> ResultSummary:
    return ResultSummary(
        rule=result.rule_name,
        identity=identity,
        case=result.case_name,
        severity=result.severity,
        group_by=dict(result.group_by),
        timestamp=result.timestamp,
        first_seen=result.first_seen,
        last_seen=result.last_seen,
        events_matched=result.events_matched,
        id=result.id,
    )


def _pairs(
    old: RuleVersion,
    new: RuleVersion,
    outcome: JobRun,
    owners: dict[str, tuple[Version, VersionedRule]],
) -> list[RulePair]:
    errors: dict[tuple[Version, str], str] = {}
    for tag, stat in zip(owners, outcome.stats, strict=True):
        side, item = owners[tag]
        if stat.error:
            errors[(side, item.key)] = stat.error
    old_names = {item.key: item.rule.name for item in old.rules}
    new_names = {item.key: item.rule.name for item in new.rules}
    keys = list(dict.fromkeys([*old_names, *new_names]))
    return [
        RulePair(
            key,
            old_names.get(key),
            new_names.get(key),
            errors.get(("old", key)),
            errors.get(("new", key)),
        )
        for key in keys
    ]


def _overlap(a: ResultSummary, b: ResultSummary) -> bool:
    return a.first_seen <= b.last_seen and b.first_seen <= a.last_seen


def match_results(
    old: Sequence[Summarised], new: Sequence[Summarised]
) -> tuple[list[tuple[Summarised, Summarised]], list[Summarised], list[Summarised]]:
    """Pair the results of one rule identity (see the module docstring): pairs, lone old, new."""
    remaining = sorted(new, key=lambda item: (item[0].first_seen, item[0].id))
    pairs: list[tuple[Summarised, Summarised]] = []
    lone_old: list[Summarised] = []
    for item in sorted(old, key=lambda item: (item[0].first_seen, item[0].id)):
        summary = item[0]
        partner = next(
            (
                other
                for other in remaining
                if other[0].group_by == summary.group_by and _overlap(summary, other[0])
            ),
            None,
        )
        if partner is None:
            lone_old.append(item)
        else:
            remaining.remove(partner)
            pairs.append((item, partner))
    return pairs, lone_old, remaining


def _compare(
    old: ResultSummary, old_ids: frozenset[str], new: ResultSummary, new_ids: frozenset[str]
) -> ChangedResult | None:
    changes = [
        Change(name, getattr(old, name), getattr(new, name))
        for name in ("severity", "case", "first_seen", "last_seen", "events_matched")
        if getattr(old, name) != getattr(new, name)
    ]
    only_old, only_new = len(old_ids - new_ids), len(new_ids - old_ids)
    if not changes and not only_old and not only_new:
        return None
    if (only_old or only_new) and not any(c.field == "events_matched" for c in changes):
        changes.append(Change("events", f"{only_old} only in OLD", f"{only_new} only in NEW"))
    return ChangedResult(old, new, changes, only_old, only_new)


Matches = dict[tuple[Version, str], pl.DataFrame]


def _matches(outcome: JobRun, owners: dict[str, tuple[Version, VersionedRule]]) -> Matches:
    found: Matches = {}
    for tag, stat in zip(owners, outcome.stats, strict=True):
        side, item = owners[tag]
        if stat.matches is not None:
            found[(side, item.key)] = stat.matches
    return found


def _matched(frame: pl.DataFrame | None, query: str) -> pl.DataFrame:
    empty = pl.DataFrame(schema={"id": pl.String, _TIME: pl.Int64})
    if frame is None or query not in frame.columns:
        return empty
    return frame.filter(pl.col(query)).select("id", _TIME).unique("id")


def _examples(frame: pl.DataFrame) -> list[EventRef]:
    first = frame.sort(_TIME, "id").head(MAX_EXAMPLE_EVENTS)
    return [EventRef(i, time_text(t)) for i, t in first.iter_rows()]


def _query_events(
    pairs: list[RulePair], versions: dict[str, RuleVersion], matches: Matches
) -> list[QueryEvents]:
    texts: dict[tuple[Version, str], dict[str, str]] = {}
    for side, version in versions.items():
        for item in version.rules:
            names = item.rule.query_names()
            texts[(_side(side), item.key)] = {
                name: " AND ".join(query.filter_texts()) or ""
                for name, query in zip(names, item.rule.queries, strict=True)
            }
    found: list[QueryEvents] = []
    for pair in pairs:
        old_texts = texts.get(("old", pair.identity), {})
        new_texts = texts.get(("new", pair.identity), {})
        for name in dict.fromkeys([*old_texts, *new_texts]):
            old_rows = _matched(matches.get(("old", pair.identity)), name)
            new_rows = _matched(matches.get(("new", pair.identity)), name)
            only_old = old_rows.join(new_rows, on="id", how="anti")
            only_new = new_rows.join(old_rows, on="id", how="anti")
            found.append(
                QueryEvents(
                    rule=pair.new or pair.old or pair.identity,
                    identity=pair.identity,
                    query=name,
                    old_query=old_texts.get(name),
                    new_query=new_texts.get(name),
                    old_events=old_rows.height,
                    new_events=new_rows.height,
                    only_old=only_old.height,
                    only_new=only_new.height,
                    examples_only_old=_examples(only_old),
                    examples_only_new=_examples(only_new),
                )
            )
    return found


def _days(frame: pl.DataFrame) -> dict[str, int]:
    if frame.height == 0:
        return {}
    days = frame.select(
        pl.from_epoch(pl.col(_TIME), time_unit="ms").dt.strftime("%Y-%m-%d").alias("day")
    )
    return dict(days.group_by("day").len().iter_rows())


def _per_day(results: dict[Version, list[Summarised]], matches: Matches) -> list[DayCounts]:
    counts: dict[str, dict[str, int]] = {}
    for side in ("old", "new"):
        for summary, _ in results[_side(side)]:
            day = summary.timestamp.strftime("%Y-%m-%d")
            counts.setdefault(day, {}).setdefault(f"{side}_results", 0)
            counts[day][f"{side}_results"] += 1
        frames = [frame.select("id", _TIME) for key, frame in matches.items() if key[0] == side]
        if frames:
            for day, number in _days(pl.concat(frames).unique("id")).items():
                counts.setdefault(day, {})[f"{side}_events"] = number
    return [
        DayCounts(
            day,
            values.get("old_results", 0),
            values.get("new_results", 0),
            values.get("old_events", 0),
            values.get("new_events", 0),
        )
        for day, values in sorted(counts.items())
    ]
