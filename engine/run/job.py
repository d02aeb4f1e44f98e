"""What a run is asked: its rules (from any of the forms `run` takes), logs, range and options."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.results.result import JobResult
from engine.rules.loader import load_rule, load_rules
from engine.rules.models import JobDefinition, Rule
from engine.scan.source import LogSource

RuleInput = Rule | JobDefinition | Mapping[str, Any] | str | Path
TimeInput = int | str | datetime | None


def as_rules(rules: RuleInput | Sequence[RuleInput]) -> list[Rule]:
    """Rule objects from rules, job definitions, dicts, rule files or folders of rule files."""
    items: Sequence[RuleInput] = (
        [rules] if isinstance(rules, Rule | JobDefinition | Mapping | str | Path) else rules
    )
    loaded: list[Rule] = []
    for item in items:
        if isinstance(item, Rule):
            loaded.append(item)
        elif isinstance(item, JobDefinition):
            loaded.append(item.to_rule())
        elif isinstance(item, Mapping):
            loaded.append(load_rule(item))
        else:
            loaded.extend(load_rules(item))
    return loaded


@dataclass
class Job:
    """What a run was asked (what a task of a run on a cluster is sent)."""

    rules: list[Rule]
    source: LogSource
    low: int | None
    high: int | None
    index: str
    job_id: str | None
    strict: bool
    keep_matches: bool
    tables: Any
    results: Sequence[JobResult]
    options: dict[str, Any] = field(default_factory=dict)  # format, timestamp_field (manifest)
    #: Per rule, its first time over every partition (`engine.run.first_time`), when the client
    #: of a run on a cluster found it for its tasks (None: the run finds it).
    first_times: list[int | None] | None = None
