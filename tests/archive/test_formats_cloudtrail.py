"""CloudTrail layouts and the Datadog CloudTrail pipeline remap."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from engine.archive.event import LogEvent
from engine.archive.formats import Rejected, read_events
from engine.archive.formats.cloudtrail import remap
from engine.archive.sources import InputFile, expand_sources

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
STRATUS = Path(__file__).resolve().parent.parent / "fixtures" / "stratus"
ISO = "2024-08-02T08:30:00Z"
T = 1_722_587_400_000  # 2024-08-02T08:30:00Z


def _read(item: InputFile, **options: Any) -> tuple[list[LogEvent], list[Rejected]]:
    events: list[LogEvent] = []
    rejected: list[Rejected] = []
    for result in read_events(item, **options):
        if isinstance(result, Rejected):
            rejected.append(result)
        else:
            events.append(result)
    return events, rejected


def _fixture(name: str) -> InputFile:
    (item,) = expand_sources([FIXTURES / name])
    return item


def _stratus(technique: str) -> InputFile:
    (item,) = expand_sources([STRATUS / f"aws.{technique}.json"])
    return item


def _record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventTime": ISO,
        "eventID": "e-1",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.0",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"},
    }
    return base | fields


def test_reserved_fields_and_tags() -> None:
    events, rejected = _read(_stratus("defense-evasion.organizations-leave"), format="cloudtrail")
    assert rejected == []
    assert [(e["id"], e["status"]) for e in events] == [
        ("099bfd30-232c-4dff-9998-3821921063ca", "info"),
        ("16903cbd-fdff-4818-82f2-d66ad09aaf57", "error"),
        (events[2]["id"], "info"),
    ]
    for event in events:
        assert (event["source"], event["service"], event["host"]) == (
            "cloudtrail",
            "cloudtrail",
            None,
        )
        assert event["tags"] == ["account:307578594326", "region:euiso-south-3r"]
    assert [e["timestamp"] for e in events] == [T, T, T - 1000]  # eventTime of each record


def test_remap_of_a_failed_call_by_an_assumed_role() -> None:
    events, _ = _read(_stratus("defense-evasion.organizations-leave"), format="cloudtrail")
    failed = events[1]["attributes"]
    assert failed["evt"] == {"name": "LeaveOrganization", "outcome": "failure"}
    assert failed["error"]["kind"] == "AccessDenied"
    assert failed["error"]["message"].startswith("User: arn:aws:sts::307578594326:assumed-role/")
    assert failed["level"] == "Error"
    assert failed["http"] == {"useragent": "stratus-red-team_fd969928-3c0d-4feb-bd56-34f9aee3e6eb"}
    assert failed["network"]["client"]["ip"] == "252.5.222.230"
    assert failed["userIdentity"]["assumed_role"] == "stratus-red-team-leave-org-role"
    assert failed["userIdentity"]["session_name"] == "aws-go-sdk-1722587398902687000"
    # the raw record stays under its own names
    assert failed["eventName"] == "LeaveOrganization"
    assert failed["userIdentity"]["arn"].startswith("arn:aws:sts::307578594326:assumed-role/")
    assert failed["errorCode"] == "AccessDenied"
    succeeded = events[0]["attributes"]
    assert succeeded["evt"]["outcome"] == "success"
    assert succeeded["level"] == "Info"
    assert "error" not in succeeded
    assert succeeded["userIdentity"]["session_name"] == "christophe"
    assert "assumed_role" not in succeeded["userIdentity"]


def test_console_login_outcome_comes_from_the_response() -> None:
    events, _ = _read(_stratus("initial-access.console-login-without-mfa"), format="cloudtrail")
    (event,) = events
    assert event["attributes"]["evt"] == {"name": "ConsoleLogin", "outcome": "success"}
    assert event["attributes"]["additionalEventData"]["MFAUsed"] == "No"
    failed = remap(_record(eventName="ConsoleLogin", responseElements={"ConsoleLogin": "Failure"}))
    assert failed["evt"]["outcome"] == "failure"
    assert failed["level"] == "Info"  # no errorCode: Datadog's level follows errorCode only


def test_federated_user_session_name() -> None:
    events, _ = _read(_stratus("persistence.sts-federation-token"), format="auto")
    names = {e["attributes"]["evt"]["name"]: e["attributes"]["userIdentity"] for e in events}
    assert names["GetCallerIdentity"]["session_name"] == "stratus_red_team"


@pytest.mark.parametrize(
    ("arn", "role", "session"),
    [
        pytest.param(
            "arn:aws:sts::1:assumed-role/Admin/i-0abc", "Admin", "i-0abc", id="assumed-role"
        ),
        pytest.param("arn:aws:iam::1:user/path/to/bob", None, "bob", id="iam-user-with-path"),
        pytest.param("arn:aws:sts::1:federated-user/carol", None, "carol", id="federated-user"),
        pytest.param("arn:aws:iam::1:root", None, None, id="root"),
        pytest.param("not-an-arn", None, None, id="garbage"),
    ],
)
def test_identity_names_from_the_arn(arn: str, role: str | None, session: str | None) -> None:
    identity = remap(_record(userIdentity={"type": "X", "arn": arn}))["userIdentity"]
    assert identity.get("assumed_role") == role
    assert identity.get("session_name") == session


@pytest.mark.parametrize(
    ("address", "private"),
    [
        pytest.param("10.1.2.3", True, id="private-v4"),
        pytest.param("52.94.76.10", False, id="public-v4"),
        pytest.param("100.64.1.1", True, id="shared-cgnat"),
        pytest.param("fd00::1", True, id="private-v6"),
        pytest.param("cloudformation.amazonaws.com", None, id="service-name"),
        pytest.param("225.01.00.16", None, id="anonymised-not-an-ip"),
    ],
)
def test_client_ip_is_kept_verbatim_and_classified_when_an_ip(
    address: str, private: bool | None
) -> None:
    client = remap(_record(sourceIPAddress=address))["network"]["client"]
    assert client["ip"] == address
    assert client.get("is_private_network_ip") == private


def test_derived_attributes_never_overwrite_the_record() -> None:
    record = _record(evt={"name": "kept"}, level="custom", errorCode="Boom")
    attributes = remap(record)
    assert attributes["evt"] == {"name": "kept", "outcome": "failure"}
    assert attributes["level"] == "custom"
    assert record["evt"] == {"name": "kept"}  # the input is not mutated
    assert "http" not in record


@pytest.mark.parametrize("layout", ["records-gz", "array", "ndjson"])
def test_every_layout_reads_the_same_events(tmp_path: Path, layout: str) -> None:
    records = [_record(eventID=f"e-{n}") for n in range(3)]
    path = tmp_path / "trail.json"
    if layout == "records-gz":
        path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    elif layout == "array":
        path.write_text(json.dumps(records, indent=2))
    else:
        path.write_text("\n".join(json.dumps(r) for r in records))
    events, rejected = _read(expand_sources([path])[0], format="auto")
    assert rejected == []
    assert [e["id"] for e in events] == ["e-0", "e-1", "e-2"]


def test_records_of_a_records_file_are_numbered_by_index(tmp_path: Path) -> None:
    records = [_record(), _record(eventTime="not a time"), _record(eventID="e-3")]
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}, indent=2))
    events, rejected = _read(expand_sources([path])[0], format="cloudtrail")
    assert len(events) == 2
    assert [(r.line, r.reason.split(":")[0]) for r in rejected] == [
        (2, "timestamp 'not a time' is not a date")
    ]


def test_logstash_records_use_at_timestamp() -> None:
    events, rejected = _read(_fixture("otrf-ec2-proxy-s3-exfiltration-head3.ndjson"), format="auto")
    assert rejected == []
    assert [e["timestamp"] for e in events] == [
        1600044263000,
        1600044264000,
        events[2]["timestamp"],
    ]
    assert all(e["source"] == "cloudtrail" for e in events)
    assert events[0]["attributes"]["userIdentity"]["session_name"] == "pedro"
    assert events[0]["attributes"]["evt"]["name"] == "DescribeInstanceTypes"


def test_a_damaged_records_file_loses_only_the_damaged_record(tmp_path: Path) -> None:
    records = [_record(eventID=f"e-{n}") for n in range(4)]
    text = json.dumps({"Records": records}, indent=2).replace('"e-1",', '"e-1" !!', 1)
    path = tmp_path / "trail.json"
    path.write_text(text)
    results = list(read_events(expand_sources([path])[0], format="auto"))
    kinds = [r.line if isinstance(r, Rejected) else r["id"] for r in results]
    record_1_line = text[: text.index('"e-1"')].count("\n") - 1  # the line of its `{`
    assert kinds == ["e-0", record_1_line, "e-2", "e-3"]
    (rejected,) = [r for r in results if isinstance(r, Rejected)]
    assert rejected.reason.startswith("invalid JSON: Expecting ',' delimiter at line ")
