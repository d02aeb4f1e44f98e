"""End to end: all 101 Datadog rules of the corpus over the Stratus CloudTrail and OTRF AWS logs.

Every rule runs, whatever its detection method, and which rules fire on which Stratus technique
is pinned (docs/corpus-run.md says why each fires, and why the others stay quiet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import ingest
from engine.results.outcome import JobRun
from engine.run import run

RULES = "datadog-rules"
#: The one rule that cannot run: a Terraform acceptance-test correlation of two test rules
#: whose ids the corpus does not hold.
ABSENT_REFERENCES = "tf-TestAccDatadogSecurityMonitoringRule_SignalCorrelation-local-1778008987"
#: Rule -> the Stratus techniques whose logs its results hold.
FIRES_ON_STRATUS = {
    "AWS CloudTrail configuration modified": [
        "aws.defense-evasion.cloudtrail-delete",
        "aws.defense-evasion.cloudtrail-stop",
    ],
    "AWS Disable Cloudtrail with event selectors": [
        "aws.defense-evasion.cloudtrail-event-selectors"
    ],
    "AWS EBS Snapshot possible exfiltration": ["aws.exfiltration.ec2-share-ebs-snapshot"],
    "AWS IAM AdministratorAccess policy was applied to a role": [
        "aws.persistence.iam-create-backdoor-role"
    ],
    "AWS IAM AdministratorAccess policy was applied to a user": [
        "aws.persistence.iam-create-admin-user"
    ],
    "AWS IAM Roles Anywhere User Profile Creation": [
        "aws.persistence.rolesanywhere-create-trust-anchor"
    ],
    "AWS IAM Roles Anywhere trust anchor created": [
        "aws.persistence.rolesanywhere-create-trust-anchor"
    ],
    "AWS IAM User created with AdministratorAccess policy attached": [
        "aws.persistence.iam-create-admin-user"
    ],
    "AWS IAM policy modified": [
        "aws.persistence.iam-backdoor-role",
        "aws.persistence.iam-create-admin-user",
        "aws.persistence.iam-create-backdoor-role",
    ],
    "AWS Lambda function modified by IAM user": ["aws.persistence.lambda-overwrite-code"],
    "AWS Lambda function resource-based policy modified by IAM user": [
        "aws.persistence.lambda-backdoor-function"
    ],
    "AWS Route 53 DNS query logging disabled": ["aws.defense-evasion.dns-delete-logs"],
    "AWS VPC Flow Log deleted": ["aws.defense-evasion.vpc-remove-flow-logs"],
}


def corpus_rules(root: Path) -> list[dict[str, Any]]:
    """The 101 rules: 83 out-of-the-box, 11 partner, and the 7 API examples of the log types."""
    rules: list[dict[str, Any]] = json.loads(
        (root / "ootb-default-rules" / "default_log_detection_rules.json").read_text()
    )
    rules += [
        json.loads(path.read_text())
        for path in sorted((root / "partner-rules-integrations-extras").glob("*/*.json"))
    ]
    examples = json.loads(
        (root / "api-format-examples" / "terraform_provider_test_rules.json").read_text()
    )
    rules += [
        item["rule"]
        for item in examples
        if item["rule"]["type"] in ("log_detection", "signal_correlation")
    ]
    return rules


@pytest.fixture(scope="module")
def runs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, JobRun]:
    root = tmp_path_factory.mktemp("corpus-run")
    stratus = corpus / "stratus-red-team-detonation-logs" / "detonation-logs"
    ingest(stratus, root / "stratus")
    for capture in sorted((corpus / "otrf-security-datasets" / "atomic" / "aws").rglob("*.zip")):
        ingest(capture, root / "otrf")
    rules = corpus_rules(corpus / RULES)
    assert len(rules) == 101
    return {name: run(rules, str(root / name)) for name in ("stratus", "otrf")}


@pytest.mark.parametrize("capture", ["stratus", "otrf"])
def test_every_corpus_rule_runs(runs: dict[str, JobRun], capture: str) -> None:
    outcome = runs[capture]
    assert len(outcome.stats) == 101
    errors = {stat.rule: stat.error for stat in outcome.stats if stat.error is not None}
    assert list(errors) == [ABSENT_REFERENCES]
    assert (
        "correlates the results of rule '5iv-4j6-qp8', '8o9-lko-hs9'" in errors[ABSENT_REFERENCES]
    )
    methods = {stat.detection_method for stat in outcome.stats if stat.error is None}
    assert methods == {
        "threshold",
        "new_value",
        "anomaly_detection",
        "impossible_travel",
        "third_party",
        "sequence_detection",
    }


def test_which_rules_fire_on_which_stratus_technique(runs: dict[str, JobRun], corpus: Path) -> None:
    stratus = corpus / "stratus-red-team-detonation-logs" / "detonation-logs"
    technique = {
        record["eventID"]: path.stem
        for path in sorted(stratus.glob("*.json"))
        for record in json.loads(path.read_text())
    }
    fired: dict[str, set[str]] = {}
    for result in runs["stratus"].results:
        fired.setdefault(result.rule_name, set()).update(technique[i] for i in result.log_ids)
    assert {rule: sorted(found) for rule, found in fired.items()} == FIRES_ON_STRATUS


def test_nothing_fires_on_the_otrf_capture(runs: dict[str, JobRun]) -> None:
    assert runs["otrf"].results == []
    assert runs["otrf"].events_scanned == 103
