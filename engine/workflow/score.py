"""`score`: rules against labelled attacks: recall, false positives, time to detect.

Definitions (docs/score.md):

- A result *matches* a label when its `[first_seen, last_seen]` overlaps the label's window (ends
  included) and, if the label names an entity, that entity is one of the result's group-by values
  or a value in one of its sample logs (exact text).
- A label's *scope* is the rules expected to catch it: those it names (`rule`, by name or id);
  else the rules tagged with one of its techniques (`technique:T1110…` tags; a label's `T1110`
  also covers a rule's `T1110.003`); else every rule.
- A rule *detects* a label of its scope when one of its results matches it; recall = detected /
  labels in scope. A label is *caught* when some rule of its scope detects it.
- A *false positive* is a result that matches no label at all; per day = false positives / days of
  the scanned range (`--from`/`--to`, else the data's first to last event).
- Time to detect = the earliest matching result's trigger time minus the window start (negative
  when the rule fired on the entity's activity just before the labelled window).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.results.result import JobResult
from engine.rules.models import Rule
from engine.run import RuleInput, TimeInput, as_rules, run
from engine.scan.source import LogSource
from engine.workflow.labels import Label, load_labels
from engine.workflow.report import Report, time_text

DAY_MS = 86_400_000


@dataclass
class RuleScore:
    """One rule against the labels."""

    rule: str
    results: int
    labels_in_scope: int
    detected: int
    recall: float | None
    false_positives: int
    false_positives_per_day: float | None
    mean_time_to_detect_ms: float | None
    detected_labels: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class LabelScore:
    """One labelled window: which rules of its scope caught it, and how fast."""

    label: str
    start: str
    end: str
    entity: str | None
    scope: list[str]
    caught_by: list[str]
    time_to_detect_ms: int | None


@dataclass
class Overall:
    """Every rule together."""

    labels: int
    caught: int
    recall: float | None
    results: int
    false_positives: int
    false_positives_per_day: float | None
    mean_time_to_detect_ms: float | None


@dataclass
class ScoreReport(Report):
    """How a rule set does against labelled attacks."""

    start: str | None
    end: str | None
    days: float
    rules: list[RuleScore]
    labels: list[LabelScore]
    overall: Overall
    missed: list[str]
    seconds: float


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def result_entities(result: JobResult) -> set[str]:
    """The values an entity is looked for in: group-by values and every sample log value."""
    values = set(result.group_by.values())
    for sample in result.samples:
        values.update(_leaves(sample.log))
    return values


def matches(result: JobResult, label: Label, entities: set[str]) -> bool:
    """Whether `result` matches `label` (overlapping span, and the entity if it names one)."""
    first = int(result.first_seen.timestamp() * 1000)
    last = int(result.last_seen.timestamp() * 1000)
    if first > label.end or last < label.start:
        return False
    return label.entity is None or label.entity in entities


def _techniques(rule: Rule) -> list[str]:
    return [
        tag.split(":", 1)[1].split("-", 1)[0].upper()
        for tag in rule.tags
        if tag.lower().startswith("technique:")
    ]


def in_scope(label: Label, rule: Rule) -> bool:
    """Whether `rule` is expected to catch `label` (see the module docstring)."""
    if label.rules:
        return rule.name in label.rules or (rule.id is not None and rule.id in label.rules)
    if label.techniques:
        wanted = [technique.upper() for technique in label.techniques]
        return any(
            have == want or have.startswith(want + ".")
            for have in _techniques(rule)
            for want in wanted
        )
    return True


def _range(logs: Any, index: str, low: int | None, high: int | None) -> tuple[int, int] | None:
    """The scanned range: the given bounds, else the data's first and last event times."""
    first: int | None = low
    last: int | None = high
    if first is None or last is None:
        source = LogSource.of(logs, index)
        if source.archive is not None:
            info = source.archive.info(index)
            data = (info.min_ts, info.max_ts)
        else:
            times = source.scan().select(pl.col("timestamp").dt.epoch("ms")).collect().to_series()
            data = (None, None) if times.is_empty() else (int(times.min()), int(times.max()))  # type: ignore[arg-type]
        first = data[0] if first is None else first
        last = data[1] if last is None else last
    return None if first is None or last is None else (first, last)


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _tagged(rules: Sequence[Rule]) -> list[Rule]:
    """Each rule under the id `score:<position>` (so its results are told apart even when two
    rules share a name or id), its correlation queries naming the rules they read by those ids."""
    tags: dict[str, str] = {}
    for number, rule in enumerate(rules):
        for name in (rule.defaultRuleId, rule.id):
            if name is not None:
                tags[name] = f"score:{number}"
    tagged = []
    for number, rule in enumerate(rules):
        queries = [
            query.model_copy(update={"ruleId": tags[name], "defaultRuleId": None})
            if (name := query.ruleId or query.defaultRuleId) in tags
            else query
            for query in rule.queries
        ]
        tagged.append(rule.model_copy(update={"id": f"score:{number}", "queries": queries}))
    return tagged


def score(
    rules: RuleInput | Sequence[RuleInput],
    logs: Any,
    labels: str | Path | Sequence[Label],
    *,
    start: TimeInput = None,
    end: TimeInput = None,
    index: str = "main",
) -> ScoreReport:
    """Run `rules` over `logs` once and score their results against `labels`."""
    began = time.perf_counter()
    windows = load_labels(labels) if isinstance(labels, str | Path) else list(labels)
    loaded = as_rules(rules)
    outcome = run(_tagged(loaded), logs, start=start, end=end, index=index)
    span = _range(logs, index, outcome.start, outcome.end)
    days = (span[1] - span[0]) / DAY_MS if span else 0.0
    by_rule: dict[int, list[JobResult]] = {n: [] for n in range(len(loaded))}
    names = [rule.name for rule in loaded]
    for result in outcome.results:  # each rule was run under the id `score:<position>`
        by_rule[int((result.rule_id or "").split(":")[1])].append(result)
    hits: dict[tuple[int, int], int] = {}  # (rule, label) -> earliest trigger minus start
    false_positives = [0] * len(loaded)
    for number, found in by_rule.items():
        for result in found:
            entities = result_entities(result)
            trigger = int(result.timestamp.timestamp() * 1000)
            matched = [n for n, label in enumerate(windows) if matches(result, label, entities)]
            if not matched:
                false_positives[number] += 1
            for label_number in matched:
                delay = trigger - windows[label_number].start
                key = (number, label_number)
                hits[key] = min(delay, hits.get(key, delay))
    scope = {
        (r, n): in_scope(label, rule)
        for r, rule in enumerate(loaded)
        for n, label in enumerate(windows)
    }
    rule_scores = []
    for r, rule in enumerate(loaded):
        mine = [n for n in range(len(windows)) if scope[(r, n)]]
        detected = [n for n in mine if (r, n) in hits]
        rule_scores.append(
            RuleScore(
                rule=rule.name,
                results=len(by_rule[r]),
                labels_in_scope=len(mine),
                detected=len(detected),
                recall=len(detected) / len(mine) if mine else None,
                false_positives=false_positives[r],
                false_positives_per_day=false_positives[r] / days if days else None,
                mean_time_to_detect_ms=_mean([hits[(r, n)] for n in detected]),
                detected_labels=[windows[n].label for n in detected],
                error=outcome.stats[r].error,
            )
        )
    label_scores = []
    for n, label in enumerate(windows):
        catchers = [r for r in range(len(loaded)) if scope[(r, n)] and (r, n) in hits]
        label_scores.append(
            LabelScore(
                label=label.label,
                start=time_text(label.start) or "",
                end=time_text(label.end) or "",
                entity=label.entity,
                scope=[names[r] for r in range(len(loaded)) if scope[(r, n)]],
                caught_by=[names[r] for r in catchers],
                time_to_detect_ms=min((hits[(r, n)] for r in catchers), default=None),
            )
        )
    caught = [item for item in label_scores if item.caught_by]
    total_fp = sum(false_positives)
    overall = Overall(
        labels=len(windows),
        caught=len(caught),
        recall=len(caught) / len(windows) if windows else None,
        results=len(outcome.results),
        false_positives=total_fp,
        false_positives_per_day=total_fp / days if days else None,
        mean_time_to_detect_ms=_mean(
            [item.time_to_detect_ms for item in caught if item.time_to_detect_ms is not None]
        ),
    )
    return ScoreReport(
        start=time_text(span[0]) if span else None,
        end=time_text(span[1]) if span else None,
        days=days,
        rules=rule_scores,
        labels=label_scores,
        overall=overall,
        missed=[item.label for item in label_scores if not item.caught_by],
        seconds=time.perf_counter() - began,
    )
