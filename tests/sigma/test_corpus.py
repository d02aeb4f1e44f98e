"""The SigmaHQ rules of the public corpus: how many convert, whether each regression event
matches its own rule, and what the CloudTrail rules catch in the Stratus capture.

The figures are those docs/sigma.md reports; a change that moves one must update both. The whole
corpus is converted once, in one test (xdist's `loadgroup` does not keep tests on one worker with
pytest 9, pytest-dev/pytest-xdist#1386), and the regression events run in one `engine.run`.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import engine
from engine.archive.event import distinguish_repeats
from engine.archive.formats import records_to_events
from engine.rules.loader import rule_entries
from engine.rules.sigma.convert import SigmaConversion, convert_sigma

RULE_FOLDERS = ("rules", "rules-emerging-threats", "rules-threat-hunting")
REGEX = "Regular expressions are not currently supported in Datadog's rule query format"
FIELDREF = (
    "field references (|fieldref) cannot be expressed in Datadog log search: it cannot compare "
    "two fields of one log"
)

#: Regression rules whose own events do not match, and why (docs/sigma.md lists them).
KNOWN_MISSES: dict[str, str] = {
    "rules-emerging-threats/2026/Exploits/RedSun/"
    "win_defender_exploit_redsun_tiering_engine_detected_as_eicar.yml": (
        "test data: the event is a Sysmon file event (11), the rule reads Defender event 1119"
    ),
    "rules/windows/builtin/security/win_security_explicit_credential_local_logon.yml": FIELDREF,
    "rules/windows/process_creation/proc_creation_win_susp_cross_user_process_spawn.yml": FIELDREF,
    "rules/windows/file/file_event/file_event_win_susp_registry_hive_file_creation.yml": REGEX,
    "rules/windows/process_creation/proc_creation_win_curl_cookie_hijacking.yml": REGEX,
    "rules/windows/process_creation/proc_creation_win_curl_custom_user_agent.yml": REGEX,
    "rules/windows/process_creation/proc_creation_win_curl_download_direct_ip_exec.yml": REGEX,
    "rules/windows/process_creation/"
    "proc_creation_win_curl_download_direct_ip_susp_extensions.yml": REGEX,
    "rules/windows/process_creation/proc_creation_win_curl_insecure_connection.yml": REGEX,
    "rules/windows/process_creation/proc_creation_win_curl_ntlm_hash_leak_attempt.yml": REGEX,
    "rules/windows/process_creation/proc_creation_win_hktl_wsass.yml": REGEX,
}


#: (product, category or service, rules, converted) for the largest log sources
BY_LOG_SOURCE: list[tuple[str, str, int, int]] = [
    ("windows", "process_creation", 1415, 1358),
    ("windows", "registry_set", 224, 223),
    ("windows", "file_event", 220, 212),
    ("windows", "ps_script", 178, 168),
    ("windows", "security", 167, 160),
    ("linux", "process_creation", 144, 136),
    ("aws", "cloudtrail", 57, 55),
    ("okta", "okta", 23, 22),
]


def test_the_corpus_rules_convert_but_for_regex_fieldref_and_placeholders(corpus: Path) -> None:
    conversions = convert_sigma([corpus / "sigma" / folder for folder in RULE_FOLDERS])
    refused = collections.Counter(item.error for item in conversions if item.rule is None)
    assert len(conversions) == 3754
    assert sum(1 for item in conversions if item.rule is not None) == 3627
    assert refused == {
        REGEX: 120,
        FIELDREF: 5,
        "Attempt to convert unhandled placeholder 'known_cdcs' into query.": 2,
    }
    assert all(item.loaded is not None for item in conversions if item.rule is not None)
    counted = [
        (product, key, *_counts(conversions, product, key)) for product, key, _, _ in BY_LOG_SOURCE
    ]
    assert counted == BY_LOG_SOURCE


def _counts(conversions: list[SigmaConversion], product: str, key: str) -> tuple[int, int]:
    chosen = [
        item
        for item in conversions
        if item.logsource.get("product") == product
        and key in (item.logsource.get("category"), item.logsource.get("service"))
    ]
    return len(chosen), sum(1 for item in chosen if item.rule is not None)


def _events(path: Path) -> list[dict[str, Any]]:
    """The events of a regression file: concatenated pretty-printed JSON objects."""
    text, decoder, position, found = path.read_text(), json.JSONDecoder(), 0, []
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return found
        value, position = decoder.raw_decode(text, position)
        found.append(value)


def test_each_regression_event_matches_its_own_rule(corpus: Path) -> None:
    root = corpus / "sigma"
    rows = [json.loads(line) for line in (root / "derived/regression_index.jsonl").open()]
    rules: list[engine.Rule] = []
    events: list[dict[str, Any]] = []
    owner: list[str] = []  # the rule id of each event
    refused: dict[str, str] = {}
    for row in rows:
        try:
            rules += engine.load_rules(root / row["rule_path"])
        except engine.RuleValidationError as exc:
            refused[row["rule_path"]] = exc.problems[0][1]
        found = _events(root / row["event_json"])
        events += found
        owner += [row["rule_id"]] * len(found)
    run = engine.run(rules, events, format="evtx-json")
    assert not [stat.error for stat in run.stats if stat.error]
    read = distinguish_repeats(records_to_events(events, format="evtx-json"))
    ids = [event["id"] for event in read]  # as the run names them
    matched: dict[str, set[str]] = collections.defaultdict(set)
    for result in run.results:
        matched[str(result.rule_id)].update(result.log_ids)
    hits = {row["rule_path"] for row in rows if matched[row["rule_id"]] & _own(ids, owner, row)}
    misses = {row["rule_path"] for row in rows} - hits
    assert len(rows) == 202
    assert len(hits) / len(rows) >= 0.90  # 191 of 202 (94.6%), docs/sigma.md
    assert len(hits) == 191
    assert misses == set(KNOWN_MISSES)
    for path, reason in refused.items():
        assert KNOWN_MISSES[path] in reason


def _own(ids: list[str], owner: list[str], row: dict[str, Any]) -> set[str]:
    return {log_id for log_id, rule_id in zip(ids, owner, strict=True) if rule_id == row["rule_id"]}


def test_cloudtrail_rules_over_the_stratus_capture(corpus: Path) -> None:
    entries = rule_entries(corpus / "sigma/rules/cloud/aws/cloudtrail")
    rules = [entry.rule for entry in entries if entry.rule is not None]
    assert (len(entries), len(rules)) == (57, 55)
    logs: list[dict[str, Any]] = []
    technique: dict[str, str] = {}
    for path in sorted((corpus / "stratus-red-team-detonation-logs/detonation-logs").iterdir()):
        for record in json.loads(path.read_text()):
            logs.append(record)
            technique[record["eventID"]] = path.stem.split(".", 1)[1]
    run = engine.run(rules, logs)
    caught: dict[str, set[str]] = collections.defaultdict(set)
    for result in run.results:
        caught[result.rule_name].update(technique[log_id] for log_id in result.log_ids)
    assert dict(caught) == {
        "AWS CloudTrail Important Change": {
            "defense-evasion.cloudtrail-delete",
            "defense-evasion.cloudtrail-stop",
        },
        "AWS IAM Backdoor Users Keys": {
            "persistence.iam-backdoor-user",
            "persistence.iam-create-admin-user",
        },
        "AWS New Lambda Layer Attached": {"persistence.lambda-layer-extension"},
        "AWS STS AssumeRole Misuse": {
            "credential-access.ec2-get-password-data",
            "credential-access.ec2-steal-instance-credentials",
            "defense-evasion.organizations-leave",
            "discovery.ec2-download-user-data",
            "execution.ec2-launch-unusual-instances",
            "impact.bedrock-invoke-model",
            "lateral-movement.ec2-serial-console-send-ssh-public-key",
        },
        "AWS Snapshot Backup Exfiltration": {"exfiltration.ec2-share-ebs-snapshot"},
        # `MFAUsed: NO` in the rule, `No` in CloudTrail: caught with Sigma's case-insensitivity
        "AWS Successful Console Login Without MFA": {"initial-access.console-login-without-mfa"},
        "AWS VPC Flow Logs Deleted": {"defense-evasion.vpc-remove-flow-logs"},
        "Ingress/Egress Security Group Modification": {
            "exfiltration.ec2-security-group-open-port-22-ingress"
        },
        "Potential Malicious Usage of CloudTrail System Manager": {
            "credential-access.ec2-steal-instance-credentials",
            "execution.ssm-send-command",
        },
    }
