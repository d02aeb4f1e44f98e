"""The `evtx-json` ingest format: Windows events as EVTX-to-JSON tools write them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.archive.formats import detect_format, read_events, read_records, records_to_events
from engine.archive.formats.records import Rejected
from engine.archive.sources import InputFile
from tests.sigma.helpers import SYSMON, evtx_event, process_creation


def one(record: dict[str, Any]) -> dict[str, Any]:
    (event,) = records_to_events([record], format="evtx-json")
    return dict(event)


def test_system_fields_become_the_reserved_fields() -> None:
    event = one(process_creation("C:\\x\\reg.exe", "reg add"))
    assert event["timestamp"] == 1766673027369  # 2025-12-25T14:30:27.369114Z, in ms
    assert (event["host"], event["service"], event["status"]) == ("host-1", SYSMON, "info")
    assert event["source"] is None and event["message"] is None


def test_event_data_fields_are_top_level_attributes_with_the_system_ones() -> None:
    attributes = one(process_creation("C:\\x\\reg.exe", "reg add", ProcessId=14144))["attributes"]
    assert {key: attributes[key] for key in ("Image", "CommandLine", "ProcessId")} == {
        "Image": "C:\\x\\reg.exe",
        "CommandLine": "reg add",
        "ProcessId": 14144,
    }
    assert {
        key: attributes[key]
        for key in (
            "EventID",
            "Channel",
            "Computer",
            "Provider_Name",
            "Security_UserID",
            "EventRecordID",
        )
    } == {
        "EventID": 1,
        "Channel": SYSMON,
        "Computer": "host-1",
        "Provider_Name": "Microsoft-Windows-Sysmon",
        "Security_UserID": "S-1-5-18",
        "EventRecordID": 16094,
    }
    # the whole System object is kept, so nothing is lost
    assert attributes["System"]["Execution"]["#attributes"]["ProcessID"] == 3208


def test_queries_read_the_flattened_fields() -> None:
    event = process_creation("C:\\x\\reg.exe", "reg add")
    queries = [
        "@EventID:1 @Image:*\\\\reg.exe",
        "@System.Execution.#attributes.ProcessID:3208",
        "service:Microsoft\\-Windows\\-Sysmon/Operational host:host-1",
        "@Image:*\\\\cmd.exe",
    ]
    logs = records_to_events([event], format="evtx-json")
    assert [engine.match(query, logs)[0] for query in queries] == [True, True, True, False]


@pytest.mark.parametrize(
    ("level", "status"), [(0, "info"), (1, "critical"), (2, "error"), (3, "warning"), (5, "debug")]
)
def test_the_windows_level_is_the_status(level: int, status: str) -> None:
    assert one(evtx_event(4, {}, level=level))["status"] == status


def test_an_event_data_field_named_like_a_system_one_is_kept_under_event_data() -> None:
    attributes = one(evtx_event(7, {"EventID": "inner", "Image": "x"}))["attributes"]
    assert attributes["EventID"] == 7
    assert attributes["EventData"] == {"EventID": "inner"}


def test_named_data_items_and_element_text_are_read() -> None:
    record = evtx_event(4624, {})
    record["Event"]["System"]["EventID"] = {"#attributes": {"Qualifiers": 0}, "#text": 4624}
    record["Event"]["EventData"] = {
        "Data": [
            {"#attributes": {"Name": "TargetUserName"}, "#text": "bob"},
            {"#attributes": {"Name": "LogonType"}, "#text": "3"},
        ]
    }
    attributes = one(record)["attributes"]
    assert (attributes["EventID"], attributes["TargetUserName"], attributes["LogonType"]) == (
        4624,
        "bob",
        "3",
    )


def test_user_data_fields_are_read_when_there_is_no_event_data() -> None:
    record = evtx_event(5858, {}, channel="Microsoft-Windows-WMI-Activity/Operational")
    del record["Event"]["EventData"]
    record["Event"]["UserData"] = {
        "Operation_ClientFailure": {
            "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2006/windows/WMI"},
            "Operation": "ExecMethod cleareventlog",
            "ClientProcessId": 25920,
        }
    }
    attributes = one(record)["attributes"]
    assert (attributes["Operation"], attributes["ClientProcessId"]) == (
        "ExecMethod cleareventlog",
        25920,
    )


def test_event_data_attributes_of_the_element_itself_are_dropped() -> None:
    attributes = one(evtx_event(142, {"#attributes": {"Name": "TaskDisabled"}, "TaskName": "x"}))[
        "attributes"
    ]
    assert "#attributes" not in attributes and attributes["TaskName"] == "x"


def write_events(path: Path, records: list[dict[str, Any]], *, layout: str) -> Path:
    match layout:
        case "concatenated":  # several pretty-printed objects, one after the other
            path.write_text("\n".join(json.dumps(record, indent=2) for record in records))
        case "lines":
            path.write_text("".join(json.dumps(record) + "\n" for record in records))
        case "array":
            path.write_text(json.dumps(records, indent=2))
        case "single":
            path.write_text(json.dumps(records[0], indent=2))
    return path


def file_of(path: Path) -> InputFile:
    return InputFile(path, None, path.stat().st_size)


@pytest.mark.parametrize("layout", ["concatenated", "lines", "array"])
def test_a_file_of_several_events_is_read_whole_and_detected(tmp_path: Path, layout: str) -> None:
    records = [process_creation(f"C:\\x\\{n}.exe", str(n)) for n in range(3)]
    path = write_events(tmp_path / "events.json", records, layout=layout)
    assert detect_format(file_of(path)) == "evtx-json"
    read = list(read_events(file_of(path)))
    assert [event["attributes"]["Image"] for event in read if not isinstance(event, Rejected)] == [
        "C:\\x\\0.exe",
        "C:\\x\\1.exe",
        "C:\\x\\2.exe",
    ]
    assert not [item for item in read if isinstance(item, Rejected)]


def test_a_single_pretty_printed_event_is_read(tmp_path: Path) -> None:
    path = write_events(tmp_path / "e.json", [process_creation("a", "b")], layout="single")
    (event,) = read_events(file_of(path), format="evtx-json")
    assert not isinstance(event, Rejected) and event["attributes"]["Image"] == "a"


def test_ingest_writes_evtx_json_events_to_the_archive(tmp_path: Path) -> None:
    records = [process_creation("C:\\x\\reg.exe", "reg add"), evtx_event(3, {"DestinationIp": "1"})]
    path = write_events(tmp_path / "events.json", records, layout="concatenated")
    report = engine.ingest(path, tmp_path / "archive")
    assert (report.events_written, report.rejected) == (2, 0)
    archive = engine.open_archive(tmp_path / "archive")
    assert engine.count("@EventID:1 @Image:*reg.exe", archive) == 1


def test_an_event_without_its_time_is_rejected_with_the_reason(tmp_path: Path) -> None:
    broken = process_creation("a", "b")
    del broken["Event"]["System"]["TimeCreated"]
    path = write_events(tmp_path / "e.json", [process_creation("a", "b"), broken], layout="lines")
    read = list(read_events(file_of(path), format="evtx-json"))
    assert isinstance(read[1], Rejected)
    assert read[1].reason == (
        "no timestamp (looked for Event.System.TimeCreated.#attributes.SystemTime)"
    )


def test_a_record_without_system_is_rejected() -> None:
    (item,) = read_records([{"Event": {"EventData": {}}}], format="evtx-json")
    assert isinstance(item, Rejected)
    assert item.reason == "Event.System must be an object, not null"


def test_run_reads_in_memory_events_as_evtx_json(tmp_path: Path) -> None:
    rule = {
        "name": "reg",
        "queries": [{"query": "@EventID:1 @Image:*\\\\reg.exe"}],
        "cases": [{"status": "high", "condition": "a > 0"}],
    }
    events = [process_creation("C:\\x\\reg.exe", "reg"), process_creation("C:\\x\\cmd.exe", "c")]
    for form in ("evtx-json", "auto"):
        (result,) = engine.run([rule], events, format=form).results
        assert result.samples[0].log["host"] == "host-1"
