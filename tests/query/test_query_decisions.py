"""SPEC §2.11 decisions and the UNSPECIFIED proposals of §1.2 and §2.3 - §2.9, as one table.

Each row: a query, a list of events (one archive), and which of them match.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from query_cases import attrs, msg, tagged

from engine import ingest, search
from engine.match import match
from engine.query import parse

Row = tuple[str, str, list[dict[str, Any]], list[bool]]

DECISIONS: list[Row] = [
    # -- §2.11 numeric equality ---------------------------------------------------------------
    ("numeric-eq-number", "@b:10", [attrs(b=10), attrs(b="10"), attrs(b=11)], [True, True, False]),
    (
        "numeric-eq-quoted",
        '@b:"10"',
        [attrs(b=10), attrs(b="10"), attrs(b="x")],
        [True, True, False],
    ),
    (
        "numeric-eq-float-forms",
        "@a:200",
        [attrs(a=200.0), attrs(a="200.0"), attrs(a="2e2")],
        [True, True, True],
    ),
    (
        "numeric-eq-decimal",
        "@a:0.75",
        [attrs(a=0.75), attrs(a=".75"), attrs(a=0.76)],
        [True, True, False],
    ),
    ("numeric-eq-int-column", "@a:200.0", [attrs(a=200), attrs(a=201)], [True, False]),
    ("numeric-eq-nonintegral-vs-int", "@a:1.5", [attrs(a=1), attrs(a=2)], [False, False]),
    (
        "numeric-eq-text-still-exact",
        "@a:007",
        [attrs(a="007"), attrs(a="7"), attrs(a=7)],
        [True, True, True],
    ),
    ("numeric-eq-negative", "@a:\\-3", [attrs(a=-3), attrs(a="-3.0")], [True, True]),
    (
        "numeric-strings-strict",
        "@a:[0 TO 10000]",
        [attrs(a=v) for v in ("inf", "nan", "0x10", "1_000", " 5", "5 ", "5")],
        [False] * 6 + [True],
    ),
    (
        "numeric-strings-forms",
        "@a:>0",
        [attrs(a=v) for v in ("1e3", "-2.5", ".5", "5.", "+7")],
        [True, False, True, True, True],
    ),
    (
        "reserved-numeric-range",
        "service:[1 TO 100]",
        [{"service": "2"}, {"service": "200"}, {"service": "x"}],
        [True, False, False],
    ),
    (
        "tag-numeric-range",
        "code:[1 TO 100]",
        [tagged("code:2"), tagged("code:200"), tagged("code:x"), tagged("other:5")],
        [True, False, False, False],
    ),
    ("tag-numeric-comparison", "code:>=10", [tagged("code:9"), tagged("code:10.0")], [False, True]),
    ("tag-numeric-equality", "code:200", [tagged("code:200"), tagged("code:200.0")], [True, True]),
    # -- booleans -----------------------------------------------------------------------------
    ("bool-true", "@a:true", [attrs(a=True), attrs(a="true"), attrs(a=False)], [True, True, False]),
    (
        "bool-not-false",
        "NOT @a:false",
        [attrs(a=True), attrs(a=False), attrs(b=1)],
        [True, False, True],
    ),
    ("bool-never-compares", "@a:>0", [attrs(a=True), attrs(a=1)], [False, True]),
    ("bool-wildcard-on-text-form", "@a:tr*", [attrs(a=True), attrs(a=False)], [True, False]),
    ("number-wildcard-on-text-form", "@a:20*", [attrs(a=200), attrs(a=300)], [True, False]),
    # -- comparisons and ranges ---------------------------------------------------------------
    (
        "range-inclusive",
        "@a:[1 TO 3]",
        [attrs(a=v) for v in (0, 1, 3, 4)],
        [False, True, True, False],
    ),
    ("range-exclusive", "@a:{1 TO 3}", [attrs(a=v) for v in (1, 2, 3)], [False, True, False]),
    ("range-open-low", "@a:[* TO 3]", [attrs(a=v) for v in (-100, 3, 4)], [True, True, False]),
    (
        "range-star-star-is-exists",
        "@a:[* TO *]",
        [attrs(a=1), attrs(a="x"), attrs(b=1)],
        [True, True, False],
    ),
    (
        "range-negative-bounds",
        "@a:[-5 TO -1]",
        [attrs(a=v) for v in (-6, -5, -1, 0)],
        [False, True, True, False],
    ),
    (
        "range-decimal-bounds",
        "@detail.severity:[4.0 TO 6.9]",
        [attrs(detail={"severity": v}) for v in (3.9, 4, 6.9, 7)],
        [False, True, True, False],
    ),
    (
        "range-lexicographic",
        "@a:[a TO c]",
        [attrs(a=v) for v in ("b", "bz", "d", 5)],
        [True, True, False, False],
    ),
    ("comparison-lexicographic", "@a:>m", [attrs(a="n"), attrs(a="a")], [True, False]),
    ("comparison-exponent", "@a:>=1E3", [attrs(a=1000), attrs(a=999)], [True, False]),
    ("comparison-negative", "@a:>-5", [attrs(a=-4), attrs(a=-5)], [True, False]),
    ("comparison-missing-is-false", "@a:<5", [attrs(b=1)], [False]),
    ("comparison-array-any-element", "@a:>5", [attrs(a=[1, 9]), attrs(a=[1, 2])], [True, False]),
    # -- tags -----------------------------------------------------------------------------------
    (
        "tag-key-star-is-exists",
        "env:*",
        [tagged("env:prod"), tagged("env"), tagged("environment:x")],
        [True, True, False],
    ),
    (
        "tag-exists",
        "_exists_:env",
        [tagged("env:prod"), tagged("env"), tagged("environment:x")],
        [True, True, False],
    ),
    ("tag-query-lowercased", "ENV:PROD", [tagged("env:prod"), tagged("Env:Prod")], [True, True]),
    ("tag-wildcard-value", "env:pr*", [tagged("env:prod"), tagged("env:dev")], [True, False]),
    ("tag-wildcard-suffix", "env:*od", [tagged("env:prod"), tagged("env:dev")], [True, False]),
    ("tags-star", "tags:*", [tagged("a"), tagged()], [True, False]),
    ("tags-whole-element", 'tags:"env:prod"', [tagged("env:prod"), tagged("env")], [True, False]),
    ("tags-wildcard", "tags:cloud*", [tagged("cloudfoundry"), tagged("x:cloud")], [True, False]),
    ("tag-value-with-colon", "kube:ns\\:x", [tagged("kube:ns:x")], [True]),
    (
        "exists-reserved-host",
        "_exists_:host",
        [{"host": "h"}, tagged("host:h"), {}],
        [True, False, False],
    ),
    ("reserved-not-tag", "host:foo", [{"host": "foo"}, tagged("host:foo")], [True, False]),
    (
        "ddsource-alias",
        "ddsource:nginx",
        [{"source": "nginx"}, {"source": "apache"}],
        [True, False],
    ),
    (
        "status-query-lowercased",
        "status:ERROR",
        [{"status": "Error"}, {"status": "warn"}],
        [True, False],
    ),
    (
        "reserved-case-sensitive",
        "service:API",
        [{"service": "api"}, {"service": "API"}],
        [False, True],
    ),
    # -- existence -------------------------------------------------------------------------------
    ("null-is-missing", "_exists_:@a", [attrs(a=None), attrs(a="")], [False, True]),
    ("empty-array-present", "@a:*", [attrs(a=[]), attrs(b=1)], [True, False]),
    ("empty-object-present", "_exists_:@a", [attrs(a={}), attrs(b=1)], [True, False]),
    (
        "object-present-through-leaves",
        "_exists_:@usr",
        [attrs(usr={"id": "x"}), attrs(usrx=1)],
        [True, False],
    ),
    ("missing-attribute", "_missing_:@a", [attrs(a=1), attrs(b=1)], [False, True]),
    ("empty-string-value", '@a:""', [attrs(a=""), attrs(a="x")], [True, False]),
    (
        "negation-is-complement",
        "-@a:x",
        [attrs(a="x"), attrs(a="y"), attrs(b=1)],
        [False, True, True],
    ),
    (
        "cidr-negation-is-complement",
        "-CIDR(@ip, 10.0.0.0/8)",
        [attrs(ip="10.0.0.1"), attrs(b=1)],
        [False, True],
    ),
    # -- paths (§1.2) ----------------------------------------------------------------------------
    (
        "nested-arrays-flattened",
        "@a:3",
        [attrs(a=[[1, 2], [3]]), attrs(a=[[1], [2]])],
        [True, False],
    ),
    ("array-of-objects", "@a.b:x", [attrs(a=[{"b": "y"}, {"b": "x"}])], [True]),
    (
        "quoted-key-with-dot",
        '@"a.b":x',
        [{"attributes": {"a.b": "x"}}, attrs(a={"b": "x"})],
        [True, False],
    ),
    (
        "no-fallback-to-flat-key",
        "@a.b:x",
        [{"attributes": {"a.b": "x"}}, attrs(a={"b": "x"})],
        [False, True],
    ),
    ("mixed-quoted-path", '@a."b.c".d:x', [attrs(a={"b.c": {"d": "x"}})], [True]),
    ("case-sensitive-values", "@usr.id:alice", [attrs(usr={"id": "ALICE"})], [False]),
    # -- free text (§2.4, §2.11) -----------------------------------------------------------------
    (
        "free-word-boundaries",
        "hello",
        [msg("Hello, world"), msg("say hello"), msg("helloworld"), msg("hello_world")],
        [True, True, False, False],
    ),
    (
        "free-punctuated-term-is-phrase",
        "hello\\-world",
        [msg("hello world"), msg("Hello-World"), msg("world hello")],
        [True, True, False],
    ),
    ("free-no-word-characters", "\\-\\-", [msg("--"), msg("a -- b")], [False, False]),
    ("free-phrase-no-word-characters", '"!!"', [msg("!!")], [False]),
    ("free-reads-only-strings", "200", [attrs(title=200), msg("code 200")], [False, True]),
    (
        "free-default-fields",
        "boom",
        [
            attrs(error={"message": "boom"}),
            attrs(error={"stack": "at boom()"}),
            attrs(title="Boom"),
            attrs(other="boom"),
        ],
        [True, True, True, False],
    ),
    (
        "free-terms-anded-any-order",
        "world hello",
        [msg("hello big world"), msg("hello")],
        [True, False],
    ),
    (
        "free-prefix-per-token",
        "web*",
        [msg("the webserver"), msg("my-web"), msg("cobweb")],
        [True, True, False],
    ),
    ("free-suffix-per-token", "*web", [msg("cobweb"), msg("webby")], [True, False]),
    (
        "free-infix-case-insensitive",
        "*NETWORK*",
        [msg("subnetworks up"), msg("net work")],
        [True, False],
    ),
    (
        "free-wildcard-no-token-span",
        "hel*rld",
        [msg("hello world"), msg("helloworld")],
        [False, True],
    ),
    ("free-question-one-word-char", "h?llo", [msg("hallo"), msg("h-llo")], [True, False]),
    (
        "free-wildcard-with-punctuation",
        "foo-bar*",
        [msg("foo barbaz"), msg("foobar")],
        [True, False],
    ),
    ("free-phrase-unicode-case", '"ÉCOLE ouverte"', [msg("école, ouverte")], [True]),
    ("free-star-matches-all", "*", [msg("x"), {}], [True, True]),
    (
        "free-comparison-numeric-tokens",
        ">100",
        [msg("took 250 ms"), msg("took 50 ms"), msg("v1000x")],
        [True, False, False],
    ),
    ("free-range-decimal-token", "[2 TO 3]", [msg("took 2.5 s"), msg("took 4 s")], [True, False]),
    ("free-range-non-numeric-bound", "[a TO c]", [msg("b")], [False]),
    (
        "free-range-any-number",
        "[* TO *]",
        [msg("1"), msg("took 2.5 s"), msg("one"), {}],
        [True, True, False, False],
    ),
    ("free-range-any-number-not", "NOT [* TO *]", [msg("1"), msg("one"), {}], [False, True, True]),
    ("free-range-any-number-minus", "-[* TO *]", [msg("1"), msg("one")], [False, True]),
    ("free-range-any-number-exclusive", "{* TO *}", [msg("v 7"), msg("v")], [True, False]),
    ("free-list-column", "boom", [attrs(error={"message": ["ok", "Boom!"]})], [True]),
    # -- full text (§2.5) -----------------------------------------------------------------------
    (
        "full-text-any-attribute",
        "*:hello",
        [attrs(a={"b": "Hello there"}), msg("hello"), {"host": "hello"}, attrs(a="bye")],
        [True, True, True, False],
    ),
    ("full-text-prefix", "*:hel*", [attrs(x="Helsinki")], [True]),
    ("full-text-phrase", '*:"hello world"', [attrs(x="Hello, World")], [True]),
    (
        "full-text-then-free-text",
        "*:hello world",
        [attrs(x="hello", y="world"), {"message": "world", "attributes": {"x": "hello"}}],
        [False, True],
    ),
    ("full-text-star", "*:*", [{}, msg("x")], [True, True]),
    ("full-text-only-strings", "*:200", [attrs(x=200), attrs(y="200")], [False, True]),
    (
        "full-text-number-in-a-mixed-column",
        "*:404",
        [attrs(http={"status_code": 404}), attrs(http={"status_code": "404"}), attrs(a="x")],
        [False, True, False],
    ),
    (
        "full-text-number-in-a-mixed-array",
        "*:404",
        [attrs(a=[404, "x"]), attrs(a=["404", 1]), msg("404")],
        [False, True, True],
    ),
    ("full-text-boolean-is-not-text", "*:true", [attrs(a=True), attrs(a="true")], [False, True]),
    (
        "full-text-range-reads-strings",
        "*:[400 TO 500]",
        [attrs(a=404), attrs(a="got 404"), attrs(a="x")],
        [False, True, False],
    ),
    # -- grouped values ------------------------------------------------------------------------
    ("group-and", '@a:("x" AND "y")', [attrs(a=["x", "y"]), attrs(a="x")], [True, False]),
    ("group-implicit-and", "@a:(x y)", [attrs(a=["x", "y"]), attrs(a="x")], [True, False]),
    ("group-negation", "@a:(-x)", [attrs(a="x"), attrs(a="y")], [False, True]),
    ("group-nested", "@a:((x OR y) OR (z))", [attrs(a="z"), attrs(a="w")], [True, False]),
    (
        "group-comparison",
        "@a:(>5 OR <1)",
        [attrs(a=6), attrs(a=3), attrs(a=0)],
        [True, False, True],
    ),
    ("group-star-is-exists", "@a:(*)", [attrs(a=1), attrs(b=1)], [True, False]),
    ("group-exists", "_exists_:(a OR b)", [tagged("b:1"), tagged("c:1")], [True, False]),
    ("group-full-text", "*:(foo OR bar)", [attrs(x="bar"), attrs(x="baz")], [True, False]),
    # -- calculated fields -----------------------------------------------------------------------
    ("calculated-missing-column", "#calc:5", [attrs(calc=5)], [False]),
]


@pytest.mark.parametrize(
    ("query", "events", "expected"),
    [(query, events, expected) for _, query, events, expected in DECISIONS],
    ids=[name for name, _, _, _ in DECISIONS],
)
def test_decision(query: str, events: list[dict[str, Any]], expected: list[bool]) -> None:
    assert match(query, events) == expected


def test_tag_key_star_parses_to_exists() -> None:
    assert parse("env:*") == parse("_exists_:env")


def test_attribute_star_parses_to_exists() -> None:
    assert parse("@a:*") == parse("_exists_:@a")


def test_tags_field_star_is_any_tag() -> None:
    assert str(parse("tags:*")) == "tags:*"


def test_ddsource_alias_parses_to_source() -> None:
    assert parse("ddsource:x") == parse("source:x")


def test_full_text_then_free_text_grammar_wins() -> None:
    assert parse("*:hello world") == parse("*:hello AND world")


def test_full_text_reads_only_strings_across_archive_files(tmp_path: Path) -> None:
    # the first file stores @http.status_code as a number, the second as text: the archive reads
    # both as text, and the number 404 must still not match `*:404`
    for name, code in (("numbers", 404), ("strings", "404")):
        source = tmp_path / f"{name}.ndjson"
        event = {"id": name, "timestamp": "2024-03-04T10:00:00Z", "attributes": {"http": {}}}
        event["attributes"]["http"]["status_code"] = code
        source.write_text(json.dumps(event))
        ingest(source, tmp_path / "archive")
    found = search("*:404", str(tmp_path / "archive"))
    assert found["id"].to_list() == ["strings"]
