"""`engine.ingest` end to end over the real corpus: counts preserved, re-ingest idempotent, and
Datadog's own CloudTrail rule queries find the attack they target once the logs are archived.

The Stratus tests run on the corpus's 35 files and on the 11 kept in `tests/fixtures/stratus`.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import ingest, run, search
from engine.archive.reader import open_archive
from engine.core.errors import IngestError
from engine.search import count

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module", params=["sample", "corpus"])
def stratus_dir(request: pytest.FixtureRequest) -> Path:
    if request.param == "sample":
        return FIXTURES / "stratus"
    corpus: Path = request.getfixturevalue("corpus")
    return corpus / "stratus-red-team-detonation-logs" / "detonation-logs"


@pytest.fixture(scope="module")
def stratus_events(stratus_dir: Path) -> int:
    """How many CloudTrail records the Stratus files hold (310 in the corpus)."""
    files = sorted(stratus_dir.glob("*.json"))
    return sum(len(json.loads(path.read_text())) for path in files)


@pytest.fixture(scope="module")
def stratus_archive(stratus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stratus")
    report = ingest(stratus_dir, root)
    assert report.rejected == 0
    return root


@pytest.fixture(scope="module")
def technique_of(stratus_dir: Path) -> dict[str, str]:
    """Event id -> the Stratus technique whose file holds it."""
    owners: dict[str, str] = {}
    for path in sorted(stratus_dir.glob("*.json")):
        for record in json.loads(path.read_text()):
            owners[record["eventID"]] = path.stem
    return owners


def test_stratus_cloudtrail_counts_are_preserved(
    stratus_archive: Path, stratus_events: int, stratus_dir: Path
) -> None:
    archive = open_archive(stratus_archive)
    assert archive.info().events == stratus_events
    frame = archive.scan().collect()
    assert frame["id"].n_unique() == stratus_events
    assert set(frame["source"].to_list()) == {"cloudtrail"}
    if stratus_dir.name == "detonation-logs":
        assert stratus_events == 310


def test_report_figures(stratus_dir: Path, stratus_events: int, tmp_path: Path) -> None:
    report = ingest(stratus_dir, tmp_path)
    files = len(list(stratus_dir.glob("*.json")))
    assert (report.files, report.events_read, report.events_written) == (
        files,
        stratus_events,
        stratus_events,
    )
    assert report.rejected == 0 and report.duplicates == 0
    assert report.partitions == len({p.parent for p in tmp_path.glob("index=main/dt=*/hour=*/*")})
    assert report.bytes_written == open_archive(tmp_path).info().bytes
    assert report.events_per_second > 0


def test_reingest_adds_no_duplicates(
    stratus_dir: Path, stratus_events: int, tmp_path: Path
) -> None:
    ingest(stratus_dir, tmp_path)
    again = ingest(stratus_dir, tmp_path)
    assert again.events_written == 0
    assert again.duplicates == stratus_events
    assert open_archive(tmp_path).info().events == stratus_events


@pytest.mark.parametrize(
    ("query", "technique"),
    [
        pytest.param(
            "source:cloudtrail @evt.name:ModifySnapshotAttribute "
            "@requestParameters.attributeType:CREATE_VOLUME_PERMISSION "
            "-@userIdentity.invokedBy:(dlm.amazonaws.com OR events.amazonaws.com) "
            "(@requestParameters.createVolumePermission.add.items.userId:* OR "
            "@requestParameters.createVolumePermission.add.items.group:*)",
            "aws.exfiltration.ec2-share-ebs-snapshot",
            id="AWS EBS Snapshot possible exfiltration (shared)",
        ),
        pytest.param(
            "source:cloudtrail @evt.name:StopLogging",
            "aws.defense-evasion.cloudtrail-stop",
            id="AWS CloudTrail configuration modified (stopped)",
        ),
        pytest.param(
            "source:cloudtrail @evt.name:DeleteTrail",
            "aws.defense-evasion.cloudtrail-delete",
            id="AWS CloudTrail configuration modified (deleted)",
        ),
        pytest.param(
            "source:cloudtrail @evt.name:DeleteFlowLogs @eventSource:ec2.amazonaws.com",
            "aws.defense-evasion.vpc-remove-flow-logs",
            id="AWS VPC Flow Log deleted",
        ),
        pytest.param(
            "source:cloudtrail @eventSource:iam.amazonaws.com @evt.name:AttachUserPolicy "
            '@requestParameters.policyArn:"arn:aws:iam::aws:policy/AdministratorAccess"',
            "aws.persistence.iam-create-admin-user",
            id="AWS IAM AdministratorAccess policy was applied to a user",
        ),
        pytest.param(
            "source:cloudtrail @evt.name:CreateTrustAnchor "
            "@eventSource:rolesanywhere.amazonaws.com",
            "aws.persistence.rolesanywhere-create-trust-anchor",
            id="AWS IAM Roles Anywhere trust anchor created",
        ),
        pytest.param(
            "source:cloudtrail @eventSource:cloudtrail.amazonaws.com @evt.name:PutEventSelectors "
            "@requestParameters.eventSelectors.includeManagementEvents:false",
            "aws.defense-evasion.cloudtrail-event-selectors",
            id="AWS Disable Cloudtrail with event selectors",
        ),
        pytest.param(
            "source:cloudtrail @evt.name:LeaveOrganization @level:Error",
            "aws.defense-evasion.organizations-leave",
            id="failed LeaveOrganization call (remapped @level)",
        ),
    ],
)
def test_ootb_rule_query_matches_only_its_technique(
    stratus_archive: Path, technique_of: dict[str, str], query: str, technique: str
) -> None:
    found = search(query, str(stratus_archive))
    assert found.height > 0
    assert {technique_of[event_id] for event_id in found["id"]} == {technique}


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(
            "source:cloudtrail @evt.name:ModifyImageAttribute "
            '@requestParameters.launchPermission.add.items.group:"all"',
            id="AWS AMI Made Public",
        ),
        pytest.param(
            "source:cloudtrail @evt.name:ModifySnapshotAttribute "
            '@requestParameters.createVolumePermission.add.items.group:"all"',
            id="AWS EBS Snapshot Made Public",
        ),
    ],
)
def test_made_public_rules_do_not_fire_on_sharing_with_one_account(
    stratus_archive: Path, query: str
) -> None:
    # the Stratus ec2-share-ami / ec2-share-ebs-snapshot techniques share with one account id
    # (`items[].userId`), not with everyone (`items[].group: all`)
    assert count(query, str(stratus_archive)) == 0


#: (OOTB rule, the Stratus technique its result's logs come from) of the sample's threshold rules
OOTB_RESULTS = [
    ("AWS CloudTrail configuration modified", "aws.defense-evasion.cloudtrail-delete"),
    ("AWS CloudTrail configuration modified", "aws.defense-evasion.cloudtrail-stop"),
    (
        "AWS Disable Cloudtrail with event selectors",
        "aws.defense-evasion.cloudtrail-event-selectors",
    ),
    (
        "AWS IAM User created with AdministratorAccess policy attached",
        "aws.persistence.iam-create-admin-user",
    ),
]


def test_ootb_rules_find_the_stratus_techniques(
    stratus_archive: Path, stratus_dir: Path, technique_of: dict[str, str]
) -> None:
    ootb = FIXTURES / "ootb-rules" / "default_log_detection_rules.json"
    outcome = run(ootb, str(stratus_archive))
    found = sorted(
        {
            (result.rule_name, technique_of[log_id])
            for result in outcome.results
            for log_id in result.log_ids
        }
    )
    if stratus_dir == FIXTURES / "stratus":
        assert found == OOTB_RESULTS
    else:
        assert set(OOTB_RESULTS) <= set(found)
    # every method runs; the correlation rule names the rules it reads, absent from this file
    errors = {stat.rule: stat.error for stat in outcome.stats if stat.error is not None}
    assert list(errors) == ["AWS CreateIndex followed by ListResources via long term access key"]
    assert "which is neither in this run nor among the earlier results" in next(
        iter(errors.values())
    )
    assert len(outcome.stats) == 11


def test_otrf_captures_ingest_with_counts_preserved(corpus: Path, tmp_path: Path) -> None:
    otrf = corpus / "otrf-security-datasets" / "atomic"
    captures = {
        otrf / "aws" / "collection" / "ec2_proxy_s3_exfiltration.zip": 103,
        otrf / "windows" / "credential_access" / "host" / "psh_lsass_memory_dump_comsvcs.zip": 184,
        otrf
        / "windows"
        / "credential_access"
        / "host"
        / "cmd_lsass_memory_dumpert_syscalls.zip": 118,
        otrf / "windows" / "persistence" / "host" / "cmd_userinitmprlogonscript_batch.zip": 122,
    }
    report = ingest(list(captures), tmp_path)
    assert report.rejected == 0
    assert report.duplicates == 0  # the captures hold byte-identical Sysmon lines: kept apart
    assert report.events_written == sum(captures.values())
    again = ingest(list(captures), tmp_path)
    assert (again.events_written, again.duplicates) == (0, sum(captures.values()))
    assert count("source:cloudtrail", str(tmp_path)) == 103
    assert count("@EventID:10", str(tmp_path)) > 0  # Sysmon process access, LSASS dumps


def test_integrations_extras_pipeline_samples(corpus: Path, tmp_path: Path) -> None:
    samples = sorted(
        (corpus / "datadog-rules" / "partner-rules-integrations-extras").glob(
            "*/log-pipeline-tests/*_tests.yaml"
        )
    )
    records: list[dict[str, Any]] = []
    for path in samples:
        for test in yaml.safe_load(path.read_text())["tests"]:
            records.append(test["result"])
    source = tmp_path / "pipeline.ndjson.gz"
    source.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in records).encode()))
    report = ingest(source, tmp_path / "archive")
    assert report.events_written == len(records) > 0
    logged = open_archive(tmp_path / "archive").scan().collect()
    assert Counter(logged["message"].is_not_null()) == Counter({True: len(records)})


def test_malformed_lines_are_reported_and_the_rest_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "logs.ndjson"
    good = '{"timestamp": "2024-03-04T10:00:00Z", "message": "ok %d"}'
    source.write_text("\n".join([good % 1, "{not json", good % 2, '{"message": "no time"}']))
    report = ingest(source, tmp_path / "archive")
    assert report.events_written == 2
    assert [(item.line, item.source.endswith("logs.ndjson")) for item in report.rejections] == [
        (2, True),
        (4, True),
    ]


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="unknown format 'xml'; choose one of: auto"):
        ingest(tmp_path, tmp_path / "archive", format="xml")


def test_jobs_below_one_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="jobs must be at least 1, not 0"):
        ingest(tmp_path, tmp_path / "archive", jobs=0)


def test_missing_source_is_named(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"nope\.json"):
        ingest(tmp_path / "nope.json", tmp_path / "archive")
