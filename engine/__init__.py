"""Hindsight: an open-source backtester for Datadog Cloud SIEM detection rules.

The Python API (the `hindsight` CLI calls the same functions):

- `parse(query)` / `match(query, events)`: the Datadog log search language;
- `ingest(sources, archive_root)`: exported logs -> a Parquet log archive;
- `open_archive(root)` / `search(query, archive)`: read and query an archive;
- `load_rule(path_or_dict)` / `load_rules(path_or_dir)`: Datadog detection rules;
- `run(rules, logs)`: the job results (histsignals) the rules would have produced;
- `convert(database, result_ids, ...)`: job results of the job service -> signals (imported on
  first use: `import engine` loads no database, web or notification code);
- `test_rule(rule)`: a rule's unit tests, in memory; `diff(old, new, logs)`: two versions of
  rules on one scan; `score(rules, logs, labels)`: against labelled attacks; `lint(rules, archive)`:
  a preflight on a sample; `explain(rule, logs, group=..., at=...)`: why it fired, or not;
- `rerun(manifest)`: a run again from its manifest (`JobRun.manifest`, `read_manifest(path)`),
  and whether its results are identical.
"""

from typing import TYPE_CHECKING, Any

import engine.detect.methods as _detection_methods  # every method registers itself  # noqa: F401
from engine.archive.ingest import IngestReport, ingest
from engine.archive.reader import Archive, open_archive
from engine.core.errors import (
    ArchiveError,
    HindsightError,
    IngestError,
    QuerySyntaxError,
    RuleValidationError,
    TemplateError,
    UnsupportedRuleError,
)
from engine.match import match
from engine.query import parse
from engine.results.outcome import JobRun, RuleStats
from engine.results.result import JobResult
from engine.results.runfile import read_manifest, read_run_file
from engine.rules import JobDefinition, Rule, load_rule, load_rules
from engine.run import run
from engine.search import count, search
from engine.workflow.diff import diff
from engine.workflow.explain import explain
from engine.workflow.lint import lint
from engine.workflow.rerun import rerun
from engine.workflow.score import score
from engine.workflow.tests import test_rule

if TYPE_CHECKING:
    from engine.notify.convert import convert_results as convert


def __getattr__(name: str) -> Any:
    """`engine.convert`, imported on first use: it needs the job store (SQLAlchemy) and the
    notifiers, which `import engine` does not load."""
    if name == "convert":
        from engine.notify.convert import convert_results  # noqa: PLC0415

        return convert_results
    raise AttributeError(f"module 'engine' has no attribute {name!r}")


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
    "diff",
    "explain",
    "ingest",
    "lint",
    "load_rule",
    "load_rules",
    "match",
    "open_archive",
    "parse",
    "read_manifest",
    "read_run_file",
    "rerun",
    "run",
    "score",
    "search",
    "test_rule",
]
