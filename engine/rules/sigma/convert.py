"""Sigma rule files -> Datadog detection rules (JSON objects the rule loader reads).

`convert_sigma(paths, pipeline)` reads every Sigma YAML file (a folder: its `*.yml` / `*.yaml`,
recursively, sorted) into one pySigma collection, so a correlation rule finds the rules it names
in other files, and converts each rule with `HindsightDatadogBackend` and the pipeline:

- a single-event rule becomes a threshold rule: one `count` query holding the Datadog search the
  backend wrote, one case `a > 0` with the Sigma level as severity, `evaluationWindow` 0 (so
  every matching log is a result, as a Sigma match is an alert);
- a correlation rule becomes the rule `engine.rules.sigma.correlation` builds from the queries of
  the rules it references.

Each rule yields a `SigmaConversion`: the Datadog rule, or the converter's own reason why not
(pySigma's message, never a traceback). A rule only referenced by a correlation (Sigma's
`generate: false`, the default) is converted but not `output`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule, SigmaRuleBase

from engine.core.errors import RuleValidationError
from engine.query.casing import Casing
from engine.rules.models import Rule
from engine.rules.sigma import metadata
from engine.rules.sigma.backend import HindsightDatadogBackend
from engine.rules.sigma.correlation import correlation_rule
from engine.rules.sigma.files import sigma_files
from engine.rules.sigma.pipeline import SOURCE_ATTRIBUTE, PipelineInput, load_pipeline
from engine.rules.validation import validate_rule

__all__ = ["SigmaConversion", "convert_sigma", "datadog_query", "single_rule"]


@dataclass
class SigmaConversion:
    """One Sigma rule of a file: its Datadog rule, or why it did not convert.

    `source` is the file, or `file[i]` (0-based) when the file holds several rules; `kind` is
    `rule` or the correlation type; `notes` say where the Datadog rule is not exactly the Sigma
    rule (a rounded window, a method the engine does not run yet).
    """

    file: Path
    source: str
    title: str
    sigma_id: str | None = None
    kind: str = "rule"
    logsource: dict[str, str] = field(default_factory=dict)
    rule: dict[str, Any] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    output: bool = True
    #: `rule` as the engine loaded it (`validate_rule`)
    loaded: Rule | None = field(default=None, repr=False)


def convert_sigma(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    pipeline: PipelineInput = None,
) -> list[SigmaConversion]:
    """Convert every Sigma rule of the given files and folders (see module doc).

    `pipeline`: a shipped pipeline name, a pipeline YAML path, several of them, or None for every
    shipped pipeline. Raises `SigmaPipelineError` for a pipeline that cannot be read.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    files = [file for item in items for file in _files(Path(item))]
    return _Converter(load_pipeline(pipeline)).convert(files)


def _files(path: Path) -> list[Path]:
    """A folder's Sigma files; a file given by name is read whatever its suffix."""
    return sigma_files(path) if path.is_dir() else [path]


class _Converter:
    def __init__(self, pipeline: ProcessingPipeline) -> None:
        self.pipeline = pipeline
        self.backend = HindsightDatadogBackend(processing_pipeline=pipeline)
        self.entries: dict[int, SigmaConversion] = {}  # id(rule) -> its conversion
        self.queries: dict[int, str] = {}  # id(rule) -> its Datadog query
        self.cased: dict[int, tuple[str, ...]] = {}  # id(rule) -> its `|cased` clauses

    def convert(self, files: Sequence[Path]) -> list[SigmaConversion]:
        found: list[SigmaConversion] = []
        rules: list[SigmaRuleBase] = []
        filters: list[SigmaFilter] = []
        for file in files:
            found += self._read(file, rules, filters)
        collection = SigmaCollection(rules)
        for rule in rules:
            if isinstance(rule, SigmaCorrelationRule):
                self._resolve(rule, collection)
        for index, rule in enumerate(rules):
            if isinstance(rule, SigmaRule) and filters:
                rules[index] = self._filtered(rule, filters)
        for rule in rules:
            if isinstance(rule, SigmaRule):
                self._single(rule)
        for rule in rules:
            if isinstance(rule, SigmaCorrelationRule) and self.entries[id(rule)].error is None:
                self._correlation(rule)
        return found

    def _read(
        self, file: Path, rules: list[SigmaRuleBase], filters: list[SigmaFilter]
    ) -> list[SigmaConversion]:
        try:
            text = file.read_text(encoding="utf-8")
            documents = [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]
            collection = SigmaCollection.from_dicts(
                documents, collect_errors=True, source=SigmaRuleLocation(file)
            )
        except FileNotFoundError:
            return [SigmaConversion(file, str(file), file.stem, error="no such file or folder")]
        except (OSError, UnicodeDecodeError) as exc:
            reason = f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"
            return [SigmaConversion(file, str(file), file.stem, error=reason)]
        except yaml.YAMLError as exc:
            return [SigmaConversion(file, str(file), file.stem, error=f"not valid YAML: {exc}")]
        except (SigmaError, AttributeError, TypeError) as exc:
            return [SigmaConversion(file, str(file), file.stem, error=_reason(exc))]
        entries: list[SigmaConversion] = []
        parsed = [rule for rule in collection.rules if not isinstance(rule, SigmaFilter)]
        filters += [rule for rule in collection.rules if isinstance(rule, SigmaFilter)]
        for index, rule in enumerate(parsed):
            source = str(file) if len(parsed) == 1 else f"{file}[{index}]"
            entry = SigmaConversion(
                file,
                source,
                rule.title or file.stem,
                str(rule.id) if rule.id is not None else None,
                str(rule.type) if isinstance(rule, SigmaCorrelationRule) else "rule",
                _logsource(rule),
            )
            if rule.errors:
                entry.error = "; ".join(_reason(error) for error in rule.errors)
            else:
                rules.append(rule)
            self.entries[id(rule)] = entry
            entries.append(entry)
        if collection.errors and not entries:
            reason = "; ".join(_reason(error) for error in collection.errors)
            entries.append(SigmaConversion(file, str(file), file.stem, error=reason))
        return entries

    def _resolve(self, rule: SigmaCorrelationRule, collection: SigmaCollection) -> None:
        try:
            rule.resolve_rule_references(collection)
        except SigmaError as exc:
            self.entries[id(rule)].error = _reason(exc)
            return
        for reference in rule.rules:
            referenced = self.entries.get(id(reference.rule))
            if referenced is not None and not rule.generate:
                referenced.output = False

    def _filtered(self, rule: SigmaRule, filters: list[SigmaFilter]) -> SigmaRule:
        entry = self.entries[id(rule)]
        for sigma_filter in filters:
            try:
                filtered = sigma_filter.apply_on_rule(rule)
            except SigmaError as exc:
                entry.error = f"filter {sigma_filter.title!r}: {_reason(exc)}"
                continue
            assert isinstance(filtered, SigmaRule)
            rule = filtered
        self.entries[id(rule)] = entry
        return rule

    def _single(self, rule: SigmaRule) -> None:
        entry = self.entries[id(rule)]
        if entry.error is not None:
            return
        self.backend.cased.clear()
        converted = _guarded(entry, lambda: _queries(self.backend, rule))
        if converted is None:
            return
        query = datadog_query(converted, rule.custom_attributes.get(SOURCE_ATTRIBUTE))
        self.queries[id(rule)] = query
        self.cased[id(rule)] = tuple(dict.fromkeys(self.backend.cased))
        entry.rule = self._checked(entry, single_rule(rule, query), self.cased[id(rule)])

    def _correlation(self, rule: SigmaCorrelationRule) -> None:
        entry = self.entries[id(rule)]
        queries: dict[int, str] = {}
        for reference in rule.rules:
            referenced = reference.rule
            if isinstance(referenced, SigmaCorrelationRule):
                entry.error = (
                    f"it correlates the correlation rule {referenced.title!r}: "
                    "correlations of correlations are not supported"
                )
                return
            if id(referenced) not in self.queries:
                reason = self.entries[id(referenced)].error
                entry.error = (
                    f"it correlates the rule {referenced.title!r}, not converted: {reason}"
                )
                return
            queries[id(referenced)] = self.queries[id(referenced)]
        outcome = _guarded(
            entry, lambda: correlation_rule(rule, queries, self.backend, self.pipeline)
        )
        if outcome is None:
            return
        converted, notes = outcome
        entry.notes += notes
        cased = tuple(dict.fromkeys(text for key in queries for text in self.cased[key]))
        entry.rule = self._checked(entry, converted, cased)

    @staticmethod
    def _checked(
        entry: SigmaConversion, rule: dict[str, Any], cased: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """The rule when the engine's validation accepts it (loaded with Sigma's
        case-insensitive string matching but for its `|cased` clauses); else the problems as
        the error."""
        try:
            loaded = validate_rule(rule, source=entry.source)
        except RuleValidationError as exc:
            problems = "; ".join(f"{path or '(root)'}: {text}" for path, text in exc.problems)
            entry.error = f"the converted rule is not valid: {problems}"
            return None
        entry.loaded = loaded.with_casing(Casing(ignore_case=True, cased=cased))
        return rule


T = TypeVar("T")


def _guarded(entry: SigmaConversion, convert: Callable[[], T]) -> T | None:
    """`convert()`, or None with the reason of its failure recorded as the entry's error."""
    try:
        return convert()
    except SigmaError as exc:
        entry.error = _reason(exc)
    except Exception as exc:  # pySigma's own failures: reported per rule, never raised
        entry.error = f"pySigma failed: {type(exc).__name__}: {exc}"
    return None


def _queries(backend: HindsightDatadogBackend, rule: SigmaRule) -> list[str]:
    """The backend's query for each condition of a rule (also of one only a correlation uses)."""
    backend.convert_rule(rule)
    return [str(query) for query in rule.get_conversion_result()]


def datadog_query(queries: Sequence[str], source: Any = None) -> str:
    """One Datadog search from the backend's queries (one per Sigma condition), limited to
    `source:<source>` when the pipeline set one."""
    query = queries[0] if len(queries) == 1 else " OR ".join(f"({text})" for text in queries)
    if source is None:
        return query
    return f"source:{source} ({query})" if " OR " in query else f"source:{source} {query}"


def single_rule(rule: SigmaRule, query: str) -> dict[str, Any]:
    """The Datadog rule of a single-event Sigma rule: `a > 0` over a window of 0."""
    return {
        "name": rule.title,
        "type": "log_detection",
        "isEnabled": True,
        "queries": [
            {
                "query": query,
                "aggregation": "count",
                "groupByFields": [],
                "distinctFields": [],
                "name": "",
            }
        ],
        "cases": [
            {
                "name": "",
                "status": metadata.severity(rule.level),
                "condition": "a > 0",
                "notifications": [],
            }
        ],
        "options": {
            "detectionMethod": "threshold",
            "evaluationWindow": 0,
            "keepAlive": 0,
            "maxSignalDuration": 0,
        },
        "message": metadata.message(rule),
        "tags": metadata.tags(rule),
        **metadata.identity(rule),
    }


def _logsource(rule: SigmaRuleBase) -> dict[str, str]:
    if not isinstance(rule, SigmaRule):
        return {}
    return metadata.logsource(rule)


def _reason(error: BaseException) -> str:
    """pySigma's message for an error, without the file it appends (the caller names it)."""
    text = Exception.__str__(error)
    location = getattr(error, "source", None)
    if isinstance(location, SigmaRuleLocation) and location.line is not None:
        text += f" (line {location.line})"
    return text or type(error).__name__
