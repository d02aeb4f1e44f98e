"""The real public corpus read end to end: Stratus CloudTrail, OTRF captures, pipeline samples.

Each big input is read once per module (module-scoped fixtures); the 40 MB purplesharp capture is
only counted. The per-file Stratus checks also run on the files kept in `tests/fixtures/stratus`.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.archive.event import LogEvent
from engine.archive.formats import Rejected, detect_format, read_events
from engine.archive.sources import expand_sources
from engine.core.times import parse_timestamp
from tests.corpus import corpus_params

STRATUS = "stratus-red-team-detonation-logs/detonation-logs"
STRATUS_SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "stratus"
OTRF = "otrf-security-datasets"
PIPELINE_TESTS = "datadog-rules/partner-rules-integrations-extras"

#: Failed calls per technique, from the Stratus README table (every other technique: 0).
FAILED_CALLS = {
    "aws.credential-access.ec2-get-password-data": 32,
    "aws.defense-evasion.organizations-leave": 1,
    "aws.discovery.ec2-download-user-data": 17,
    "aws.execution.ec2-launch-unusual-instances": 1,
    "aws.persistence.iam-create-user-login-profile": 1,
}

Read = dict[str, tuple[list[LogEvent], list[Rejected]]]


def _read_all(path: Path, format: str = "auto") -> Read:
    out: Read = {}
    for item in expand_sources([path]):
        events: list[LogEvent] = []
        rejected: list[Rejected] = []
        for result in read_events(item, format=format):
            if isinstance(result, Rejected):
                rejected.append(result)
            else:
                events.append(result)
        out[item.path.stem if item.member is None else item.path.name] = (events, rejected)
    return out


@pytest.fixture(scope="module")
def stratus(corpus: Path) -> Read:
    """Every Stratus detonation file of the corpus read once with `auto`."""
    return _read_all(corpus / STRATUS)


def test_stratus_has_35_files_and_310_events(stratus: Read) -> None:
    assert len(stratus) == 35
    assert sum(len(events) for events, _ in stratus.values()) == 310
    assert all(rejected == [] for _, rejected in stratus.values())
    failed = sum(1 for events, _ in stratus.values() for e in events if "error" in e["attributes"])
    assert failed == sum(FAILED_CALLS.values()) == 52


def _stratus_files(folder: Path, prefix: str = "") -> list[Any]:
    return [pytest.param(path, id=prefix + path.stem) for path in sorted(folder.glob("*.json"))]


@pytest.mark.parametrize(
    "path",
    [
        *_stratus_files(STRATUS_SAMPLE, "sample-"),
        *corpus_params(lambda corpus: _stratus_files(corpus / STRATUS)),
    ],
)
def test_stratus_file_is_read_whole_with_the_remap(path: Path) -> None:
    raw = json.loads(path.read_text())
    technique = path.stem
    ((events, rejected),) = _read_all(path).values()
    assert rejected == []
    assert len(events) == len(raw)
    assert detect_format(expand_sources([path])[0]) == "cloudtrail"
    for event, record in zip(events, raw, strict=True):
        attributes = event["attributes"]
        assert event["id"] == record["eventID"]
        assert event["timestamp"] == parse_timestamp(record["eventTime"])
        assert (event["source"], event["service"]) == ("cloudtrail", "cloudtrail")
        assert attributes["evt"]["name"] == record["eventName"]
        assert attributes["http"]["useragent"] == record["userAgent"]
        assert attributes["network"]["client"]["ip"] == record["sourceIPAddress"]
        assert attributes["eventSource"] == record["eventSource"]
        assert ("error" in attributes) == ("errorCode" in record)
        assert attributes["level"] == ("Error" if "errorCode" in record else "Info")
        assert event["status"] == ("error" if "errorCode" in record else "info")
        if "errorCode" in record:
            assert attributes["error"]["kind"] == record["errorCode"]
        if record["userIdentity"].get("type") == "AssumedRole":
            assert (
                attributes["userIdentity"]["session_name"]
                == record["userIdentity"]["arn"].rsplit("/", 1)[-1]
            )
    failed = sum(1 for event in events if "error" in event["attributes"])
    assert failed == FAILED_CALLS.get(technique, 0)


@pytest.mark.parametrize(
    ("technique", "names"),
    [
        pytest.param(
            "aws.defense-evasion.cloudtrail-stop", {"StopLogging": 1}, id="cloudtrail-stop"
        ),
        pytest.param(
            "aws.credential-access.ec2-get-password-data",
            {"GetPasswordData": 30, "AssumeRole": 4},
            id="get-password-data",
        ),
        pytest.param(
            "aws.persistence.iam-create-admin-user",
            {"CreateUser": 1, "AttachUserPolicy": 1, "CreateAccessKey": 1},
            id="create-admin-user",
        ),
    ],
)
def test_stratus_event_names_match_the_readme(
    stratus: Read, technique: str, names: dict[str, int]
) -> None:
    events, _ = stratus[technique]
    assert Counter(e["attributes"]["evt"]["name"] for e in events) == names


OTRF_CAPTURES = {
    "ec2_proxy_s3_exfiltration.zip": ("atomic/aws/collection", 103, "cloudtrail"),
    "psh_lsass_memory_dump_comsvcs.zip": ("atomic/windows/credential_access/host", 184, "json"),
    "cmd_lsass_memory_dumpert_syscalls.zip": ("atomic/windows/credential_access/host", 118, "json"),
    "cmd_userinitmprlogonscript_batch.zip": ("atomic/windows/persistence/host", 122, "json"),
    "WindowsEvents.Zip": ("compound/GoldenSAMLADFSMailAccess", 38, "json"),
}


@pytest.fixture(scope="module")
def otrf(corpus: Path) -> Read:
    """The selected OTRF captures, each read once with `auto`."""
    out: Read = {}
    for name, (folder, _, _) in OTRF_CAPTURES.items():
        out.update(_read_all(corpus / OTRF / folder / name))
    return out


@pytest.mark.parametrize("capture", sorted(OTRF_CAPTURES))
def test_otrf_capture_counts_and_timestamps(otrf: Read, corpus: Path, capture: str) -> None:
    folder, count, format = OTRF_CAPTURES[capture]
    (item,) = expand_sources([corpus / OTRF / folder / capture])
    assert detect_format(item) == format
    events, rejected = otrf[capture]
    assert rejected == []
    assert len(events) == count
    assert all(isinstance(event["timestamp"], int) for event in events)


def _utc(text: str) -> int:
    return round(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("capture", "first", "last"),
    [
        pytest.param(
            "ec2_proxy_s3_exfiltration.zip", "2020-09-14 00:44", "2020-09-14 01:14", id="aws"
        ),
        pytest.param(
            "psh_lsass_memory_dump_comsvcs.zip", "2020-10-18 00:00", "2020-10-19 00:00", id="psh"
        ),
        pytest.param(
            "WindowsEvents.Zip", "2021-08-02 13:00", "2021-08-02 13:40", id="azure-windows"
        ),
    ],
)
def test_otrf_timestamps_fall_in_the_documented_span(
    otrf: Read, capture: str, first: str, last: str
) -> None:
    times = [event["timestamp"] for event in otrf[capture][0]]
    assert _utc(first) <= min(times) <= max(times) < _utc(last)


def test_otrf_windows_reserved_fields(otrf: Read) -> None:
    events, _ = otrf["psh_lsass_memory_dump_comsvcs.zip"]
    assert {event["host"] for event in events} == {"WORKSTATION5"}
    services = Counter(event["service"] for event in events)
    assert set(services) <= {
        "Security",
        "Microsoft-Windows-Sysmon/Operational",
        "System",
        "Windows PowerShell",
        "Microsoft-Windows-PowerShell/Operational",
    }
    first = events[0]
    assert first["timestamp"] == _utc(first["attributes"]["TimeCreated"])
    assert first["message"] == first["attributes"]["Message"]
    assert "EventID" in first["attributes"]


def test_otrf_cloudtrail_capture_is_remapped(otrf: Read) -> None:
    events, _ = otrf["ec2_proxy_s3_exfiltration.zip"]
    assert all(event["source"] == "cloudtrail" for event in events)
    names = Counter(event["attributes"]["evt"]["name"] for event in events)
    assert names["ListBuckets"] >= 1
    addresses = Counter(event["attributes"]["network"]["client"]["ip"] for event in events)
    assert set(addresses) == {"1.2.3.4", "ec2.amazonaws.com"}  # a service name is kept verbatim
    assert addresses["1.2.3.4"] > addresses["ec2.amazonaws.com"]


def test_otrf_purplesharp_is_read_once_and_counted(corpus: Path) -> None:
    path = corpus / OTRF / "atomic/windows/lateral_movement/host/purplesharp_ad_playbook_I.zip"
    (item,) = expand_sources([path])
    counts = Counter(isinstance(result, Rejected) for result in read_events(item))
    assert counts == {False: 25_993}


PipelineResults = list[tuple[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def pipeline_results(corpus: Path) -> PipelineResults:
    """(integration, processed sample) of every log-pipeline test of the partner rules."""
    results = []
    for path in sorted((corpus / PIPELINE_TESTS).glob("*/log-pipeline-tests/*_tests.yaml")):
        for test in yaml.safe_load(path.read_text())["tests"]:
            results.append((path.parent.parent.name, test["result"]))
    return results


@pytest.mark.parametrize("format", ["ndjson", "auto"])
def test_integrations_extras_pipeline_results(
    pipeline_results: PipelineResults, tmp_path: Path, format: str
) -> None:
    assert len(pipeline_results) == 3
    path = tmp_path / "results.ndjson"
    path.write_text("".join(json.dumps(result) + "\n" for _, result in pipeline_results))
    (item,) = expand_sources([path])
    results = list(read_events(item, format=format))
    assert all(not isinstance(result, Rejected) for result in results)
    assert len(results) == len(pipeline_results)
    for event, (integration, result) in zip(results, pipeline_results, strict=True):
        assert not isinstance(event, Rejected)
        assert event["attributes"] == result["custom"], integration
        assert event["message"] == result["message"]
        assert event["service"] == result.get("service")
        assert event["status"] == result.get("status")
        assert event["tags"] == [tag.lower() for tag in result["tags"]]
        assert event["timestamp"] == parse_timestamp(result["timestamp"])


def test_pipeline_result_timestamps_are_read_by_magnitude(
    pipeline_results: PipelineResults,
) -> None:
    stamps = {integration: result["timestamp"] for integration, result in pipeline_results}
    assert parse_timestamp(stamps["appomni"]) == 1_737_666_349_315  # epoch ms
    # contrast_security_adr's result carries epoch *seconds* (its detectedTime)
    assert parse_timestamp(stamps["contrast_security_adr"]) == 1_765_979_488_000
