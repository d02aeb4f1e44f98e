"""Sigma correlation rules -> threshold (count, cardinality, && of queries) or sequence rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import engine
from engine.rules.sigma.convert import SigmaConversion
from tests.sigma.helpers import convert_text, write


def login_rule(title: str, number: int, name: str, field: str) -> str:
    """A CloudTrail ConsoleLogin rule, also matching `field` (`key: value`)."""
    return f"""
title: {title}
id: 0e6e0e4e-1111-4c1a-9a1a-00000000000{number}
name: {name}
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        {field}
    condition: selection
level: low
"""


SUCCESS_FIELD = "responseElements.ConsoleLogin: Success"
BASE_RULES = (
    login_rule("Failed console login", 1, "failed_login", "errorMessage: Failed authentication")
    + "---"
    + login_rule("Successful console login", 2, "ok_login", SUCCESS_FIELD)
)

FAILED = "source:cloudtrail @evt.name:ConsoleLogin AND @errorMessage:Failed\\ authentication"
SUCCEEDED = "source:cloudtrail @evt.name:ConsoleLogin AND @responseElements.ConsoleLogin:Success"


def correlation(body: str, *, level: str = "high", extra: str = "") -> str:
    return (
        BASE_RULES
        + "---\ntitle: The correlation\nid: 0e6e0e4e-1111-4c1a-9a1a-0000000000aa\n"
        + f"correlation:\n{body}level: {level}\n{extra}"
    )


def converted(tmp_path: Path, text: str) -> SigmaConversion:
    """The conversion of the correlation (the last rule of the file)."""
    conversions = convert_text(tmp_path, text)
    return conversions[-1]


def login(at: str, ip: str, *, ok: bool, user: str = "alice") -> dict[str, Any]:
    """A raw CloudTrail ConsoleLogin record (the cloudtrail format applies Datadog's remap)."""
    record: dict[str, Any] = {
        "eventTime": at,
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "eventID": f"{at}-{ip}-{user}-{ok}",
        "sourceIPAddress": ip,
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::1:user/{user}"},
        "responseElements": {"ConsoleLogin": "Success" if ok else "Failure"},
    }
    if not ok:
        record["errorMessage"] = "Failed authentication"
    return record


def results(tmp_path: Path, text: str, logs: list[dict[str, Any]]) -> list[engine.JobResult]:
    rules = engine.load_rules(write(tmp_path, "rules.yml", text))
    chosen = [rule for rule in rules if rule.name == "The correlation"]
    return engine.run(chosen, logs).results


EVENT_COUNT = """\
    type: event_count
    rules:
        - failed_login
    group-by:
        - sourceIPAddress
    timespan: 5m
    condition:
        gte: 3
"""


def test_event_count_is_a_count_threshold_per_group(tmp_path: Path) -> None:
    rule = converted(tmp_path, correlation(EVENT_COUNT)).rule
    assert rule is not None
    assert rule["queries"] == [
        {
            "query": FAILED,
            "aggregation": "count",
            "groupByFields": ["@network.client.ip"],
            "distinctFields": [],
            "name": "",
        }
    ]
    assert [(case["condition"], case["status"]) for case in rule["cases"]] == [("a >= 3", "high")]
    assert rule["options"] == {
        "detectionMethod": "threshold",
        "evaluationWindow": 300,
        "keepAlive": 300,
        "maxSignalDuration": 86400,
    }


def test_event_count_fires_at_the_count_within_the_timespan(tmp_path: Path) -> None:
    burst = [login(f"2024-01-01T00:0{m}:00Z", "1.1.1.1", ok=False) for m in (0, 2, 4)]
    spread = [login(f"2024-01-01T01:{m:02d}:00Z", "1.1.1.1", ok=False) for m in (0, 3, 6)]
    other_ips = [login(f"2024-01-01T02:00:0{n}Z", f"2.2.2.{n}", ok=False) for n in range(3)]
    (found,) = results(tmp_path, correlation(EVENT_COUNT), burst + spread + other_ips)
    assert found.group_by == {"@network.client.ip": "1.1.1.1"}
    assert found.events_matched == 3
    assert found.first_seen.isoformat() == "2024-01-01T00:00:00+00:00"


VALUE_COUNT = """\
    type: value_count
    rules:
        - failed_login
    group-by:
        - sourceIPAddress
    timespan: 10m
    condition:
        gt: 2
        field: userIdentity.arn
"""


def test_value_count_is_a_cardinality_threshold(tmp_path: Path) -> None:
    rule = converted(tmp_path, correlation(VALUE_COUNT)).rule
    assert rule is not None
    (query,) = rule["queries"]
    assert (query["aggregation"], query["distinctFields"]) == ("cardinality", ["@userIdentity.arn"])
    assert rule["cases"][0]["condition"] == "a > 2"
    assert rule["options"]["evaluationWindow"] == 600
    spray = [login(f"2024-01-01T00:0{n}:00Z", "1.1.1.1", ok=False, user=f"u{n}") for n in range(3)]
    one_user = [login(f"2024-01-01T01:0{n}:00Z", "2.2.2.2", ok=False) for n in range(5)]
    (found,) = results(tmp_path, correlation(VALUE_COUNT), spray + one_user)
    assert found.group_by == {"@network.client.ip": "1.1.1.1"}


TEMPORAL = """\
    type: temporal
    rules:
        - failed_login
        - ok_login
    group-by:
        - sourceIPAddress
    timespan: 5m
"""


def test_temporal_is_one_query_per_rule_all_above_zero(tmp_path: Path) -> None:
    rule = converted(tmp_path, correlation(TEMPORAL)).rule
    assert rule is not None
    assert [(q["name"], q["query"], q["groupByFields"]) for q in rule["queries"]] == [
        ("failed_login", FAILED, ["@network.client.ip"]),
        ("ok_login", SUCCEEDED, ["@network.client.ip"]),
    ]
    assert rule["cases"][0]["condition"] == "failed_login > 0 && ok_login > 0"
    assert rule["options"]["detectionMethod"] == "threshold"


def test_temporal_fires_when_every_rule_matched_one_group_in_the_timespan(
    tmp_path: Path,
) -> None:
    logs = [
        # both, either order, within 5 minutes: fires
        login("2024-01-01T00:00:00Z", "1.1.1.1", ok=True),
        login("2024-01-01T00:03:00Z", "1.1.1.1", ok=False),
        # both, 10 minutes apart: no
        login("2024-01-01T01:00:00Z", "2.2.2.2", ok=False),
        login("2024-01-01T01:10:00Z", "2.2.2.2", ok=True),
        # both, but from two addresses: no
        login("2024-01-01T02:00:00Z", "3.3.3.3", ok=False),
        login("2024-01-01T02:00:30Z", "4.4.4.4", ok=True),
    ]
    (found,) = results(tmp_path, correlation(TEMPORAL), logs)
    assert found.group_by == {"@network.client.ip": "1.1.1.1"}
    assert found.events_per_query == {"failed_login": 1, "ok_login": 1}


def test_temporal_of_some_rules_is_any_combination_of_that_many(tmp_path: Path) -> None:
    third = """---
title: Root login
name: root_login
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        userIdentity.type: Root
    condition: selection
"""
    body = """\
    type: temporal
    rules:
        - failed_login
        - ok_login
        - root_login
    group-by:
        - sourceIPAddress
    timespan: 1h
    condition:
        gte: 2
"""
    text = BASE_RULES + third + correlation(body)[len(BASE_RULES) :]
    rule = converted(tmp_path, text).rule
    assert rule is not None
    assert rule["cases"][0]["condition"] == (
        "(failed_login > 0 && ok_login > 0) || (failed_login > 0 && root_login > 0) || "
        "(ok_login > 0 && root_login > 0)"
    )


def test_temporal_ordered_becomes_a_sequence_that_runs(tmp_path: Path) -> None:
    body = TEMPORAL.replace("type: temporal", "type: temporal_ordered").replace("5m", "1h")
    conversion = converted(tmp_path, correlation(body))
    rule = conversion.rule
    assert rule is not None
    assert rule["options"]["detectionMethod"] == "sequence_detection"
    assert rule["options"]["sequenceDetectionOptions"] == {
        "steps": [
            {"name": "step_failed_login", "condition": "failed_login > 0", "evaluationWindow": 0},
            {"name": "step_ok_login", "condition": "ok_login > 0", "evaluationWindow": 0},
        ],
        "stepTransitions": [
            {"parent": "step_failed_login", "child": "step_ok_login", "evaluationWindow": 3600}
        ],
    }
    assert rule["cases"][0]["condition"] == "step_ok_login > 0"
    assert any("sequence_detection" in note for note in conversion.notes)
    (sequence,) = [
        r
        for r in engine.load_rules(write(tmp_path, "seq.yml", correlation(body)))
        if r.detection_method == "sequence_detection"
    ]
    logs = [
        login("2024-01-01T00:00:00Z", "1.1.1.1", ok=False),
        login("2024-01-01T00:59:00Z", "1.1.1.1", ok=True),  # failed then ok within 1 h: fires
        login("2024-01-01T00:10:00Z", "2.2.2.2", ok=True),  # ok then failed: wrong order
        login("2024-01-01T00:20:00Z", "2.2.2.2", ok=False),
        login("2024-01-01T01:00:00Z", "3.3.3.3", ok=False),  # failed, ok 1 h 01 min later
        login("2024-01-01T02:01:00Z", "3.3.3.3", ok=True),
    ]
    run = engine.run(sequence, logs)
    assert run.stats[0].error is None
    (result,) = run.results
    assert result.group_by == {"@network.client.ip": "1.1.1.1"}
    assert result.severity == "high"
    assert result.first_seen.isoformat() == "2024-01-01T00:00:00+00:00"
    assert result.timestamp.isoformat() == "2024-01-01T00:59:00+00:00"
    assert [step["name"] for step in result.extra["sequence"]["steps"]] == [
        "step_failed_login",
        "step_ok_login",
    ]


def test_a_timespan_between_windows_takes_the_next_longer_one_with_a_note(
    tmp_path: Path,
) -> None:
    conversion = converted(tmp_path, correlation(EVENT_COUNT.replace("5m", "2m")))
    assert conversion.rule is not None
    assert conversion.rule["options"]["evaluationWindow"] == 300
    assert conversion.notes == [
        "timespan 2m (120 s) is not a Datadog evaluation window: 300 s is used, so the logs of "
        "one result may be up to that far apart"
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            EVENT_COUNT.replace("5m", "2d"),
            "timespan 2d is longer than Datadog's longest evaluation window (86400 s)",
        ),
        (
            TEMPORAL + "    condition:\n        lt: 2\n",
            "a temporal condition 'lt' (at most / exactly N rules) has no Datadog equivalent; "
            "use gte or gt",
        ),
        (
            TEMPORAL + "    condition:\n        gte: 3\n",
            "the temporal condition asks for 3 of the 2 rules it correlates",
        ),
        (
            EVENT_COUNT.replace("- failed_login", "- no_such_rule"),
            "Rule 'no_such_rule' not found in rule collection",
        ),
        (
            VALUE_COUNT.replace("        field: userIdentity.arn\n", ""),
            "Value count correlation rule without field reference",
        ),
    ],
    ids=["too-long", "temporal-lt", "temporal-too-many", "unknown-rule", "no-field"],
)
def test_a_correlation_without_datadog_equivalent_is_refused(
    tmp_path: Path, body: str, reason: str
) -> None:
    conversion = converted(tmp_path, correlation(body))
    assert conversion.rule is None
    assert conversion.error == reason


def test_a_correlation_of_a_refused_rule_is_refused_naming_it(tmp_path: Path) -> None:
    text = correlation(EVENT_COUNT).replace(
        "errorMessage: Failed authentication", "errorMessage|re: 'Failed.*'"
    )
    conversion = converted(tmp_path, text)
    assert conversion.error == (
        "it correlates the rule 'Failed console login', not converted: Regular expressions are "
        "not currently supported in Datadog's rule query format"
    )


ALIASES = """\
    aliases:
        actor:
            failed_login: userIdentity.arn
            ok_login: userIdentity.principalId
    group-by:
        - actor
"""


def test_aliases_group_each_rule_by_its_own_field(tmp_path: Path) -> None:
    body = TEMPORAL.split("    group-by", maxsplit=1)[0] + ALIASES + "    timespan: 5m\n"
    rule = converted(tmp_path, correlation(body)).rule
    assert rule is not None
    assert [q["groupByFields"] for q in rule["queries"]] == [
        ["@userIdentity.arn"],
        ["@userIdentity.principalId"],
    ]


def test_a_count_over_rules_grouped_differently_is_refused(tmp_path: Path) -> None:
    rules = "    rules:\n        - failed_login\n        - ok_login\n"
    condition = "    condition:\n        gte: 2\n"
    body = f"    type: event_count\n{rules}{ALIASES}    timespan: 5m\n{condition}"
    conversion = converted(tmp_path, correlation(body))
    assert conversion.error is not None
    assert conversion.error.startswith("a count over rules grouped by different fields")


def test_a_count_over_several_rules_counts_the_logs_of_any(tmp_path: Path) -> None:
    body = EVENT_COUNT.replace("- failed_login", "- failed_login\n        - ok_login")
    rule = converted(tmp_path, correlation(body)).rule
    assert rule is not None
    assert rule["queries"][0]["query"] == f"({FAILED}) OR ({SUCCEEDED})"


def test_correlated_rules_are_written_alone_only_with_generate(tmp_path: Path) -> None:
    quiet = convert_text(tmp_path, correlation(EVENT_COUNT))
    assert [c.output for c in quiet] == [False, True, True]  # ok_login is not correlated
    loud = convert_text(tmp_path, correlation(EVENT_COUNT + "    generate: true\n"))
    assert [c.output for c in loud] == [True, True, True]
    assert all(c.rule is not None for c in quiet + loud)


def test_a_correlation_finds_its_rules_in_other_files_of_a_folder(tmp_path: Path) -> None:
    write(tmp_path, "rules/base.yml", BASE_RULES)
    body = correlation(EVENT_COUNT)[len(BASE_RULES) + len("---\n") :]
    write(tmp_path, "rules/correlation.yml", body)
    names = [rule.name for rule in engine.load_rules(tmp_path / "rules")]
    assert names == ["Successful console login", "The correlation"]
