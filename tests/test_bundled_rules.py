"""The bundled rules over the bundled sample archive: every planted attack is found, by
the right rule, for the right actor, inside the attack's time span; near misses and controls stay
quiet. This is the README quick start's result, checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import engine
from engine.results.result import JobResult
from sample_logs.generate import PLANTED
from tests.conftest import REPO

SPANS = {attack["name"]: (attack["start"], attack["end"]) for attack in PLANTED}
SVC_CI = "arn:aws:iam::491783625870:user/svc_ci"

# rule name -> (planted attack whose span holds a result, that result's group-by values), each
EXPECTED: dict[str, list[tuple[str, dict[str, str]]]] = {
    "Okta brute force on a user": [
        ("okta_brute_force_then_success", {"@usr.email": "emma.larsen@example.com"})
    ],
    "Okta brute force followed by a successful login": [
        ("okta_brute_force_then_success", {"@usr.email": "emma.larsen@example.com"})
    ],
    "Okta brute force then a successful login (sequence)": [
        ("okta_brute_force_then_success", {"@usr.email": "emma.larsen@example.com"})
    ],
    "Okta password spray from one IP": [
        ("okta_password_spray", {"@network.client.ip": "45.134.26.19"})
    ],
    "Okta login attempt flagged as a suspected threat": [
        ("okta_password_spray", {"@network.client.ip": "45.134.26.19"})
    ],
    "Okta ThreatInsight alert": [("okta_password_spray", {"@network.client.ip": "45.134.26.19"})],
    "Okta password spray confirmed by ThreatInsight": [
        ("okta_password_spray", {"@network.client.ip": "45.134.26.19"})
    ],
    "Okta impossible travel": [
        ("okta_impossible_travel", {"@usr.email": "camille.durand@example.com"})
    ],
    "Okta login from a new country": [
        ("okta_login_from_new_country", {"@usr.email": "sofia.keller@example.com"}),
        # Camille's Singapore login is a new country too
        ("okta_impossible_travel", {"@usr.email": "camille.durand@example.com"}),
    ],
    "AWS console login failures for one IAM user": [
        (
            "aws_console_login_failures",
            {"@userIdentity.arn": "arn:aws:iam::491783625870:user/d.kowalski"},
        )
    ],
    "AWS IAM AdministratorAccess policy was applied to a user": [
        ("aws_iam_admin_user_created", {"@userIdentity.arn": SVC_CI})
    ],
    "AWS IAM User created with AdministratorAccess policy attached": [
        ("aws_iam_admin_user_created", {"@requestParameters.userName": "support-sync"})
    ],
    "AWS CloudTrail configuration modified": [
        ("aws_cloudtrail_stop_logging", {"@userIdentity.arn": SVC_CI})
    ],
    "AWS EBS Snapshot Made Public": [
        (
            "aws_ebs_snapshot_made_public",
            {
                "@userIdentity.arn": "arn:aws:sts::491783625870:assumed-role/"
                "AWSReservedSSO_Engineering_5f1c2a7e3b9d4c10/marco.rossi@example.com"
            },
        )
    ],
    "Web scan: many distinct URLs not found from one IP": [
        ("web_404_scan", {"@network.client.ip": "193.142.146.35"})
    ],
    "Web requests from a security scanner": [
        ("web_404_scan", {"@network.client.ip": "193.142.146.35"})
    ],
    "Web service requesting far more distinct URLs than usual": [
        ("web_404_scan", {"service": "web-store"})
    ],
}

# results that are not a planted attack: rule -> (group, first seen, last seen), times UTC
BACKGROUND: dict[str, list[tuple[dict[str, str], datetime, datetime]]] = {
    # the leaked key's recon (03:58) through StopLogging (04:06) all come from Kali
    "AWS API call from a penetration-testing distribution": [
        (
            {"@userIdentity.arn": SVC_CI},
            datetime(2024, 3, 9, 3, 58, tzinfo=UTC),
            datetime(2024, 3, 9, 4, 7, tzinfo=UTC),
        )
    ],
    # the documented web-api-03 502 incident (sample_logs/README.md), not an attack: its
    # retries also reach far more distinct URLs than usual
    "Web host returning many server errors": [
        (
            {"host": "web-api-03"},
            datetime(2024, 3, 7, 14, 2, tzinfo=UTC),
            datetime(2024, 3, 7, 14, 9, tzinfo=UTC),
        )
    ],
    "Web service requesting far more distinct URLs than usual": [
        (
            {"service": "web-api"},
            datetime(2024, 3, 7, 14, 2, tzinfo=UTC),
            datetime(2024, 3, 7, 14, 9, tzinfo=UTC),
        )
    ],
}

QUIET = {
    "AWS AMI Made Public",
    "AWS Disable Cloudtrail with event selectors",
    "AWS GuardDuty detector deleted",
    "AWS KMS key deleted or scheduled for deletion",
    "AWS S3 Public Access Block removed",
    "AWS VPC Flow Log deleted",
    "AWS API calls denied for one identity",
    "Okta MFA push denied repeatedly (MFA fatigue)",
}


@pytest.fixture(scope="module")
def outcome() -> engine.JobRun:
    return engine.run(REPO / "rules", REPO / "sample_logs" / "archive")


def by_rule(outcome: engine.JobRun) -> dict[str, list[JobResult]]:
    found: dict[str, list[JobResult]] = {}
    for result in outcome.results:
        found.setdefault(result.rule_name, []).append(result)
    return found


def test_every_bundled_rule_runs(outcome: engine.JobRun) -> None:
    assert len(outcome.stats) >= 15
    assert [stat.rule for stat in outcome.stats if stat.error] == []
    assert {stat.events_scanned for stat in outcome.stats} == {27_900}


@pytest.mark.parametrize("rule_name", sorted(EXPECTED))
def test_planted_attack_found(outcome: engine.JobRun, rule_name: str) -> None:
    found = by_rule(outcome)[rule_name]
    for attack, group in EXPECTED[rule_name]:
        (result,) = [result for result in found if result.group_by == group]
        start, end = SPANS[attack]
        assert start <= result.first_seen.timestamp() * 1000
        assert result.first_seen <= result.last_seen
        assert result.last_seen.timestamp() * 1000 <= end


@pytest.mark.parametrize("rule_name", sorted(BACKGROUND))
def test_documented_background_finding(outcome: engine.JobRun, rule_name: str) -> None:
    found = by_rule(outcome)[rule_name]
    for group, start, end in BACKGROUND[rule_name]:
        (result,) = [result for result in found if result.group_by == group]
        assert start <= result.first_seen <= result.last_seen <= end


def test_controls_and_near_misses_stay_quiet(outcome: engine.JobRun) -> None:
    found = by_rule(outcome)
    assert QUIET.isdisjoint(found)
    assert set(found) == set(EXPECTED) | set(BACKGROUND)
    expected = sum(map(len, EXPECTED.values())) + sum(map(len, BACKGROUND.values()))
    assert len(outcome.results) == expected


def test_every_detection_method_fires(outcome: engine.JobRun) -> None:
    methods = {(result.rule_type, result.detection_method) for result in outcome.results}
    assert methods == {
        ("log_detection", "threshold"),
        ("log_detection", "new_value"),
        ("log_detection", "impossible_travel"),
        ("log_detection", "anomaly_detection"),
        ("log_detection", "third_party"),
        ("log_detection", "sequence_detection"),
        ("signal_correlation", "threshold"),
    }


def test_brute_force_result_details(outcome: engine.JobRun) -> None:
    (result,) = by_rule(outcome)["Okta brute force followed by a successful login"]
    assert result.severity == "high"
    assert result.events_per_query == {"failed_login": 12, "successful_login": 1}
    assert result.message.startswith("## Goal\nDetect a successful login right after many")
    assert "emma.larsen@example.com: 12 failures and 1 success(es)" in result.message
    assert result.samples[0].log["source"] == "okta"
