"""`test_rule` / `run_tests`: rule unit tests, run in memory through `engine.run`.

Each test's example events become a list of log dicts and go through exactly the engine a job
uses (`engine.run(rule, events)`), with no archive. The results are compared with the test's
`Expectation`; every difference is a `Mismatch` (what, expected, got).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from engine.core.errors import HindsightError, TestDefinitionError
from engine.results.result import JobResult
from engine.rules.loader import load_rule, load_rules
from engine.rules.models import Rule
from engine.run import run
from engine.workflow.examples import (
    TEST_SUFFIXES,
    Expectation,
    ResultExpectation,
    RuleTest,
    inline_tests,
    parse_tests,
    read_tests_file,
    rule_file_for,
    test_events,
    tests_file_for,
)
from engine.workflow.report import Report

Status = Literal["passed", "failed", "error"]


@dataclass
class Mismatch:
    """One expectation the results did not meet."""

    what: str
    expected: Any
    got: Any


@dataclass
class GotResult:
    """What a test's result was, in the terms of the expectations."""

    severity: str
    group_by: dict[str, str]
    events_matched: int
    first_seen: str
    last_seen: str
    title: str


@dataclass
class TestOutcome:
    """The outcome of one test."""

    __test__: ClassVar[bool] = False  # not a pytest test class

    name: str
    status: Status
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None
    results: list[GotResult] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class RuleTestReport(Report):
    """The tests of one rule."""

    rule: str
    source: str | None
    tests_source: str | None
    outcomes: list[TestOutcome] = field(default_factory=list)
    error: str | None = None  # the rule or its tests could not be loaded

    @property
    def ok(self) -> bool:
        """No failure and no error."""
        return self.error is None and all(o.status == "passed" for o in self.outcomes)


@dataclass
class TestRunReport(Report):
    """The tests of every rule of a run (`hindsight test`)."""

    __test__: ClassVar[bool] = False  # not a pytest test class

    rules: list[RuleTestReport]
    seconds: float
    untested: list[str] = field(default_factory=list)  # rule files with no tests

    def count(self, status: Status) -> int:
        """How many tests ended with `status`."""
        return sum(o.status == status for r in self.rules for o in r.outcomes)

    @property
    def ok(self) -> bool:
        """Every test passed and every rule and tests file loaded."""
        return all(report.ok for report in self.rules)


def test_rule(
    rule: Rule | Mapping[str, Any] | str | Path,
    tests: Sequence[Mapping[str, Any] | RuleTest] | str | Path | None = None,
) -> RuleTestReport:
    """Run the unit tests of one rule.

    `rule` is a rule file (its tests are found beside it, in `<rule>.tests.yaml`, or inside it,
    when `tests` is None), a rule dict, or a `Rule`. `tests` is a list of test dicts, or the path
    of a YAML tests file (example event files are relative to it).
    """
    folder = Path(tests).parent if isinstance(tests, str | Path) else Path.cwd()
    name = Path(rule).stem if isinstance(rule, str | Path) else None
    try:
        given = None if tests is None else _given(tests)
    except TestDefinitionError as exc:
        source = str(rule) if isinstance(rule, str | Path) else None
        return RuleTestReport(name or "rule", source, _tests_source(tests), error=str(exc))
    if isinstance(rule, str | Path):
        path = Path(rule)
        return _file_report(path, given, folder if given is not None else path.parent)
    loaded = rule if isinstance(rule, Rule) else load_rule(rule)
    report = RuleTestReport(loaded.name, None, _tests_source(tests))
    report.outcomes = [run_test(loaded, test, folder) for test in given or []]
    return report


def _tests_source(tests: object) -> str | None:
    return str(tests) if isinstance(tests, str | Path) else None


def _given(tests: Sequence[Mapping[str, Any] | RuleTest] | str | Path) -> list[RuleTest]:
    if isinstance(tests, str | Path):
        return read_tests_file(Path(tests))
    items = [t.model_dump() if isinstance(t, RuleTest) else t for t in tests]
    return parse_tests(items, "tests")


def _file_report(
    path: Path, given: list[RuleTest] | None, folder: Path | None = None
) -> RuleTestReport:
    report = RuleTestReport(path.stem, str(path), None)
    try:
        rules = load_rules(path)
        tests, report.tests_source = (given, None) if given is not None else _tests_of(path)
    except (HindsightError, TestDefinitionError) as exc:
        report.error = str(exc)
        return report
    if len(rules) == 1:
        report.rule = rules[0].name
    by_name = {rule.name: rule for rule in rules}
    for test in tests:
        if test.rule is None and len(rules) == 1:
            chosen = rules[0]
        elif test.rule in by_name:
            chosen = by_name[test.rule]
        else:
            names = ", ".join(by_name)
            problem = f"test {test.name!r} must name its rule (`rule:`), one of: {names}"
            if test.rule is not None:
                problem = f"test {test.name!r}: no rule named {test.rule!r} in {path} ({names})"
            report.outcomes.append(TestOutcome(test.name, "error", error=problem))
            continue
        report.outcomes.append(run_test(chosen, test, folder or path.parent))
    return report


def _tests_of(path: Path) -> tuple[list[RuleTest], str | None]:
    tests: list[RuleTest] = []
    sources: list[str] = []
    inline = inline_tests(path)
    if inline is not None:
        tests += parse_tests(inline, f"{path}: tests")
        sources.append(str(path))
    beside = tests_file_for(path)
    if beside is not None:
        tests += read_tests_file(beside)
        sources.append(str(beside))
    return tests, ", ".join(sources) or None


def run_test(rule: Rule, test: RuleTest, folder: Path) -> TestOutcome:
    """Run one test of `rule` (event files are read relative to `folder`)."""
    began = time.perf_counter()
    try:
        events = test_events(test, folder)
        inputs = [load_rule(folder / name) for name in test.with_rules]
        outcome = run([rule, *inputs], events)
    except (HindsightError, TestDefinitionError) as exc:
        return TestOutcome(test.name, "error", error=str(exc))
    stat = outcome.stats[0]
    if stat.error is not None:
        return TestOutcome(test.name, "error", error=f"the rule cannot run: {stat.error}")
    mine = [result for result in outcome.results if result.rule_name == rule.name]
    results = sorted(mine, key=lambda r: (r.timestamp, list(r.group_by.values())))
    mismatches = compare(test.expect, results)
    return TestOutcome(
        test.name,
        "failed" if mismatches else "passed",
        mismatches,
        results=[_got(result) for result in results],
        seconds=time.perf_counter() - began,
    )


def _got(result: JobResult) -> GotResult:
    summary = result.to_dict()
    return GotResult(
        severity=result.severity,
        group_by=dict(result.group_by),
        events_matched=result.events_matched,
        first_seen=summary["first_seen"],
        last_seen=summary["last_seen"],
        title=result.title,
    )


def compare(expect: Expectation, results: list[JobResult]) -> list[Mismatch]:
    """Every way `results` differ from `expect` (empty when the test passes)."""
    found: list[Mismatch] = []
    if expect.fires is not None and expect.fires != bool(results):
        found.append(Mismatch("fires", expect.fires, bool(results)))
    count = expect.count if expect.results is None else len(expect.results)
    if count is not None and count != len(results):
        found.append(Mismatch("results", count, len(results)))
    if expect.checks_results():
        if not results and expect.fires is None and count is None:
            found.append(Mismatch("results", "at least 1", 0))
        for number, result in enumerate(results, start=1):
            found += _compare_result(expect, result, f"result {number}")
    pairs = zip(expect.results or [], results, strict=False)
    for number, (wanted, result) in enumerate(pairs, start=1):
        found += _compare_result(wanted, result, f"result {number}")
    return found


def _compare_result(expect: ResultExpectation, result: JobResult, where: str) -> list[Mismatch]:
    found: list[Mismatch] = []
    if expect.severity is not None and expect.severity != result.severity:
        found.append(Mismatch(f"{where} severity", expect.severity, result.severity))
    if expect.group_by is not None:
        wanted = {key: _text(value) for key, value in expect.group_by.items()}
        if wanted != result.group_by:
            found.append(Mismatch(f"{where} group_by", wanted, dict(result.group_by)))
    if expect.events_matched is not None and expect.events_matched != result.events_matched:
        got = result.events_matched
        found.append(Mismatch(f"{where} events_matched", expect.events_matched, got))
    if expect.message_contains is not None and expect.message_contains not in result.message:
        found.append(Mismatch(f"{where} message contains", expect.message_contains, result.message))
    return found


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


test_rule.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def run_tests(paths: Sequence[str | Path]) -> TestRunReport:
    """The tests of every rule under `paths` (rule files or folders; default `rules/`)."""
    began = time.perf_counter()
    files: list[Path] = []
    orphans: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.json") if p.is_file())
            orphans += [
                p
                for suffix in TEST_SUFFIXES
                for p in sorted(path.rglob("*" + suffix))
                if not rule_file_for(p).is_file()
            ]
        elif path.name.endswith(TEST_SUFFIXES):
            files.append(rule_file_for(path))
        else:
            files.append(path)
    reports: list[RuleTestReport] = []
    untested: list[str] = []
    for file in dict.fromkeys(files):
        report = _file_report(file, None)
        if report.error is None and not report.outcomes:
            untested.append(str(file))
            continue
        reports.append(report)
    for orphan in orphans:
        problem = f"no rule file {rule_file_for(orphan).name} beside it"
        reports.append(RuleTestReport(orphan.name, None, str(orphan), error=problem))
    return TestRunReport(reports, time.perf_counter() - began, untested)
