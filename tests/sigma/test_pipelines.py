"""The shipped field-mapping pipelines (CloudTrail, Windows, Okta) and the user's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.core.errors import SigmaPipelineError
from engine.rules.sigma.pipeline import SHIPPED, load_pipeline
from tests.conftest import REPO
from tests.sigma.helpers import (
    SYSMON,
    convert_one,
    evtx_event,
    process_creation,
    query_of,
    rule_text,
    write,
)

STRATUS = REPO / "tests" / "fixtures" / "stratus"

CLOUDTRAIL = "product: aws\nservice: cloudtrail"
STOP_LOGGING = """
selection:
    eventSource: cloudtrail.amazonaws.com
    eventName:
        - StopLogging
        - DeleteTrail
condition: selection
"""


def stratus(*techniques: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for technique in techniques:
        records += json.loads((STRATUS / f"{technique}.json").read_text())
    return records


def test_cloudtrail_fields_are_datadogs_remapped_attributes(tmp_path: Path) -> None:
    text = rule_text(
        """
        selection:
            eventName: ConsoleLogin
            userAgent|contains: curl
            sourceIPAddress: 1.2.3.4
            errorCode: AccessDenied
            userIdentity.type: Root
        condition: selection
        """,
        logsource=CLOUDTRAIL,
    )
    assert query_of(convert_one(tmp_path, text)) == (
        "source:cloudtrail @evt.name:ConsoleLogin AND @http.useragent:*curl* AND "
        "@network.client.ip:1.2.3.4 AND @error.kind:AccessDenied AND @userIdentity.type:Root"
    )


def test_a_cloudtrail_rule_catches_its_stratus_technique_only(tmp_path: Path) -> None:
    text = rule_text(STOP_LOGGING, logsource=CLOUDTRAIL)
    rules = engine.load_rules(write(tmp_path, "r.yml", text))
    logs = stratus(
        "aws.defense-evasion.cloudtrail-stop",
        "aws.defense-evasion.cloudtrail-delete",
        "aws.defense-evasion.cloudtrail-event-selectors",
        "aws.persistence.iam-create-admin-user",
    )
    run = engine.run(rules, logs)
    names = [sample.log["attributes"]["eventName"] for r in run.results for sample in r.samples]
    assert sorted(names) == ["DeleteTrail", "StopLogging"]


def test_cloudtrail_queries_are_limited_to_the_cloudtrail_source(tmp_path: Path) -> None:
    text = rule_text(STOP_LOGGING, logsource=CLOUDTRAIL)
    query = query_of(convert_one(tmp_path, text))
    assert query.startswith("source:cloudtrail (")
    same_fields_elsewhere = {
        "source": "other",
        "attributes": {"eventSource": "cloudtrail.amazonaws.com", "evt": {"name": "StopLogging"}},
    }
    assert engine.match(query, [same_fields_elsewhere]) == [False]


@pytest.mark.parametrize(
    ("logsource", "condition"),
    [
        (
            "category: process_creation",
            "(@EventID:1 AND @Channel:Microsoft\\-Windows\\-Sysmon/Operational)",
        ),
        (
            "category: registry_delete",
            "(@EventID:12 AND (@EventType:DeleteKey OR @EventType:DeleteValue) AND "
            "@Channel:Microsoft\\-Windows\\-Sysmon/Operational)",
        ),
        (
            "category: pipe_created",
            "((@EventID:17 OR @EventID:18) AND @Channel:Microsoft\\-Windows\\-Sysmon/Operational)",
        ),
        (
            "category: ps_script",
            "(@EventID:4104 AND (@Channel:Microsoft\\-Windows\\-PowerShell/Operational OR "
            "@Channel:PowerShellCore/Operational))",
        ),
        ("service: security", "(@Channel:Security OR @Channel:security)"),
        ("service: sysmon", "@Channel:Microsoft\\-Windows\\-Sysmon/Operational"),
        ("service: taskscheduler", "@Channel:Microsoft\\-Windows\\-TaskScheduler/Operational"),
    ],
)
def test_windows_log_sources_become_event_ids_and_channels(
    tmp_path: Path, logsource: str, condition: str
) -> None:
    detection = "sel:\n    Image: x\ncondition: sel"
    text = rule_text(detection, logsource=f"product: windows\n{logsource}")
    assert query_of(convert_one(tmp_path, text)) == f"{condition} AND @Image:x"


def test_a_windows_rule_matches_evtx_json_and_flat_exports_alike(tmp_path: Path) -> None:
    detection = "sel:\n    Image|endswith: '\\whoami.exe'\ncondition: sel"
    rules = engine.load_rules(write(tmp_path, "r.yml", rule_text(detection)))
    image = "C:\\Windows\\System32\\whoami.exe"
    evtx = [process_creation(image, "whoami")]
    otrf = [  # a flat NXLog export, as the OTRF captures hold them (`json` format)
        {
            "@timestamp": "2020-10-22T08:29:53.000Z",
            "Hostname": "WORKSTATION5",
            "Channel": SYSMON,
            "EventID": 1,
            "Image": image,
        },
        {
            "@timestamp": "2020-10-22T08:29:54.000Z",
            "Channel": "Security",
            "EventID": 4688,
            "Image": image,
        },
    ]
    assert len(engine.run(rules, evtx, format="evtx-json").results) == 1
    assert len(engine.run(rules, otrf, format="json").results) == 1


def test_security_rules_match_the_security_channel(tmp_path: Path) -> None:
    text = rule_text(
        "sel:\n    EventID: 4625\n    LogonType: 3\ncondition: sel",
        logsource="product: windows\nservice: security",
    )
    rules = engine.load_rules(write(tmp_path, "r.yml", text))
    logon = {"TargetUserName": "bob", "LogonType": 3}
    events = [
        evtx_event(4625, logon, channel="Security"),
        evtx_event(4625, logon, channel="System"),
        evtx_event(4624, logon, channel="Security"),
    ]
    (found,) = engine.run(rules, events, format="evtx-json").results
    assert found.samples[0].log["service"] == "Security"


def test_okta_event_type_is_evt_name_and_the_source_is_okta(tmp_path: Path) -> None:
    text = rule_text(
        "sel:\n    eventType: user.session.start\n    outcome.result: FAILURE\ncondition: sel",
        logsource="product: okta\nservice: okta",
    )
    query = query_of(convert_one(tmp_path, text))
    assert query == "source:okta @evt.name:user.session.start AND @outcome.result:FAILURE"
    processed = {  # an Okta System Log event after Datadog's Okta pipeline
        "source": "okta",
        "attributes": {
            "eventType": "user.session.start",
            "evt": {"name": "user.session.start", "outcome": "failure"},
            "outcome": {"result": "FAILURE"},
        },
    }
    assert engine.match(query, [processed]) == [True]


def test_pipelines_leave_other_log_sources_alone(tmp_path: Path) -> None:
    text = rule_text(
        "sel:\n    eventName: x\n    Image: y\n    eventType: z\ncondition: sel",
        logsource="product: linux\ncategory: process_creation",
    )
    assert query_of(convert_one(tmp_path, text)) == "@eventName:x AND @Image:y AND @eventType:z"


CUSTOM = """
name: ECS process fields
priority: 10
transformations:
  - id: ecs_process
    type: field_name_mapping
    mapping:
      Image: process.executable
      CommandLine: '@process.command_line'
    rule_conditions:
      - type: logsource
        category: process_creation
"""


def test_a_users_pipeline_replaces_the_shipped_ones(tmp_path: Path) -> None:
    pipeline = write(tmp_path, "ecs.yml", CUSTOM)
    text = rule_text("sel:\n    Image: a\n    CommandLine: b\ncondition: sel")
    assert query_of(convert_one(tmp_path, text, pipeline)) == (
        "@process.executable:a AND @process.command_line:b"
    )
    both = convert_one(tmp_path, text, ["windows", pipeline])
    assert query_of(both).endswith("AND (@process.executable:a AND @process.command_line:b)")
    rules = engine.load_rules(write(tmp_path, "r.yml", text), sigma_pipeline=pipeline)
    event = {"timestamp": 0, "attributes": {"process": {"executable": "a", "command_line": "b"}}}
    assert len(engine.run(rules, [event]).results) == 1


def test_no_pipeline_at_all_keeps_the_sigma_names(tmp_path: Path) -> None:
    text = rule_text("sel:\n    Image: a\ncondition: sel")
    assert query_of(convert_one(tmp_path, text, [])) == "@Image:a"


def test_every_shipped_pipeline_loads_and_none_means_all(tmp_path: Path) -> None:
    items = {name: len(load_pipeline(name).items) for name in SHIPPED}
    assert all(count > 0 for count in items.values())
    assert len(load_pipeline(None).items) == sum(items.values())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file (or a shipped pipeline: cloudtrail, windows, okta)"),
        ("name: [unclosed", "not valid YAML"),
        ("- a list", "not a processing pipeline (a YAML mapping with finalizers, postprocessing"),
        ("title: a Sigma rule\ndetection: {}\n", "not a processing pipeline"),
        (
            "name: x\ntransformations:\n  - type: no_such_transformation\n",
            "no_such_transformation",
        ),
    ],
    ids=["missing", "yaml", "not-a-mapping", "a-rule", "unknown-transformation"],
)
def test_a_bad_pipeline_is_a_clear_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "p.yml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SigmaPipelineError) as caught:
        load_pipeline(path)
    assert str(caught.value).startswith(f"Sigma pipeline {path}: ")
    assert message in str(caught.value)
