"""Sigma rules run with Sigma's case-insensitive string matching; Datadog rules stay
case-sensitive (docs/sigma.md, "Case sensitivity").

The table runs one query two ways: as a Datadog rule (loaded from JSON) and as the same rule
carrying Sigma's casing (what a rule loaded from Sigma carries). The rule-level tests load real
Sigma YAML, including a `|cased` value, and check that the Datadog JSON `sigma convert` writes
stays plain Datadog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.cli import main
from engine.query import compile_query
from engine.query.casing import DATADOG, SIGMA, Casing
from tests.sigma.helpers import SYSMON, rule_text, write

# (query, the event's attributes and reserved fields, Datadog rule matches, Sigma rule matches)
TABLE: list[tuple[str, dict[str, Any], bool, bool]] = [
    ("@Image:cmd.exe", {"Image": "CMD.EXE"}, False, True),
    ("@Image:cmd.exe", {"Image": "cmd.exe"}, True, True),
    ('@CommandLine:"REG ADD"', {"CommandLine": "reg add"}, False, True),
    ("@Image:*\\\\wmic.exe", {"Image": "C:\\Windows\\WMIC.exe"}, False, True),
    ("@Image:C\\:\\\\windows\\\\*", {"Image": "C:\\Windows\\x.exe"}, False, True),
    ("@CommandLine:*safeboot*", {"CommandLine": "bcdedit /set SAFEBOOT"}, False, True),
    ("@Image:cm?.exe", {"Image": "CMD.exe"}, False, True),
    ("@Image:cmd.exe", {"Image": "cmd.exe.bak"}, False, False),  # still whole-value equality
    ("@MFAUsed:NO", {"MFAUsed": "No"}, False, True),
    ("@list:abc", {"list": ["x", "ABC"]}, False, True),  # arrays: some element
    ("host:WEB-1", {"host": "web-1"}, False, True),  # reserved fields too
    ("service:Sysmon", {"service": "sysmon"}, False, True),
    ("@EventID:1", {"EventID": 1}, True, True),  # numbers have no case
    ("@Name:>=m", {"Name": "Zed"}, False, False),  # comparisons are not about case
    ("@Name:[a TO c]", {"Name": "B"}, False, False),
    ("CIDR(@ip, 10.0.0.0/8)", {"ip": "10.1.1.1"}, True, True),
    ("powershell", {"message": "PowerShell -enc"}, True, True),  # free text: either way
    ("env:PROD", {"tags": ["env:prod"]}, True, True),  # tags are stored lower-cased
    ("-@Image:cmd.exe", {"Image": "CMD.EXE"}, True, False),
]


def _event(fields: dict[str, Any]) -> dict[str, Any]:
    reserved = {key: value for key, value in fields.items() if key in ("host", "service")}
    message = fields.get("message", "")
    tags = fields.get("tags", [])
    attributes = {
        key: value
        for key, value in fields.items()
        if key not in ("host", "service", "message", "tags")
    }
    return {
        "timestamp": 1_700_000_000_000,
        **reserved,
        "message": message,
        "tags": tags,
        "attributes": attributes,
    }


def _rule(query: str) -> engine.Rule:
    return engine.load_rule(
        {
            "name": "casing",
            "queries": [{"query": query, "aggregation": "count"}],
            "cases": [{"status": "high", "condition": "a > 0"}],
            "options": {"evaluationWindow": 0, "keepAlive": 0, "maxSignalDuration": 0},
            "message": "m",
        }
    )


@pytest.mark.parametrize(
    ("query", "fields", "datadog", "sigma"), TABLE, ids=[row[0] for row in TABLE]
)
def test_one_query_as_a_datadog_rule_and_as_a_sigma_rule(
    query: str, fields: dict[str, Any], datadog: bool, sigma: bool
) -> None:
    rule = _rule(query)
    events = [_event(fields)]
    assert rule.casing == DATADOG
    assert bool(engine.run(rule, events).results) is datadog
    assert bool(engine.run(rule.with_casing(SIGMA), events).results) is sigma


@settings(max_examples=60, deadline=None)
@given(
    value=st.text(alphabet="aBcDé-İß ", min_size=1, max_size=6),
    flips=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_sigma_equality_is_lower_case_equality(value: str, flips: list[bool]) -> None:
    """Against a naive reference: a Sigma term matches exactly the values equal to it once both
    are lower-cased (polars' and Python's Unicode lower-casing agree on these letters)."""
    logged = "".join(
        char.swapcase() if flip else char for char, flip in zip(value, flips, strict=False)
    )
    query = '@f:"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    frame = pl.DataFrame({"@f": [logged]})
    sigma = frame.select(compile_query(query, dict(frame.schema), SIGMA)).item()
    datadog = frame.select(compile_query(query, dict(frame.schema))).item()
    assert sigma is (logged.lower() == value.lower())
    assert datadog is (logged == value)


def _process_events(*images: str) -> list[dict[str, Any]]:
    return [
        {
            "Event": {
                "System": {
                    "EventID": 1,
                    "Channel": SYSMON,
                    "Computer": "pc-1",
                    "TimeCreated": {
                        "#attributes": {"SystemTime": f"2024-03-04T10:00:0{n}.000000Z"}
                    },
                },
                "EventData": {"Image": image, "CommandLine": f"{image} /c"},
            }
        }
        for n, image in enumerate(images)
    ]


def _images(run: engine.JobRun, events: list[dict[str, Any]]) -> set[str]:
    matched = {log_id for result in run.results for log_id in result.log_ids}
    found = engine.run(
        engine.load_rule(
            {
                "name": "all",
                "queries": [{"query": "*", "aggregation": "count"}],
                "cases": [{"status": "info", "condition": "a > 0"}],
                "options": {"evaluationWindow": 0, "keepAlive": 0, "maxSignalDuration": 0},
                "message": "m",
            }
        ),
        events,
        format="evtx-json",
    )
    return {
        str(sample.log["attributes"]["Image"])
        for result in found.results
        for sample in result.samples
        if sample.id in matched
    }


def test_a_sigma_rule_matches_any_case_but_its_cased_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rule.yml",
        rule_text(
            """
            selection:
                Image|endswith: '\\whoami.exe'
            cased:
                CommandLine|cased|contains: '/c'
            condition: selection and cased
            """
        ),
    )
    (rule,) = engine.load_rules(path)
    assert rule.casing == Casing(ignore_case=True, cased=("@CommandLine:*/c*",))
    events = _process_events("C:\\Windows\\WHOAMI.EXE", "C:\\Windows\\whoami.exe")
    events[1]["Event"]["EventData"]["CommandLine"] = "whoami /C"  # `|cased`: no match
    assert _images(engine.run(rule, events, format="evtx-json"), events) == {
        "C:\\Windows\\WHOAMI.EXE"
    }


def test_the_converted_json_stays_plain_datadog(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rule.yml",
        rule_text("selection:\n    Image: 'C:\\x\\A.exe'\ncondition: selection\n"),
    )
    (sigma_rule,) = engine.load_rules(path)
    assert sigma_rule.casing.ignore_case
    assert "casing" not in json.dumps(sigma_rule.to_json()).lower()
    output = tmp_path / "out"
    assert main(["sigma", "convert", str(path), "--output", str(output)]) == 0
    (written,) = output.glob("*.json")
    datadog_rule = engine.load_rule(written)
    assert datadog_rule.casing == DATADOG
    events = _process_events("C:\\x\\a.exe")
    assert engine.run(sigma_rule, events, format="evtx-json").results
    assert not engine.run(datadog_rule, events, format="evtx-json").results
