"""Real partner rules (integrations-extras, bottomline_recordandreplay) on their own log sample.

The event is the processed result of the integration's log-pipeline test
(`log-pipeline-tests/bottomline_tests.yaml`, trimmed), with `source:bottomline` as the integration
sets it in production (the fixture itself carries a placeholder source tag).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from engine.match import match

PARTNER = "datadog-rules/partner-rules-integrations-extras/bottomline_recordandreplay"

SAMPLE: dict[str, Any] = {
    "timestamp": 1673975069199,
    "source": "bottomline",
    "message": "dalek accessed the following resource: BNKLSTM",
    "tags": ["source:LOGS_SOURCE"],
    "attributes": {
        "bottomline": {
            "mainframe": {
                "activity": {
                    "account": {"id": ""},
                    "customer": {"id": ""},
                    "money": {"amount": 0, "reference": "", "transaction_type": ""},
                    "resource": {
                        "code": "BNKLSTM",
                        "duration": 222000000,
                        "name": "Current Account Subsystem - List  Menu",
                    },
                    "session": {"id": "08FD09FE-50ED-4F55-9080-F0D4ECF85C24", "type": "3270"},
                    "type": "Access",
                    "usr": {"action": "[enter]", "duration": 1602000000, "id": "dalek"},
                }
            }
        },
        "network": {
            "client": {"geoip": {}, "ip": "192.168.1.178"},
            "destination": {"ip": "192.168.1.37"},
        },
    },
}


def _maintenance_on_vip() -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE)
    activity = event["attributes"]["bottomline"]["mainframe"]["activity"]
    activity["resource"]["code"] = "BNKCSTF"
    activity["customer"]["id"] = "300842"
    return event


def _rule_query(corpus: Path, stem: str) -> str:
    rule = json.loads((corpus / PARTNER / f"{stem}.json").read_text())
    query: str = rule["queries"][0]["query"]
    return query


RULES = [
    ("rule-Bottomline__Customer_Maintenance_on_VIP", [False, True]),
    ("rule-Bottomline__Login_from_two_IPs_with_impossible_travel_time", [False, False]),
    ("rule-Bottomline__Unusual_login_from_different_IPs", [False, False]),
    ("rule-Bottomline__Unusually_high_volume_of_customer_maintenance_", [False, True]),
    ("rule-Bottomline__User_behavior_anomaly_detected", [True, True]),
]


@pytest.mark.parametrize(("stem", "expected"), RULES, ids=[stem for stem, _ in RULES])
def test_partner_rule_on_its_pipeline_sample(corpus: Path, stem: str, expected: list[bool]) -> None:
    assert match(_rule_query(corpus, stem), [SAMPLE, _maintenance_on_vip()]) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dalek BNKLSTM", True),
        ('"following resource"', True),
        ("CIDR(@network.client.ip, 192.168.0.0/16)", True),
        ("CIDR(@network.client.ip, 10.0.0.0/8)", False),
        ("@network.client.geoip:*", True),
        ("@bottomline.mainframe.activity.usr.duration:>1e9", True),
        ("@bottomline.mainframe.activity.money.amount:0", True),
        ('@bottomline.mainframe.activity.customer.id:""', True),
        ("*:Current*", True),
        ("source:bottomline -@bottomline.mainframe.activity.type:Access", False),
        ("tags:source\\:logs_source", True),
    ],
)
def test_search_on_the_sample(query: str, expected: bool) -> None:
    assert match(query, [SAMPLE]) == [expected]
