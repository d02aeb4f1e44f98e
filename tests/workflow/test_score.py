"""`hindsight score` / `engine.score`: recall, false positives and time to detect against labels;
the sample's labelled planted attacks; the Stratus corpus, one technique per file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.cli import main
from engine.core.errors import LabelError
from engine.core.times import parse_time
from engine.rules import load_rules
from engine.workflow.labels import Label, load_labels
from engine.workflow.score import score
from sample_logs.generate import PLANTED
from tests.conftest import REPO
from tests.detect.builders import T, at, event, query, rule

ARCHIVE = REPO / "sample_logs" / "archive"
LABELS = REPO / "sample_logs" / "labels.csv"

# alice: 4 failures at 0..90 s (a result); bob: 4 failures at 1000..1090 s (a result); carol, whose
# only event names her manager dave, 4 failures at 2000..2090 s
EVENTS = (
    [event(s) for s in (0, 30, 60, 90)]
    + [event(s, "bob") for s in (1000, 1030, 1060, 1090)]
    + [event(s, "carol", manager="dave") for s in (2000, 2030, 2060, 2090)]
)
BRUTE = rule(name="brute", tags=["technique:T1110.003-password-spraying"])


def window(name: str, first: float, last: float, **extra: Any) -> Label:
    return Label(name, at(first), at(last), **extra)


@pytest.mark.parametrize(
    ("labels", "caught", "false_positives", "ttd_ms"),
    [
        pytest.param([window("a", 0, 90)], ["a"], 2, [90_000], id="overlap"),
        pytest.param([window("a", 90, 95)], ["a"], 2, [0], id="touching-end"),
        pytest.param([window("a", 91, 500)], [], 3, [None], id="after"),
        pytest.param([window("a", 100, 5000)], ["a"], 1, [990_000], id="covers-two"),
        pytest.param(
            [window("a", 0, 5000, entity="bob")], ["a"], 2, [1_090_000], id="entity-group-by"
        ),
        pytest.param(
            [window("a", 0, 5000, entity="dave")], ["a"], 2, [2_090_000], id="entity-in-log"
        ),
        pytest.param([window("a", 0, 5000, entity="Bob")], [], 3, [None], id="entity-exact"),
        pytest.param([window("a", 50, 60)], ["a"], 2, [40_000], id="inside-span"),
        pytest.param([window("a", 120, 200)], [], 3, [None], id="gap"),
    ],
)
def test_matching_labels(
    labels: list[Label], caught: list[str], false_positives: int, ttd_ms: list[int | None]
) -> None:
    report = score(BRUTE, EVENTS, labels)
    assert [item.label for item in report.labels if item.caught_by] == caught
    assert report.overall.false_positives == false_positives
    assert [item.time_to_detect_ms for item in report.labels] == ttd_ms
    assert report.missed == [item.label for item in report.labels if not item.caught_by]


@pytest.mark.parametrize(
    ("extra", "in_scope"),
    [
        pytest.param({}, True, id="no-scope-means-every-rule"),
        pytest.param({"rules": ("brute",)}, True, id="rule-by-name"),
        pytest.param({"rules": ("rid-1",)}, True, id="rule-by-id"),
        pytest.param({"rules": ("other",)}, False, id="other-rule"),
        pytest.param({"techniques": ("T1110",)}, True, id="parent-technique"),
        pytest.param({"techniques": ("t1110.003",)}, True, id="same-technique"),
        pytest.param({"techniques": ("T1110.001",)}, False, id="sibling-technique"),
        pytest.param({"techniques": ("T111",)}, False, id="not-a-prefix-by-dot"),
        pytest.param({"rules": ("other",), "techniques": ("T1110",)}, False, id="rule-wins"),
    ],
)
def test_label_scope(extra: dict[str, Any], in_scope: bool) -> None:
    report = score({**BRUTE, "id": "rid-1"}, EVENTS, [window("a", 0, 90, **extra)])
    (rule_score,) = report.rules
    assert rule_score.labels_in_scope == int(in_scope)
    assert rule_score.recall == (1.0 if in_scope else None)
    assert report.labels[0].caught_by == (["brute"] if in_scope else [])
    assert rule_score.false_positives == 2  # bob and carol match no label, in scope or not


def test_per_rule_and_overall_figures() -> None:
    quiet = rule(query("source:nothing"), name="quiet")
    labels = [window("a", 0, 90), window("b", 1000, 1090), window("missed", 9000, 9100)]
    report = score([BRUTE, quiet], EVENTS, labels)
    brute, silent = report.rules
    assert (brute.results, brute.detected, brute.labels_in_scope) == (3, 2, 3)
    assert brute.recall == pytest.approx(2 / 3)
    assert brute.false_positives == 1
    days = (at(2090) - T) / 86_400_000
    assert report.days == pytest.approx(days)
    assert brute.false_positives_per_day == pytest.approx(1 / days)
    assert brute.mean_time_to_detect_ms == pytest.approx(90_000)
    assert (silent.results, silent.detected, silent.false_positives) == (0, 0, 0)
    assert report.overall.recall == pytest.approx(2 / 3)
    assert report.missed == ["missed"]
    assert json.loads(report.to_json())["overall"]["caught"] == 2


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("l.csv", "label,start\nx,2024-01-01\n", "missing column(s) end"),
        ("l.csv", "label,start,end,who\n", "unknown column(s) who"),
        ("l.csv", "label,start,end\nx,2024-01-02,2024-01-01\n", "line 2: end"),
        ("l.csv", "label,start,end\nx,soon,2024-01-01\n", "line 2: start: cannot read time"),
        ("l.csv", "label,start,end\nx,2024-01-01,2024-01-02\nx,2024-01-01,2024-01-02\n", "twice"),
        ("l.csv", "label,start,end\n,2024-01-01,2024-01-02\n", "label is required"),
        ("l.json", '[{"label": "x", "start": 1, "end": 2, "rules": "y"}]', "unknown field(s)"),
        ("l.json", '{"labels": [1]}', "must be an object"),
        ("l.json", "{", "not valid JSON"),
        ("l.txt", "", "give a .csv or .json file"),
    ],
)
def test_bad_labels_files(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(LabelError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_labels(path)


def test_labels_json_and_csv_read_the_same(tmp_path: Path) -> None:
    csv_labels = load_labels(
        write(tmp_path / "l.csv", "label,start,end,entity,rule,technique\nx,1000,2000,u,a|b,T1\n")
    )
    json_labels = load_labels(
        write(
            tmp_path / "l.json",
            '{"labels": [{"label": "x", "start": 1000, "end": "1970-01-01T00:00:02Z",'
            ' "entity": "u", "rule": ["a", "b"], "technique": "T1"}]}',
        )
    )
    assert csv_labels == json_labels == [Label("x", 1000, 2000, "u", ("a", "b"), ("T1",))]


# --- the sample archive's planted attacks ------------------------------------------------------


def test_sample_labels_are_the_planted_attacks() -> None:
    labels = {label.label: label for label in load_labels(LABELS)}
    assert set(labels) == {attack["name"] for attack in PLANTED}
    for attack in PLANTED:
        label = labels[attack["name"]]
        assert (label.start, label.end, label.entity) == (
            attack["start"],
            attack["end"],
            attack["actor"],
        )


def count(query_text: str, label: Label) -> int:
    return engine.count(query_text, ARCHIVE, start=label.start, end=label.end + 1)


def test_each_labelled_window_holds_its_planted_events() -> None:
    labels = {label.label: label for label in load_labels(LABELS)}
    failure = "source:okta @evt.name:user.session.start @evt.outcome:failure"
    svc_ci = '@userIdentity.arn:"arn:aws:iam::491783625870:user/svc_ci"'
    spray = labels["okta_password_spray"]
    assert count(f"{failure} @network.client.ip:45.134.26.19", spray) == 24
    frame = engine.search(
        f"{failure} @network.client.ip:45.134.26.19",
        ARCHIVE,
        start=spray.start,
        end=spray.end + 1,
        limit=None,
    )
    assert frame["@usr.email"].n_unique() == 24
    brute = labels["okta_brute_force_then_success"]
    assert count(f'{failure} @usr.email:"emma.larsen@example.com"', brute) == 12
    success = "source:okta @evt.name:user.session.start @evt.outcome:success"
    assert count(f'{success} @usr.email:"emma.larsen@example.com"', brute) == 1
    console = labels["aws_console_login_failures"]
    arn = '@userIdentity.arn:"arn:aws:iam::491783625870:user/d.kowalski"'
    assert count(f"@evt.name:ConsoleLogin @evt.outcome:failure {arn}", console) == 9
    admin = labels["aws_iam_admin_user_created"]
    for name in ("CreateUser", "AttachUserPolicy", "CreateAccessKey"):
        assert count(f"@evt.name:{name} {svc_ci}", admin) == 1, name
    assert count(f"@evt.name:StopLogging {svc_ci}", labels["aws_cloudtrail_stop_logging"]) == 1
    snapshot = labels["aws_ebs_snapshot_made_public"]
    public = '@requestParameters.createVolumePermission.add.items.group:"all"'
    assert count(f"@evt.name:ModifySnapshotAttribute {public}", snapshot) == 1
    scan = labels["web_404_scan"]
    assert count("source:nginx @network.client.ip:193.142.146.35", scan) == 134
    new_country = labels["okta_login_from_new_country"]
    sofia = '@usr.email:"sofia.keller@example.com"'
    romania = f"{success} {sofia} @network.client.geoip.country.name:Romania"
    assert count(romania, new_country) == 1
    travel = labels["okta_impossible_travel"]
    singapore = '@usr.email:"camille.durand@example.com" @network.client.ip:103.6.151.20'
    assert count(singapore, travel) >= 1


def test_bundled_rules_on_the_planted_attacks() -> None:
    report = score(REPO / "rules", ARCHIVE, LABELS)
    assert report.missed == []
    assert (report.overall.caught, report.overall.labels) == (9, 9)
    # every rule ran: the correlation rule reads the spray and ThreatInsight rules by their ids
    assert [r.rule for r in report.rules if r.error] == []
    correlated = next(r for r in report.rules if r.rule.endswith("confirmed by ThreatInsight"))
    assert correlated.detected_labels == ["okta_password_spray"]
    noisy = [r.rule for r in report.rules if r.false_positives]
    assert noisy == [  # the web-api-03 incident
        "Web host returning many server errors",
        "Web service requesting far more distinct URLs than usual",
    ]
    by_label = {item.label: item for item in report.labels}
    assert by_label["okta_brute_force_then_success"].time_to_detect_ms == 126_000
    assert by_label["aws_cloudtrail_stop_logging"].time_to_detect_ms == 0
    assert all(r.recall in (None, 1.0) for r in report.rules)


def test_cli_score(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["score", str(REPO / "rules" / "okta"), "--archive", str(ARCHIVE)]
    assert main([*args, "--labels", str(LABELS)]) == 0
    out = capsys.readouterr().out
    assert "4/9 labelled attacks caught" in out and "Okta password spray from one IP" in out
    assert main([*args, "--labels", str(LABELS), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["caught"] == 4
    assert main([*args, "--labels", str(REPO / "nope.csv")]) == 2
    assert "cannot read the file" in capsys.readouterr().err


# --- the Stratus corpus: one technique per file -------------------------------------------------


@pytest.fixture(scope="module")
def stratus(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Label]]:
    folder = corpus / "stratus-red-team-detonation-logs" / "detonation-logs"
    archive = tmp_path_factory.mktemp("stratus")
    assert engine.ingest(folder, archive).rejected == 0
    labels = []
    for path in sorted(folder.glob("*.json")):
        times = [parse_time(record["eventTime"]) for record in json.loads(path.read_text())]
        labels.append(Label(path.stem, min(times), max(times)))
    return archive, labels


def test_ootb_cloudtrail_rules_scored_on_stratus(
    corpus: Path, stratus: tuple[Path, list[Label]]
) -> None:
    archive, labels = stratus
    catalogue = corpus / "datadog-rules" / "ootb-default-rules" / "default_log_detection_rules.json"
    rules = [r for r in load_rules(catalogue) if "source:cloudtrail" in r.tags]
    report = score(rules, archive, labels)
    assert report.overall.labels == 35
    # every Stratus event belongs to an attack: no result can fall outside every window
    assert report.overall.false_positives == 0
    # independent reference: the windows the results of a plain run overlap
    outcome = engine.run(rules, archive)
    expected = {
        label.label
        for result in outcome.results
        for label in labels
        if result.first_seen.timestamp() * 1000 <= label.end
        and result.last_seen.timestamp() * 1000 >= label.start
    }
    caught = {item.label for item in report.labels if item.caught_by}
    assert caught == expected
    assert {
        "aws.defense-evasion.cloudtrail-stop",
        "aws.defense-evasion.cloudtrail-delete",
        "aws.defense-evasion.vpc-remove-flow-logs",
        "aws.exfiltration.ec2-share-ebs-snapshot",
        "aws.persistence.iam-create-admin-user",
    } <= caught
    by_label = {item.label: item for item in report.labels}
    assert by_label["aws.defense-evasion.cloudtrail-stop"].caught_by == [
        "AWS CloudTrail configuration modified"
    ]
    assert report.overall.recall == pytest.approx(len(caught) / 35)
