"""Every real Datadog rule of the corpus loads (or is refused for its type, by name).

The OOTB rule tests run on the whole corpus file and on the sample of it kept in
`tests/fixtures/ootb-rules` (which a fresh clone has).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.core.errors import RuleValidationError
from engine.rules import Rule, Then, contains_then, load_rule, load_rules, validate_rule

RULES = "datadog-rules"
OOTB = "default_log_detection_rules.json"
OOTB_SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "ootb-rules" / OOTB
#: (rules, THEN rules) of each OOTB file
OOTB_SIZES = {"sample": (11, 3), "corpus": (83, 3)}


@pytest.fixture(scope="module", params=list(OOTB_SIZES))
def ootb_file(request: pytest.FixtureRequest) -> Path:
    if request.param == "sample":
        return OOTB_SAMPLE
    corpus: Path = request.getfixturevalue("corpus")
    return corpus / RULES / "ootb-default-rules" / OOTB


@pytest.fixture(scope="module")
def ootb(ootb_file: Path) -> list[Rule]:
    return load_rules(ootb_file)


@pytest.fixture(scope="module")
def ootb_raw(ootb_file: Path) -> list[dict[str, Any]]:
    return json.loads(ootb_file.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def api_examples(corpus: Path) -> list[dict[str, Any]]:
    path = corpus / RULES / "api-format-examples" / "terraform_provider_test_rules.json"
    return [item["rule"] for item in json.loads(path.read_text(encoding="utf-8"))]


def _kinds(rules: list[Rule]) -> tuple[Counter[str], Counter[str]]:
    return Counter(r.type for r in rules), Counter(r.detection_method for r in rules)


def test_ootb_rules_all_load(corpus: Path) -> None:
    assert _kinds(load_rules(corpus / RULES / "ootb-default-rules" / OOTB)) == (
        {"log_detection": 82, "signal_correlation": 1},
        {
            "threshold": 68,
            "new_value": 6,
            "anomaly_detection": 6,
            "impossible_travel": 2,
            "third_party": 1,
        },
    )


def test_ootb_sample_holds_every_kind_of_rule() -> None:
    assert _kinds(load_rules(OOTB_SAMPLE)) == (
        {"log_detection": 10, "signal_correlation": 1},
        {
            "threshold": 7,
            "new_value": 1,
            "anomaly_detection": 1,
            "impossible_travel": 1,
            "third_party": 1,
        },
    )


def test_partner_rules_all_load(corpus: Path) -> None:
    files = sorted((corpus / RULES / "partner-rules-integrations-extras").glob("*/*.json"))
    rules = [load_rule(path) for path in files]
    assert len(rules) == 11
    assert all(r.partnerRuleId for r in rules)
    assert len(load_rules(corpus / RULES / "partner-rules-integrations-extras")) == 11


def test_api_format_examples(api_examples: list[dict[str, Any]]) -> None:
    loaded = []
    refused = {}
    for data in api_examples:
        try:
            loaded.append(validate_rule(data))
        except RuleValidationError as err:
            refused[data["type"]] = err.problems
    assert sorted((r.type, r.detection_method) for r in loaded) == [
        ("log_detection", "anomaly_detection"),
        ("log_detection", "impossible_travel"),
        ("log_detection", "new_value"),
        ("log_detection", "sequence_detection"),
        ("log_detection", "third_party"),
        ("log_detection", "threshold"),
        ("signal_correlation", "threshold"),
    ]
    assert refused == {
        kind: [
            (
                "type",
                f"unsupported rule type {kind!r} (supported: log_detection, signal_correlation)",
            )
        ]
        for kind in ("application_security", "workload_security")
    }


def test_every_condition_parses(ootb: list[Rule], ootb_file: Path) -> None:
    conditions = [cond for rule in ootb for cond in rule.case_conditions()]
    assert len(conditions) == sum(len(rule.cases) for rule in ootb)
    then_rules = sorted(r.name for r in ootb if any(contains_then(c) for c in r.case_conditions()))
    sizes = OOTB_SIZES["sample" if ootb_file == OOTB_SAMPLE else "corpus"]
    assert (len(ootb), len(then_rules)) == sizes
    assert "AWS CreateIndex followed by ListResources via long term access key" in then_rules


def test_then_rule_structure(ootb: list[Rule]) -> None:
    rule = next(r for r in ootb if r.type == "signal_correlation")
    (condition,) = rule.case_conditions()
    assert isinstance(condition, Then)
    assert rule.query_names() == [
        "createindex_long_term_access_key",
        "listresources_long_term_access_key",
    ]
    assert [q.defaultRuleId for q in rule.queries] == ["def-000-h6a", "def-000-8qc"]


def test_no_information_lost(ootb: list[Rule], ootb_raw: list[dict[str, Any]]) -> None:
    """Every non-null value of the corpus JSON is kept by `to_json` (defaults may be added)."""

    def missing(original: Any, dumped: Any, path: str) -> list[str]:
        if original is None:
            return []
        if isinstance(original, dict):
            if not isinstance(dumped, dict):
                return [path]
            return [
                m for k, v in original.items() for m in missing(v, dumped.get(k), f"{path}.{k}")
            ]
        if isinstance(original, list):
            if not isinstance(dumped, list) or len(dumped) != len(original):
                return [path]
            return [
                m for i, v in enumerate(original) for m in missing(v, dumped[i], f"{path}[{i}]")
            ]
        return [] if original == dumped else [path]

    lost = [
        m
        for raw, rule in zip(ootb_raw, ootb, strict=True)
        for m in missing(raw, rule.to_json(), rule.name)
    ]
    assert lost == []


def test_corpus_rules_convert_to_jobs(ootb: list[Rule]) -> None:
    jobs = [rule.to_job_definition(0, 86_400_000, "main") for rule in ootb]
    assert len(jobs) == len(ootb)
    assert all(job.cases == rule.cases for job, rule in zip(jobs, ootb, strict=True))
    assert not any(
        "decreaseCriticalityBasedOnEnv" in job.normalized_json()["options"] for job in jobs
    )
