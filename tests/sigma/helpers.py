"""Builders shared by the Sigma tests: rule files and EVTX JSON events."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from engine.rules.sigma.convert import SigmaConversion, convert_sigma
from engine.rules.sigma.pipeline import PipelineInput

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def rule_text(
    detection: str,
    *,
    logsource: str = "product: windows\ncategory: process_creation",
    extra: str = "",
) -> str:
    """A Sigma rule with the given `detection` body (and log source, and extra top-level keys)."""
    return (
        "title: Test rule\n"
        "id: 5b0e5c55-0000-4000-8000-000000000001\n"
        "status: test\n"
        f"logsource:\n{textwrap.indent(logsource.strip(), '    ')}\n"
        f"detection:\n{textwrap.indent(textwrap.dedent(detection).strip(), '    ')}\n"
        "level: high\n" + textwrap.dedent(extra)
    )


def write(folder: Path, name: str, text: str) -> Path:
    """`text` written to `folder/name`."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def convert_text(
    folder: Path, text: str, pipeline: PipelineInput = None, name: str = "rule.yml"
) -> list[SigmaConversion]:
    """Every conversion of a Sigma YAML text (written to `folder/name`)."""
    return convert_sigma(write(folder, name, text), pipeline)


def convert_one(folder: Path, text: str, pipeline: PipelineInput = None) -> SigmaConversion:
    """The one conversion of a single-rule Sigma YAML text."""
    (conversion,) = convert_text(folder, text, pipeline)
    return conversion


def query_of(conversion: SigmaConversion) -> str:
    """The Datadog search of a converted single-event rule."""
    assert conversion.rule is not None, conversion.error
    query = conversion.rule["queries"][0]["query"]
    assert isinstance(query, str)
    return query


def evtx_event(
    event_id: int,
    data: dict[str, Any],
    *,
    channel: str = SYSMON,
    time: str = "2025-12-25T14:30:27.369114Z",
    computer: str = "host-1",
    provider: str = "Microsoft-Windows-Sysmon",
    level: int = 4,
) -> dict[str, Any]:
    """One event as EVTX-to-JSON tools write it."""
    return {
        "Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": provider, "Guid": "5770385F"}},
                "EventID": event_id,
                "Level": level,
                "TimeCreated": {"#attributes": {"SystemTime": time}},
                "EventRecordID": 16094,
                "Execution": {"#attributes": {"ProcessID": 3208, "ThreadID": 1724}},
                "Channel": channel,
                "Computer": computer,
                "Security": {"#attributes": {"UserID": "S-1-5-18"}},
            },
            "EventData": data,
        }
    }


def process_creation(image: str, command_line: str, **more: Any) -> dict[str, Any]:
    """A Sysmon process creation (event 1)."""
    return evtx_event(1, {"Image": image, "CommandLine": command_line, **more})
