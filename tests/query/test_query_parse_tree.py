"""Parse trees: precedence (SPEC §2.2), field kinds (§2.3), spans and re-rendering."""

from __future__ import annotations

import pytest

from engine.query import (
    And,
    Cidr,
    Comparison,
    Exists,
    Field,
    FieldKind,
    FieldMatch,
    FreeText,
    FullText,
    MatchAll,
    Node,
    Not,
    Or,
    Phrase,
    Range,
    Term,
    parse,
    to_query,
)


def free(text: str) -> FreeText:
    return FreeText(Term(text))


def attribute(*path: str) -> Field:
    return Field(FieldKind.ATTRIBUTE, "@" + ".".join(path), tuple(path))


def at(path: str, text: str) -> FieldMatch:
    return FieldMatch(attribute(*path.split(".")), Term(text))


A, B, C = free("a"), free("b"), free("c")

PRECEDENCE: list[tuple[str, str, Node]] = [
    ("or-binds-loosest", "a OR b c", Or((A, And((B, C))))),
    ("explicit-and-like-juxtaposition", "a OR b AND c", Or((A, And((B, C))))),
    ("and-before-or", "a b OR c", Or((And((A, B)), C))),
    ("not-binds-tightest", "NOT a b", And((Not(A), B))),
    ("minus-negates-group", "-(a b)", Not(And((A, B)))),
    ("negated-disjuncts", "-@f1:v1 OR -@f2:v2", Or((Not(at("f1", "v1")), Not(at("f2", "v2"))))),
    ("plus-is-ignored", "+a", A),
    ("plus-before-clause-in-and", "a +b", And((A, B))),
    ("symbols", "a && b || c", Or((And((A, B)), C))),
    ("mixed-symbols-and-words", "a || b && c", Or((A, And((B, C))))),
    ("parentheses-override", "(a OR b) c", And((Or((A, B)), C))),
    ("not-or", "NOT a OR b", Or((Not(A), B))),
    ("not-group", "NOT (a OR b)", Not(Or((A, B)))),
    ("double-negation-cancels", "NOT -a", A),
    ("nested-and-flattened", "(a b) c", And((A, B, C))),
    ("nested-or-flattened", "a OR (b OR c)", Or((A, B, C))),
    (
        "grouped-values-inherit-field",
        "@a:(x OR y z)",
        Or((at("a", "x"), And((at("a", "y"), at("a", "z"))))),
    ),
    ("grouped-values-negated", "-@a:(x OR y)", Not(Or((at("a", "x"), at("a", "y"))))),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [(query, node) for _, query, node in PRECEDENCE],
    ids=[name for name, _, _ in PRECEDENCE],
)
def test_precedence(query: str, expected: Node) -> None:
    assert parse(query) == expected


FIELDS: list[tuple[str, str, Node]] = [
    ("attribute", "@usr.id:x", FieldMatch(attribute("usr", "id"), Term("x"))),
    (
        "attribute-quoted-segment",
        '@"a.b":x',
        FieldMatch(Field(FieldKind.ATTRIBUTE, '@"a.b"', ("a.b",)), Term("x")),
    ),
    (
        "attribute-escaped-dot",
        "@a\\.b:x",
        FieldMatch(Field(FieldKind.ATTRIBUTE, '@"a.b"', ("a.b",)), Term("x")),
    ),
    ("attribute-dash", "@detail-type:x", FieldMatch(attribute("detail-type"), Term("x"))),
    ("reserved", "host:x", FieldMatch(Field(FieldKind.RESERVED, "host"), Term("x"))),
    ("reserved-alias", "ddsource:x", FieldMatch(Field(FieldKind.RESERVED, "source"), Term("x"))),
    ("tag-key-lowercased", "Env:Prod", FieldMatch(Field(FieldKind.TAG, "env"), Term("Prod"))),
    ("tags", "tags:x", FieldMatch(Field(FieldKind.TAGS, "tags"), Term("x"))),
    ("calculated", "#dur:>5", FieldMatch(Field(FieldKind.CALCULATED, "dur"), Comparison(">", "5"))),
    ("exists-attribute", "_exists_:@b", Exists(attribute("b"))),
    ("exists-tag", "_exists_:a", Exists(Field(FieldKind.TAG, "a"))),
    ("missing", "_missing_:@b", Not(Exists(attribute("b")))),
    ("star-value-is-exists", "@b:*", Exists(attribute("b"))),
    ("match-all", "*", MatchAll()),
    ("match-all-field", "*:*", MatchAll()),
    ("full-text", "*:hello", FullText(Term("hello"))),
    ("full-text-phrase", '*:"a b"', FullText(Phrase("a b"))),
    ("range", "@a:{1 TO *}", FieldMatch(attribute("a"), Range("1", None, False, False))),
    ("range-quoted-bound", '@a:["a b" TO z]', FieldMatch(attribute("a"), Range("a b", "z"))),
    ("range-escaped-star-bound", "@a:[\\* TO z]", FieldMatch(attribute("a"), Range("*", "z"))),
    ("free-range", "[1 TO 2]", FreeText(Range("1", "2"))),
    ("free-comparison", "<=3", FreeText(Comparison("<=", "3"))),
    (
        "cidr",
        "CIDR(@ip, 10.1.2.3/8,  fe80::1/10)",
        Cidr(attribute("ip"), ("10.0.0.0/8", "fe80::/10")),
    ),
    (
        "cidr-reserved-field",
        "CIDR(host,10.0.0.0/8)",
        Cidr(Field(FieldKind.RESERVED, "host"), ("10.0.0.0/8",)),
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [(query, node) for _, query, node in FIELDS],
    ids=[name for name, _, _ in FIELDS],
)
def test_field_kinds(query: str, expected: Node) -> None:
    assert parse(query) == expected


def test_field_columns() -> None:
    assert attribute("usr", "id").column == "@usr.id"
    assert Field(FieldKind.ATTRIBUTE, '@"a.b"', ("a.b",)).column == '@"a.b"'
    assert Field(FieldKind.TAG, "env").column == "tags"
    assert Field(FieldKind.TAGS, "tags").column == "tags"
    assert Field(FieldKind.RESERVED, "host").column == "host"
    assert Field(FieldKind.CALCULATED, "dur").column == "#dur"


def test_spans_point_into_the_query() -> None:
    query = "service:web  -@usr.id:bob"
    node = parse(query)
    assert isinstance(node, And)
    first, second = node.children
    assert query[slice(*first.span)] == "service:web"
    assert query[slice(*second.span)] == "-@usr.id:bob"
    assert isinstance(second, Not)
    assert isinstance(second.child, FieldMatch)
    assert query[slice(*second.child.field.span)] == "@usr.id"


def test_equality_ignores_spans() -> None:
    assert parse("a   b") == parse("a b")
    assert parse("a   b").children[1].span != parse("a b").children[1].span  # type: ignore[union-attr]


RENDERED: list[tuple[str, str]] = [
    ("a OR b c", "a OR b AND c"),
    ("-(a OR b) c", "NOT (a OR b) AND c"),
    ("@a:(x OR y)", "@a:x OR @a:y"),
    ("env:prod", "env:prod"),
    ('@"a.b".c:"x y"', '@"a.b".c:"x y"'),
    ("@a:hello\\:world", "@a:hello\\:world"),
    ("_missing_:@a", "NOT _exists_:@a"),
    ("-_missing_:@a", "NOT (NOT _exists_:@a)"),
    ("@a:[1 TO *]", "@a:[1 TO *]"),
    ("CIDR(@ip,10.1.0.0/16)", "CIDR(@ip, 10.1.0.0/16)"),
    ("\\AND", "\\AND"),
]


@pytest.mark.parametrize(("query", "rendered"), RENDERED, ids=[query for query, _ in RENDERED])
def test_to_query_renders_and_round_trips(query: str, rendered: str) -> None:
    node = parse(query)
    assert to_query(node) == rendered
    assert parse(rendered) == node


@pytest.mark.parametrize(
    "query_text",
    ["_EXISTS_:0", "_Missing_:env", '_exists_:""', '_exists_:""0', "@a:x _exists_:b"],
    ids=["upper-exists", "mixed-missing", "empty-name", "empty-name-then-term", "mixed"],
)
def test_existence_queries_render_back_to_the_same_tree(query_text: str) -> None:
    tree = parse(query_text)
    assert parse(str(tree)) == tree
