"""Logs given to `run` in memory are read exactly as `ingest` reads them (`format=`, SPEC §1.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import ArchiveError, IngestError, JobRun, ingest, run
from engine.core.errors import EventError
from tests.detect.builders import T, rule

STRATUS = Path(__file__).resolve().parent.parent / "fixtures" / "stratus"
TRAIL_RULE = Path(__file__).resolve().parents[2] / "rules" / "aws"
STOP_LOGGING = STRATUS / "aws.defense-evasion.cloudtrail-stop.json"
OOTB_TRAIL = TRAIL_RULE / "ootb-aws-cloudtrail-configuration-modified.json"


def _found(outcome: JobRun) -> list[tuple[str, dict[str, str], list[str]]]:
    return [(r.rule_name, r.group_by, r.log_ids) for r in outcome.results]


@pytest.mark.parametrize("format", ["auto", "cloudtrail"])
def test_raw_cloudtrail_records_get_the_remap(tmp_path: Path, format: str) -> None:
    records = json.loads(STOP_LOGGING.read_text())
    in_memory = run(OOTB_TRAIL, records, format=format)
    ingest(STOP_LOGGING, tmp_path)
    archived = run(OOTB_TRAIL, tmp_path)
    assert _found(in_memory) == _found(archived)
    assert [r.rule_name for r in in_memory.results] == ["AWS CloudTrail configuration modified"]


def test_a_records_file_in_memory_is_unwrapped() -> None:
    records = json.loads(STOP_LOGGING.read_text())
    assert _found(run(OOTB_TRAIL, [{"Records": records}])) == _found(run(OOTB_TRAIL, records))


def test_a_record_the_format_cannot_read_is_named() -> None:
    records = json.loads(STOP_LOGGING.read_text())
    with pytest.raises(EventError, match=r"log 1: no timestamp \(looked for timestamp, date\)"):
        run(OOTB_TRAIL, records, format="ndjson")


def test_timestamp_field_as_for_ingest() -> None:
    logs = [{"when": T, "source": "auth", "usr": {"id": "alice"}}]
    every = rule(cases=[{"status": "low", "condition": "a > 0"}])
    every["queries"][0]["query"] = "source:auth"
    outcome = run(every, logs, format="json", timestamp_field="when")
    assert [r.group_by for r in outcome.results] == [{"@usr.id": "alice"}]


def test_unknown_format_is_a_clear_error() -> None:
    with pytest.raises(IngestError, match="unknown format 'xml'; choose one of: auto"):
        run(OOTB_TRAIL, [], format="xml")


def test_format_applies_to_logs_in_memory_only(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="apply to log dicts given in memory"):
        run(OOTB_TRAIL, tmp_path, format="cloudtrail")


def test_canonical_looking_logs_are_normalised() -> None:
    keys = ("host", "service", "source", "message", "trace_id")
    log = {**dict.fromkeys(keys), "id": "e1", "timestamp": T, "tags": ["ENV:PROD"]}
    log |= {"status": "WARN", "attributes": {"usr": {"id": "alice"}}}
    warned = rule(cases=[{"status": "low", "condition": "a > 0"}])
    warned["queries"][0]["query"] = "status:warn env:prod"
    assert [r.group_by for r in run(warned, [log]).results] == [{"@usr.id": "alice"}]
