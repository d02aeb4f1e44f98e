"""Hindsight: an open-source backtester for Datadog Cloud SIEM detection rules.

The Python API (the `hindsight` CLI calls the same functions):

- `parse(query)` / `match(query, events)`: the Datadog log search language;
- `ingest(sources, archive_root)`: exported logs -> a Parquet log archive;
- `open_archive(root)` / `search(query, archive)`: read and query an archive;
- `load_rule(path_or_dict)` / `load_rules(path_or_dir)`: Datadog detection rules;
- `run(rules, logs)`: the job results (histsignals) the rules would have produced;
- `convert(database, result_ids, ...)`: job results of the job service -> signals.
"""

from engine.archive.ingest import IngestReport, ingest
from engine.archive.reader import Archive, open_archive
from engine.errors import (
    ArchiveError,
    HindsightError,
    IngestError,
    QuerySyntaxError,
    RuleValidationError,
    TemplateError,
    UnsupportedRuleError,
)
from engine.jobs.result import JobResult
from engine.jobs.run import JobRun, RuleStats, run
from engine.match import match
from engine.query import parse
from engine.rules import JobDefinition, Rule, load_rule, load_rules
from engine.search import count, search
from engine.signals.convert import convert_results as convert

__all__ = [
    "Archive",
    "ArchiveError",
    "HindsightError",
    "IngestError",
    "IngestReport",
    "JobDefinition",
    "JobResult",
    "JobRun",
    "QuerySyntaxError",
    "Rule",
    "RuleStats",
    "RuleValidationError",
    "TemplateError",
    "UnsupportedRuleError",
    "convert",
    "count",
    "ingest",
    "load_rule",
    "load_rules",
    "match",
    "open_archive",
    "parse",
    "run",
    "search",
]
