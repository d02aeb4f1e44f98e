"""Validation (SPEC §3.1-3.5): one row per check, with the JSON path and the message."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from engine.core.errors import QuerySyntaxError, RuleValidationError
from engine.query import parse
from engine.rules import validate_from_rule, validate_job_definition, validate_rule

WINDOWS = "0, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400"
AGGREGATIONS = "count, cardinality, sum, max, new_value, geo_data, event_count, none"


def base_rule() -> dict[str, Any]:
    return {
        "name": "Failed logins",
        "type": "log_detection",
        "isEnabled": True,
        "message": "m",
        "tags": [],
        "queries": [
            {"query": "source:auth @evt.outcome:failure", "groupByFields": ["@usr.id"]},
            {"query": "source:auth @evt.outcome:success", "groupByFields": ["@usr.id"]},
        ],
        "cases": [{"name": "", "status": "high", "condition": "a > 3 && b > 0"}],
        "options": {"evaluationWindow": 300, "keepAlive": 600, "maxSignalDuration": 3600},
    }


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `a.b[0].c` in `data` (creating objects on the way); `...` deletes the key."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    target: Any = data
    for part in parts[:-1]:
        target = target[part] if isinstance(part, int) else target.setdefault(part, {})
    if value is ...:
        del target[parts[-1]]
    else:
        target[parts[-1]] = copy.deepcopy(value)


def make(kind: str, changes: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(base_rule())
    if kind == "job":
        del data["isEnabled"]
        data |= {"from": 1_000, "to": 2_000, "index": "main"}
    for path, value in changes.items():
        set_path(data, path, value)
    return data


def check(kind: str, data: dict[str, Any]) -> Any:
    return validate_job_definition(data) if kind == "job" else validate_rule(data)


def queries(n: int) -> list[dict[str, Any]]:
    return [{"query": f"@n:{i}"} for i in range(n)]


SEQUENCE = {
    "detectionMethod": "sequence_detection",
    "evaluationWindow": 0,
    "keepAlive": 300,
    "maxSignalDuration": 600,
    "sequenceDetectionOptions": {
        "steps": [
            {"name": "step_a", "condition": "a > 0", "evaluationWindow": 60},
            {"name": "step_b", "condition": "b > 0", "evaluationWindow": 60},
        ],
        "stepTransitions": [{"parent": "step_a", "child": "step_b", "evaluationWindow": 900}],
    },
}
THIRD_PARTY = {
    "detectionMethod": "third_party",
    "thirdPartyRuleOptions": {
        "rootQueries": [{"query": "source:guardduty"}],
        "defaultStatus": "info",
    },
}

# (id, kind, changes, path, message)
INVALID: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("aggregation-enum", "rule", {"queries[0].aggregation": "avg"}, "queries[0].aggregation",
     f"must be one of {AGGREGATIONS} (got 'avg')"),
    ("keepalive-enum", "job", {"options.keepAlive": 999999}, "options.keepAlive",
     f"must be one of {WINDOWS} (got 999999)"),
    ("window-string-not-coerced", "job", {"options.evaluationWindow": "300"},
     "options.evaluationWindow", f"must be one of {WINDOWS} (got '300')"),
    ("detection-method-enum", "rule", {"options.detectionMethod": "magic"},
     "options.detectionMethod", "must be one of threshold, new_value, anomaly_detection, "
     "anomaly_threshold, impossible_travel, hardcoded, third_party, sequence_detection "
     "(got 'magic')"),
    ("status-enum", "rule", {"cases[0].status": "severe"}, "cases[0].status",
     "must be one of info, low, medium, high, critical (got 'severe')"),
    ("action-type-enum", "rule", {"cases[0].actions": [{"type": "ban"}]},
     "cases[0].actions[0].type",
     "must be one of block_ip, block_user, flag_ip, user_behavior (got 'ban')"),
    ("action-duration-range", "rule",
     {"cases[0].actions": [{"type": "block_ip", "options": {"duration": -1}}]},
     "cases[0].actions[0].options.duration", "must be >= 0 (got -1)"),
    ("forget-after-range", "rule", {"options.newValueOptions": {"forgetAfter": 31}},
     "options.newValueOptions.forgetAfter", "must be <= 30 (got 31)"),
    ("learning-threshold-enum", "rule", {"options.newValueOptions": {"learningThreshold": 2}},
     "options.newValueOptions.learningThreshold", "must be one of 0, 1 (got 2)"),
    ("bucket-duration-enum", "rule", {"options.anomalyDetectionOptions": {"bucketDuration": 120}},
     "options.anomalyDetectionOptions.bucketDuration",
     "must be one of 300, 600, 900, 1800, 3600, 10800 (got 120)"),
    ("detection-tolerance-enum", "rule",
     {"options.anomalyDetectionOptions": {"detectionTolerance": 6}},
     "options.anomalyDetectionOptions.detectionTolerance", "must be one of 1, 2, 3, 4, 5 (got 6)"),
    ("baseline-duration-range", "rule",
     {"options.impossibleTravelOptions": {"baselineUserLocationsDuration": 0}},
     "options.impossibleTravelOptions.baselineUserLocationsDuration", "must be >= 1 (got 0)"),
    ("unknown-field-did-you-mean", "job", {"options.evaluationWindows": 300},
     "options.evaluationWindows",
     "unknown field 'evaluationWindows'; did you mean 'evaluationWindow'?"),
    ("unknown-field-allowed-list", "rule", {"cases[0].severity": "x"}, "cases[0].severity",
     "unknown field 'severity' (allowed: status, name, condition, notifications, actions, "
     "customStatus)"),
    ("rule-only-option-in-job", "job", {"options.complianceRuleOptions": {}},
     "options.complianceRuleOptions", "unknown field 'complianceRuleOptions'"),
    ("missing-required", "job", {"index": ...}, "index", "is required"),
    ("wrong-type", "rule", {"tags": "x"}, "tags", "must be a list (got 'x')"),
    ("window-over-keepalive", "job", {"options.evaluationWindow": 3600},
     "options.evaluationWindow", "must be <= keepAlive (600) (got 3600)"),
    ("window-over-max-duration", "rule",
     {"options": {"evaluationWindow": 900, "keepAlive": 3600, "maxSignalDuration": 600}},
     "options.evaluationWindow", "must be <= maxSignalDuration (600) (got 900)"),
    ("from-not-before-to", "job", {"from": 2_000}, "to",
     "must be greater than from (2000) (got 2000)"),
    ("too-many-queries", "rule", {"queries": queries(11)}, "queries",
     "at most 10 items are allowed (got 11)"),
    ("too-many-cases", "job", {"cases": [{"status": "info", "condition": "a > 0"}] * 11}, "cases",
     "at most 10 items are allowed (got 11)"),
    ("too-many-third-party-cases", "rule",
     {"options": THIRD_PARTY, "thirdPartyCases": [{"status": "info", "query": "x"}] * 11,
      "cases": []}, "thirdPartyCases", "at most 10 items are allowed (got 11)"),
    ("no-queries", "job", {"queries": []}, "queries", "at least one query is required"),
    ("no-cases", "rule", {"cases": []}, "cases", "at least one case is required"),
    ("sum-needs-one-metric", "rule", {"queries[0].aggregation": "sum"}, "queries[0].metrics",
     "sum needs exactly 1 metric (got 0)"),
    ("max-needs-one-metric", "rule",
     {"queries[0].aggregation": "max", "queries[0].metrics": ["@a", "@b"]}, "queries[0].metrics",
     "max needs exactly 1 metric (got 2)"),
    ("geo-data-needs-one-metric", "rule", {"queries[0].aggregation": "geo_data"},
     "queries[0].metrics", "geo_data needs exactly 1 metric (got 0)"),
    ("new-value-needs-a-metric", "rule", {"queries[0].aggregation": "new_value"},
     "queries[0].metrics", "new_value needs 1 to 5 metrics (got 0)"),
    ("new-value-at-most-five", "rule",
     {"queries[0].aggregation": "new_value",
      "queries[0].metrics": ["@1", "@2", "@3", "@4", "@5", "@6"]},
     "queries[0].metrics", "new_value needs 1 to 5 metrics (got 6)"),
    ("cardinality-needs-distinct-field", "rule", {"queries[0].aggregation": "cardinality"},
     "queries[0].distinctFields", "cardinality needs at least one distinct field"),
    ("group-signals-by-not-subset", "job", {"groupSignalsBy": ["@usr.id", "host"]},
     "groupSignalsBy[1]", "'host' is not a group-by field of any query (group-bys: @usr.id)"),
    ("group-by-arity", "rule", {"queries[1].groupByFields": ["@usr.id", "host"]},
     "queries[1].groupByFields", "every query that groups needs the same number of group-by "
     "fields (queries[0] has 1, this one 2)"),
    ("empty-query", "job", {"queries[0].query": ""}, "queries[0].query",
     "Query filter cannot be empty"),
    ("blank-query", "rule", {"queries[0].query": "  "}, "queries[0].query",
     "Query filter cannot be empty"),
    ("missing-query", "rule", {"queries[0].query": ...}, "queries[0].query",
     "Query filter cannot be empty"),
    ("unknown-identifier", "rule", {"cases[0].condition": "a > 0 && c > 0"}, "cases[0].condition",
     "invalid condition 'a > 0 && c > 0' at column 10: unknown query name 'c' (known: a, b)"),
    ("literal-on-left", "job", {"cases[0].condition": "3 < a"}, "cases[0].condition",
     "invalid condition '3 < a' at column 1: the query name must be on the left of the "
     "comparison (write 'a > 3', not '3 < a'; got '3')"),
    ("condition-syntax", "rule", {"cases[0].condition": "a > 0 &&"}, "cases[0].condition",
     "invalid condition 'a > 0 &&' at column 9: unexpected end of condition, expected a query "
     "name or '('"),
    ("query-language", "job", {"queries[0].queryLanguage": "sql"}, "queries[0].queryLanguage",
     "unsupported query language 'sql'"),
    ("hardcoded-job", "job", {"options.detectionMethod": "hardcoded"}, "options.detectionMethod",
     "rule 'Failed logins': unsupported detection method 'hardcoded'"),
    ("index-and-indexes", "job", {"queries[0].index": "main", "queries[0].indexes": ["main"]},
     "queries[0].indexes", "index and indexes are mutually exclusive"),
    ("duplicate-query-name", "rule", {"queries[0].name": "b"}, "queries[1].name",
     "duplicate query name 'b' (names and letters are unique)"),
    ("query-name-not-identifier", "rule", {"queries[0].name": "failed-login"}, "queries[0].name",
     "must be letters, digits and underscores (got 'failed-login')"),
    ("unsupported-type", "rule", {"type": "workload_security"}, "type",
     "unsupported rule type 'workload_security' (supported: log_detection, signal_correlation)"),
    ("unsupported-type-job", "job", {"type": "application_security"}, "type",
     "unsupported rule type 'application_security' (supported: log_detection, signal_correlation)"),
    ("sequence-case-names-a-query", "rule", {"options": SEQUENCE, "cases[0].condition": "a > 0"},
     "cases[0].condition",
     "invalid condition 'a > 0' at column 1: unknown step name 'a' (known: step_a, step_b)"),
    ("sequence-step-unknown-query", "rule",
     {"options": SEQUENCE, "cases[0].condition": "step_b > 0",
      "options.sequenceDetectionOptions.steps[1].condition": "z > 0"},
     "options.sequenceDetectionOptions.steps[1].condition",
     "invalid condition 'z > 0' at column 1: unknown query name 'z' (known: a, b)"),
    ("sequence-transition-unknown-step", "job",
     {"options": SEQUENCE, "cases[0].condition": "step_b > 0",
      "options.sequenceDetectionOptions.stepTransitions[0].child": "step_c"},
     "options.sequenceDetectionOptions.stepTransitions[0].child",
     "unknown step name 'step_c' (known: step_a, step_b)"),
    ("sequence-without-steps", "rule",
     {"options": SEQUENCE, "options.sequenceDetectionOptions.steps": [], "cases[0].condition": ""},
     "options.sequenceDetectionOptions.steps", "a sequence_detection rule needs at least one step"),
    ("third-party-without-root-queries", "rule",
     {"options": THIRD_PARTY, "options.thirdPartyRuleOptions.rootQueries": [], "cases": []},
     "options.thirdPartyRuleOptions.rootQueries",
     "a third_party rule needs at least one root query"),
    ("third-party-cases-outside-third-party", "rule",
     {"thirdPartyCases": [{"status": "info", "query": "x"}]}, "thirdPartyCases",
     "only third_party rules have thirdPartyCases"),
    ("reference-table-unknown-query", "job",
     {"referenceTables": [{"tableName": "t", "columnName": "c", "logFieldPath": "@ip",
                           "checkPresence": True, "ruleQueryName": "z"}]},
     "referenceTables[0].ruleQueryName", "unknown query name 'z' (known: a, b)"),
    ("signal-correlation-needs-rule-id", "rule",
     {"type": "signal_correlation", "queries[0].query": ..., "queries[1].query": ...},
     "queries[0].ruleId", "a signal_correlation query needs the rule it correlates"),
    ("legacy-filter-empty-query", "rule", {"filters": [{"action": "require", "query": ""}]},
     "filters[0].query", "Query filter cannot be empty"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "changes", "path", "message"),
    [row[1:] for row in INVALID],
    ids=[row[0] for row in INVALID],
)
def test_invalid(kind: str, changes: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(RuleValidationError) as caught:
        check(kind, make(kind, changes))
    problems = dict(caught.value.problems)
    assert path in problems, caught.value.problems
    assert problems[path].startswith(message)


@pytest.mark.parametrize("data", [[], "rule", None], ids=["list", "string", "null"])
def test_not_an_object(data: Any) -> None:
    with pytest.raises(RuleValidationError) as caught:
        validate_rule(data)
    assert caught.value.problems[0][0] == ""
    assert caught.value.problems[0][1].startswith("must be a JSON object")


VALID: list[tuple[str, str, dict[str, Any]]] = [
    ("base-rule", "rule", {}),
    ("base-job", "job", {}),
    ("deprecated-metric", "rule", {"queries[0].aggregation": "sum", "queries[0].metric": "@bytes"}),
    ("new-value-five", "rule",
     {"queries[0].aggregation": "new_value", "queries[0].metrics": ["@1", "@2", "@3", "@4", "@5"]}),
    ("global-query-joins-any-arity", "rule",
     {"queries[0].groupByFields": ["@usr.id", "host"], "queries[1].groupByFields": []}),
    ("group-signals-by-subset", "job", {"groupSignalsBy": ["@usr.id"]}),
    ("third-party-no-cases", "rule",
     {"options": THIRD_PARTY, "cases": [], "thirdPartyCases": [{"status": "high", "query": "x"}]}),
    ("sequence-cases-name-steps", "job", {"options": SEQUENCE, "cases[0].condition": "step_b > 0"}),
    ("empty-condition", "rule", {"cases[0].condition": ""}),
    ("query-language-empty", "job", {"queries[0].queryLanguage": ""}),
    ("windows-equal", "job", {"options": {"evaluationWindow": 600, "keepAlive": 600,
                                          "maxSignalDuration": 600}}),
    ("hardcoded-rule", "rule", {"options.detectionMethod": "hardcoded",
                                "options.hardcodedEvaluatorType": "log4shell"}),
    ("signal-correlation", "rule",
     {"type": "signal_correlation", "queries[0]": {"ruleId": "x-1", "correlatedByFields": ["host"]},
      "queries[1]": {"ruleId": "x-2", "correlatedQueryIndex": 0}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "changes"), [row[1:] for row in VALID], ids=[row[0] for row in VALID]
)
def test_valid(kind: str, changes: dict[str, Any]) -> None:
    check(kind, make(kind, changes))


SYNTAX = [
    ("query", "queries[0].query", "source:auth (@evt.outcome:failure"),
    ("additional-filters", "queries[0].additionalFilters", "env:prod)"),
    ("custom-query-extension", "queries[1].customQueryExtension", "(a OR b"),
    ("root-query", "options.thirdPartyRuleOptions.rootQueries[0].query", "(x"),
    ("third-party-case", "thirdPartyCases[0].query", "(y"),
    ("legacy-filter", "filters[0].query", "(z"),
]


@pytest.mark.parametrize(("path", "text"), [s[1:] for s in SYNTAX], ids=[s[0] for s in SYNTAX])
def test_query_syntax_errors_carry_reason_and_position(path: str, text: str) -> None:
    with pytest.raises(QuerySyntaxError) as expected:
        parse(text)
    data = make("rule", {})
    if path.startswith(("options.thirdPartyRuleOptions", "thirdPartyCases")):
        data["options"] = copy.deepcopy(THIRD_PARTY)
        data["cases"] = []
        data["thirdPartyCases"] = [{"status": "info", "query": "ok"}]
    if path.startswith("filters"):
        data["filters"] = [{"action": "suppress", "query": ""}]
    set_path(data, path, text)
    with pytest.raises(RuleValidationError) as caught:
        validate_rule(data)
    err = expected.value
    assert dict(caught.value.problems)[path].startswith(
        f"invalid query at line {err.line}, column {err.column}: {err.reason}"
    )


def test_several_mistakes_reported_at_once() -> None:
    data = make(
        "job",
        {
            "queries[0].aggregation": "avg",
            "queries[1].query": "",
            "cases[0].condition": "c > 0",
            "options.keepAlive": 999999,
            "options.evaluationWindow": 3600,
            "options.maxSignalDuration": 900,
            "from": 5_000,
        },
    )
    with pytest.raises(RuleValidationError) as caught:
        validate_job_definition(data)
    paths = [path for path, _ in caught.value.problems]
    assert paths == [
        "queries[0].aggregation",
        "options.keepAlive",
        "queries[1].query",
        "cases[0].condition",
        "options.evaluationWindow",
        "to",
    ]
    assert str(caught.value).startswith(
        "job definition is invalid (6 problems):\n  queries[0].aggregation:"
    )


def test_source_named_in_error_text() -> None:
    with pytest.raises(RuleValidationError) as caught:
        validate_rule(make("rule", {"cases[0].status": "x"}), source="rules/brute_force.json")
    assert caught.value.source == "rules/brute_force.json"
    assert str(caught.value).startswith("rule rules/brute_force.json is invalid (1 problem):")


TC12_QUERIES = [
    {"query": "@evt.outcome:failure", "groupByFields": ["@usr.name"]},
    {"query": "@evt.outcome:success", "groupByFields": ["@usr.name"]},
]


def test_tc13_unknown_identifier_rejected_listing_known_queries() -> None:
    job = make(
        "job", {"queries": TC12_QUERIES, "cases": [{"status": "high", "condition": "c > 0"}]}
    )
    with pytest.raises(RuleValidationError) as caught:
        validate_job_definition(job)
    assert caught.value.problems == [
        ("cases[0].condition", "invalid condition 'c > 0' at column 1: unknown query name 'c' "
         "(known: a, b)")
    ]  # fmt: skip


def test_tc13_named_queries_accepted() -> None:
    named = [q | {"name": n} for q, n in zip(TC12_QUERIES, ["failed", "ok"], strict=True)]
    cases = [{"status": "high", "condition": "failed > 5 && ok > 0"}]
    job = validate_job_definition(make("job", {"queries": named, "cases": cases}))
    assert job.query_names() == ["failed", "ok"]
    unnamed = make(
        "job",
        {"queries": TC12_QUERIES, "cases": [{"status": "high", "condition": "a > 5 && b > 0"}]},
    )
    assert validate_job_definition(unnamed).query_names() == ["a", "b"]


def test_tc13_positional_letters_are_not_aliases_of_named_queries() -> None:
    named = [q | {"name": n} for q, n in zip(TC12_QUERIES, ["failed", "ok"], strict=True)]
    job = make("job", {"queries": named, "cases": [{"status": "high", "condition": "a > 5"}]})
    with pytest.raises(RuleValidationError) as caught:
        validate_job_definition(job)
    assert caught.value.problems == [
        ("cases[0].condition", "invalid condition 'a > 5' at column 1: unknown query name 'a' "
         "(known: failed, ok)")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"caseIndex": 10}, "caseIndex", "must be <= 9 (got 10)"),
        ({"caseIndex": -1}, "caseIndex", "must be >= 0 (got -1)"),
        ({"to": 500}, "to", "must be greater than from (1000) (got 500)"),
        ({"id": ...}, "id", "is required"),
        ({"extra": 1}, "extra", "unknown field 'extra'"),
    ],
    ids=["case-index-max", "case-index-min", "range", "id-required", "unknown-field"],
)
def test_from_rule_invalid(data: dict[str, Any], path: str, message: str) -> None:
    request: dict[str, Any] = {"id": "abc", "from": 1_000, "to": 2_000, "index": "main"}
    for key, value in data.items():
        set_path(request, key, value)
    with pytest.raises(RuleValidationError) as caught:
        validate_from_rule(request)
    assert dict(caught.value.problems)[path].startswith(message)


def test_from_rule_valid() -> None:
    request = validate_from_rule(
        {"id": "abc", "from": 1, "to": 2, "index": "main", "caseIndex": 9, "notifications": ["@a"]}
    )
    assert (request.id, request.from_, request.to, request.caseIndex) == ("abc", 1, 2, 9)


def test_a_bad_message_template_is_reported_at_load_with_its_position() -> None:
    data = {
        "name": "templated",
        "type": "log_detection",
        "queries": [{"query": "*", "aggregation": "count"}],
        "cases": [{"status": "info", "condition": "a > 0"}],
        "options": {},
        "message": 'ok\n{{#is_match "@a" "x"}}never closed',
    }
    with pytest.raises(RuleValidationError) as caught:
        validate_rule(data)
    ((path, message),) = caught.value.problems
    assert path == "message"
    assert message.startswith("invalid template at line 2, column 1:")
