"""`engine.search` by log id, and the explanation when a query names a canonical field as a tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import count, search
from engine.search import tag_named_like_a_field
from tests.detect.builders import archive_of, event

EVENTS = [
    {**event(s, user), "id": f"log-{s}"} for s, user in ((0, "alice"), (60, "bob"), (120, "bob"))
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return archive_of(EVENTS, tmp_path_factory.mktemp("search"))


def test_logs_are_looked_up_by_id(archive: Path) -> None:
    found = search("*", str(archive), ids=["log-120", "log-0", "nope"])
    assert found["id"].to_list() == ["log-0", "log-120"]  # oldest first
    assert count("*", str(archive), ids=["log-60", "log-60"]) == 1


def test_ids_narrow_the_query(archive: Path) -> None:
    assert search("@usr.id:bob", str(archive), ids=["log-0", "log-60"])["id"].to_list() == [
        "log-60"
    ]
    assert search("*", str(archive), ids=[]).height == 0


def test_id_as_a_query_is_a_tag_query(archive: Path) -> None:
    assert search("id:log-0", str(archive)).height == 0  # SPEC §2.3: a tag, not the log id


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        pytest.param("id:abc", "use --id abc", id="id"),
        pytest.param("id:(a OR b)", "use --id a --id b", id="ids"),
        pytest.param("id:a*", "use --id ID", id="id-wildcard"),
        pytest.param('timestamp:"2024-03-04"', "use --from and --to", id="timestamp"),
        pytest.param("id:a timestamp:b", "use --id a", id="both"),
    ],
)
def test_a_tag_named_like_a_canonical_field_is_explained(query: str, hint: str) -> None:
    explanation = tag_named_like_a_field(query)
    assert explanation is not None
    assert "names a tag" in explanation and explanation.endswith(hint)


@pytest.mark.parametrize("query", ["id:abc source:okta", "@id:abc", "env:prod", "host:abc", "abc"])
def test_other_queries_need_no_explanation(query: str) -> None:
    assert tag_named_like_a_field(query) is None
