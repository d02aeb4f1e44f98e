"""`lint`: a preflight of rules against an archive's schema and a sample of its rows.

No full scan: the checks read the index's schema and manifest and a sample (`sample.py`). Per
rule it reports, with a severity (`error`: the rule cannot work on this archive; `warning`: it
very likely does not do what its author meant; `info`: worth knowing):

- query problems (`lint_query.py`): unknown fields with "did you mean", lower-case operators,
  leading wildcards on large fields, free text that only reads `message`, tag keys that exist only
  as attributes;
- `never-matches` (a query that compiles to "false" on this archive's schema) and
  `no-match-in-sample`;
- `group-by-missing` / `distinct-missing`: a group-by (or distinct) field missing on every sampled
  event the query matches, so every event is dropped (or the cardinality is 0);
- legal but useless options (`lint_options.py`: `useless-option`, `unreachable-case`,
  `unused-query`);
- `unsupported`: a rule type, detection method or feature `engine.run` cannot run yet;
- the estimated cost: the rows a scan of the range reads after partition pruning, the columns
  the rule reads, and the matching events the sample predicts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from engine.core.errors import HindsightError, RuleValidationError
from engine.core.times import parse_time
from engine.detect.base import LOG_DETECTION, PlanContext, method_for, runnable_types
from engine.detect.keys import field_column, numeric_values, text_values
from engine.query import compile_node, compile_query, parse
from engine.rules.loader import load_rule, load_rules
from engine.rules.models import Rule, legacy_filter_text
from engine.run import TimeInput
from engine.scan.plan import ScanPlan
from engine.workflow.lint_options import option_findings
from engine.workflow.lint_query import SEVERITIES, Finding, Severity, check_query, known_column
from engine.workflow.report import Report, time_text
from engine.workflow.sample import SAMPLE_ROWS, ArchiveSample, take_sample


@dataclass
class RuleCost:
    """What running the rule over the range costs, estimated without scanning it."""

    rows: int  # rows the scan reads after partition pruning (shared by every rule of a run)
    files: int
    bytes: int
    columns: list[str]  # archive columns the rule reads
    estimated_matches: dict[str, int]  # query name -> matching events, from the sample


@dataclass
class RuleLint:
    """The findings of one rule."""

    rule: str
    source: str | None
    findings: list[Finding] = field(default_factory=list)
    cost: RuleCost | None = None

    def count(self, severity: Severity) -> int:
        """How many findings have `severity`."""
        return sum(finding.severity == severity for finding in self.findings)


@dataclass
class LintReport(Report):
    """Lint findings of a rule set against one archive index."""

    archive: str
    index: str
    start: str | None
    end: str | None
    sample_rows: int
    sample_complete: bool
    rows_in_range: int
    files_in_range: int
    bytes_in_range: int
    rules: list[RuleLint]
    seconds: float

    def count(self, severity: Severity) -> int:
        """How many findings of every rule have `severity`."""
        return sum(rule.count(severity) for rule in self.rules)

    def fails(self, threshold: Severity = "error") -> bool:
        """Whether any finding is at least as severe as `threshold`."""
        worst = SEVERITIES[: SEVERITIES.index(threshold) + 1]
        return any(f.severity in worst for rule in self.rules for f in rule.findings)


RuleSource = str | Path | Rule | dict[str, Any]


def _load(items: Sequence[RuleSource]) -> list[tuple[str, str | None, Rule | None, str | None]]:
    """(name, source, rule, load error) for every rule of the inputs; a bad file is an entry."""
    loaded: list[tuple[str, str | None, Rule | None, str | None]] = []
    for item in items:
        if isinstance(item, Rule):
            loaded.append((item.name, None, item, None))
            continue
        if isinstance(item, dict):
            rule = load_rule(item)
            loaded.append((rule.name, None, rule, None))
            continue
        path = Path(item)
        files = sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            try:
                rules = load_rules(file)
            except RuleValidationError as exc:
                loaded.append((file.name, str(file), None, str(exc)))
                continue
            loaded += [(rule.name, str(file), rule, None) for rule in rules]
    return loaded


def lint(
    rules: RuleSource | Sequence[RuleSource],
    archive: Any,
    *,
    start: TimeInput = None,
    end: TimeInput = None,
    index: str = "main",
    sample_rows: int = SAMPLE_ROWS,
) -> LintReport:
    """Lint rules (files, folders, rules or dicts) against an archive index (never a full scan).

    The sample holds at most `sample_rows` rows.
    """
    began = time.perf_counter()
    items: Sequence[RuleSource] = (
        [rules] if isinstance(rules, str | Path | Rule | dict) else list(rules)
    )
    low = None if start is None else parse_time(start)
    high = None if end is None else parse_time(end)
    sample = take_sample(archive, index, low, high, max_rows=sample_rows)
    reports = []
    for name, source, rule, error in _load(items):
        report = RuleLint(name, source)
        if rule is None:
            report.findings.append(Finding("error", "invalid-rule", "", error or "invalid"))
        else:
            report.findings, report.cost = lint_rule(rule, sample)
        reports.append(report)
    return LintReport(
        archive=str(getattr(archive, "root", archive)),
        index=index,
        start=time_text(low),
        end=time_text(high),
        sample_rows=sample.rows.height,
        sample_complete=sample.complete,
        rows_in_range=sample.rows_in_range,
        files_in_range=sample.files_in_range,
        bytes_in_range=sample.bytes_in_range,
        rules=reports,
        seconds=time.perf_counter() - began,
    )


def lint_rule(rule: Rule, sample: ArchiveSample) -> tuple[list[Finding], RuleCost | None]:
    """The findings and estimated cost of one rule against a sample."""
    findings = _support_findings(rule)
    legacy = legacy_filter_text(rule.filters)
    for number, query in enumerate(rule.queries):
        parts = [
            (name, getattr(query, name))
            for name in ("query", "additionalFilters", "customQueryExtension")
        ]
        for part, text in [*parts, ("filters", legacy)]:
            if not text or not text.strip():
                continue
            where = f"queries[{number}].{part}" if part != "filters" else "filters"
            node = parse(text)
            findings += check_query(node, where, sample, rule.casing)
            if compile_node(node, sample.schema, rule.casing) is False:
                findings.append(
                    Finding(
                        "warning",
                        "never-matches",
                        where,
                        "can never match a log of this archive (see the fields above)",
                    )
                )
    findings += option_findings(rule)
    if rule.type != LOG_DETECTION or any(f.check == "unsupported" for f in findings):
        return findings, None
    try:
        sample_findings, cost = _sample_findings(rule, sample)
    except HindsightError as exc:
        findings.append(Finding("error", "unsupported", "", str(exc)))
        return findings, None
    return list(dict.fromkeys(findings + sample_findings)), cost


def _support_findings(rule: Rule) -> list[Finding]:
    if rule.type not in runnable_types():
        return [Finding("error", "unsupported", "type", f"rule type {rule.type} cannot run")]
    try:
        method_for(rule)
    except HindsightError as exc:
        return [Finding("error", "unsupported", "options.detectionMethod", str(exc))]
    return []


def _sample_findings(rule: Rule, sample: ArchiveSample) -> tuple[list[Finding], RuleCost]:
    plan = ScanPlan(sample.schema)
    planned = method_for(rule).plan(rule, plan, PlanContext())
    rows = plan.apply(sample.rows.lazy()).collect()
    findings: list[Finding] = []
    estimated: dict[str, int] = {}
    columns: set[str] = set()
    for query_plan in planned.queries:
        query = planned.rule.queries[query_plan.index]
        where = f"queries[{query_plan.index}] ({query_plan.name})"
        matched = rows.filter(pl.col(query_plan.flag))
        share = matched.height / sample.rows.height if sample.rows.height else 0.0
        estimated[query_plan.name] = round(share * sample.rows_in_range)
        for text in query.filter_texts():
            columns.update(compile_query(text, sample.schema, rule.casing).meta.root_names())
        if matched.height == 0 and sample.rows.height:
            scope = "in the range" if sample.complete else f"in the {sample.rows.height:,} sampled"
            findings.append(
                Finding(
                    "warning" if sample.complete else "info",
                    "no-match-in-sample",
                    where,
                    f"matches no log {scope} logs"
                    if not sample.complete
                    else f"matches no log {scope} ({sample.rows.height:,} logs)",
                )
            )
        fields = [
            (f, k, "group-by") for f, k in zip(query.groupByFields, query_plan.keys, strict=True)
        ]
        distinct = zip(query.distinctFields, query_plan.distinct, strict=False)  # () unless
        fields += [(f, k, "distinct") for f, k in distinct]  # the query counts cardinality
        for name, column, role in fields:
            columns.update(text_values(name, sample.schema).meta.root_names())
            findings += _missing_field(
                name, column, role, query.hasOptionalGroupByFields, matched, sample, where
            )
        for metric in query.metric_fields()[:1]:
            columns.update(numeric_values(metric, sample.schema).meta.root_names())
    cost = RuleCost(
        rows=sample.rows_in_range,
        files=sample.files_in_range,
        bytes=sample.bytes_in_range,
        columns=sorted(columns | {"id", "timestamp"}),
        estimated_matches=estimated,
    )
    return findings, cost


def _missing_field(
    name: str,
    column: str,
    role: str,
    optional: bool,
    matched: pl.DataFrame,
    sample: ArchiveSample,
    where: str,
) -> list[Finding]:
    consequence = (
        "the cardinality is 0"
        if role == "distinct"
        else ("every event is grouped under N/A" if optional else "every event is dropped")
    )
    severity: Severity = "info" if role == "group-by" and optional else "warning"
    archive_column = field_column(name)
    exists = (
        name.lower() in sample.tag_keys
        if archive_column == "tags" and not name.startswith("@")
        else known_column(archive_column, sample.schema)
    )
    if not exists and sample.rows.height:
        return [
            Finding(
                "error" if severity == "warning" else severity,
                f"{role}-missing",
                where,
                f"{role} field {name} is in no log of the archive: {consequence}",
            )
        ]
    if matched.height == 0:
        return []
    values = matched.get_column(column)
    present = (
        values.list.len().fill_null(0) > 0
        if isinstance(values.dtype, pl.List)
        else values.is_not_null()
    )
    if present.any():
        return []
    return [
        Finding(
            severity,
            f"{role}-missing",
            where,
            f"{role} field {name} is missing on all {matched.height:,} sampled logs the query "
            f"matches: {consequence}",
        )
    ]


#: Severities a preflight (before `hindsight run`, at job creation) reports.
PREFLIGHT: tuple[Severity, ...] = ("error", "warning")
#: Checks a preflight leaves to the run itself (which refuses those rules with its own message).
_RUN_REPORTS = frozenset({"invalid-rule", "unsupported"})


def preflight(
    rules: RuleSource | Sequence[RuleSource],
    archive: Any,
    *,
    start: TimeInput = None,
    end: TimeInput = None,
    index: str = "main",
    sample_rows: int = SAMPLE_ROWS,
) -> list[dict[str, str]]:
    """The lint errors and warnings a run or a job creation reports (never raises)."""
    try:
        report = lint(rules, archive, start=start, end=end, index=index, sample_rows=sample_rows)
    except HindsightError:
        return []  # the run or the job reports the problem itself
    return [
        {
            "rule": rule.rule,
            "severity": item.severity,
            "check": item.check,
            "where": item.where,
            "message": item.message,
        }
        for rule in report.rules
        for item in rule.findings
        if item.severity in PREFLIGHT and item.check not in _RUN_REPORTS
    ]
