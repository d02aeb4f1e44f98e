"""JUnit XML for `hindsight test --junit FILE`: one test suite per rule, one test case per test."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from engine.workflow.tests import TestRunReport


def junit_xml(report: TestRunReport) -> str:
    """The report as JUnit XML (`<testsuites>`), as CI systems read it."""
    root = ET.Element(
        "testsuites",
        name="hindsight test",
        tests=str(sum(len(r.outcomes) + (r.error is not None) for r in report.rules)),
        failures=str(report.count("failed")),
        errors=str(report.count("error") + sum(r.error is not None for r in report.rules)),
        time=f"{report.seconds:.3f}",
    )
    for rule in report.rules:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=rule.source or rule.tests_source or rule.rule,
            tests=str(len(rule.outcomes) + (rule.error is not None)),
            failures=str(sum(o.status == "failed" for o in rule.outcomes)),
            errors=str(sum(o.status == "error" for o in rule.outcomes) + (rule.error is not None)),
            time=f"{sum(o.seconds for o in rule.outcomes):.3f}",
        )
        if rule.error is not None:
            case = ET.SubElement(suite, "testcase", name="(loading the rule and its tests)")
            case.set("classname", rule.rule)
            ET.SubElement(case, "error", message=rule.error.splitlines()[0]).text = rule.error
        for outcome in rule.outcomes:
            case = ET.SubElement(
                suite,
                "testcase",
                name=outcome.name,
                classname=rule.rule,
                time=f"{outcome.seconds:.3f}",
            )
            if outcome.status == "failed":
                lines = [
                    f"{m.what}: expected {m.expected!r}, got {m.got!r}" for m in outcome.mismatches
                ]
                failure = ET.SubElement(case, "failure", message=lines[0])
                failure.text = "\n".join(lines)
            elif outcome.status == "error":
                error = outcome.error or "error"
                ET.SubElement(case, "error", message=error.splitlines()[0]).text = error
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: TestRunReport, path: Path) -> None:
    """Write the JUnit XML of `report` to `path`."""
    path.write_text(junit_xml(report), encoding="utf-8")
