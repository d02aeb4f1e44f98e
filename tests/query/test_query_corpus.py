"""Every query of the real published Datadog rules parses, compiles and re-renders.

Sources (`datadog-rules` of the public corpus, see tests/corpus.py): the out-of-the-box log
detection rules, the partner rules of integrations-extras and the API-format examples. Queries are
read from `queries[].query`, `filters[].query`, `thirdPartyCases[].query` and
`options.thirdPartyRuleOptions.rootQueries`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.query import compile_query, parse
from tests.corpus import corpus_params

_QUERY_KEYS = frozenset({"query", "rootQueries"})


def _rules(corpus: Path) -> list[tuple[str, dict[str, Any]]]:
    rules = corpus / "datadog-rules"
    found: list[tuple[str, dict[str, Any]]] = []
    for rule in json.loads(
        (rules / "ootb-default-rules/default_log_detection_rules.json").read_text()
    ):
        found.append((f"ootb/{rule['name']}", rule))
    for path in sorted(rules.glob("partner-rules-integrations-extras/*/*.json")):
        found.append((f"partner/{path.stem}", json.loads(path.read_text())))
    examples = json.loads(
        (rules / "api-format-examples/terraform_provider_test_rules.json").read_text()
    )
    for example in examples:
        found.append((f"api/{example['rule']['type']}/{example['rule']['name']}", example["rule"]))
    return found


def _queries(node: Any, key: str | None = None) -> list[str]:
    if isinstance(node, dict):
        return [query for name, value in node.items() for query in _queries(value, name)]
    if isinstance(node, list):
        return [query for item in node for query in _queries(item, key)]
    if isinstance(node, str) and key in _QUERY_KEYS:
        return [node]
    return []


def _corpus_queries(corpus: Path) -> list[Any]:
    return [
        pytest.param(query, id=f"{name}#{index}")
        for name, rule in _rules(corpus)
        for index, query in enumerate(dict.fromkeys(_queries(rule)))
    ]


SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "service": pl.String(),
    "host": pl.String(),
    "status": pl.String(),
    "message": pl.String(),
    "tags": pl.List(pl.String()),
    "@evt.name": pl.String(),
    "@http.status_code": pl.Int64(),
    "@usr.id": pl.String(),
    "@userIdentity.invokedBy": pl.String(),
}


def test_corpus_is_present_and_large(corpus: Path) -> None:
    assert len(_corpus_queries(corpus)) >= 150


@pytest.mark.parametrize("query", corpus_params(_corpus_queries))
def test_real_rule_query_parses_compiles_and_round_trips(query: str) -> None:
    node = parse(query)
    compile_query(node, {})
    compile_query(node, SCHEMA)
    assert parse(str(node)) == node
