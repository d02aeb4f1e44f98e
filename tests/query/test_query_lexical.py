"""SPEC §2.1 lexical rules, one table row per rule: the parsed tree, and where useful a match."""

from __future__ import annotations

import pytest
from query_cases import attrs, msg

from engine.match import match
from engine.query import (
    And,
    Comparison,
    Field,
    FieldKind,
    FieldMatch,
    FreeText,
    Glob,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    Wildcard,
    parse,
)

STAR, ONE = Glob.STAR, Glob.ONE


def free(text: str) -> FreeText:
    return FreeText(Term(text))


def attr(path: str, value: Term | Phrase | Wildcard | Comparison) -> FieldMatch:
    segments = tuple(path.split("."))
    return FieldMatch(Field(FieldKind.ATTRIBUTE, "@" + path, segments), value)


def tag(key: str, value: Term | Wildcard) -> FieldMatch:
    return FieldMatch(Field(FieldKind.TAG, key), value)


def reserved(name: str, value: Term | Wildcard) -> FieldMatch:
    return FieldMatch(Field(FieldKind.RESERVED, name), value)


LEXICAL: list[tuple[str, str, Node]] = [
    # Terms: runs of non-special characters; - + = allowed inside, not at the start.
    ("term", "hello", free("hello")),
    ("term-inner-minus", "web-01", free("web-01")),
    ("term-inner-plus-equals", "a+b=c", free("a+b=c")),
    ("term-unicode", "café", free("café")),
    ("term-slash-not-special", "@a:va/lue", attr("a", Term("va/lue"))),
    (
        "term-inner-at-and-hash",
        "@usr.email:john@example.com#x",
        attr("usr.email", Term("john@example.com#x")),
    ),
    ("term-single-ampersand-and-pipe", "a&b|c", free("a&b|c")),
    ("term-tilde-caret-unescaped", "@a:^x~y^", attr("a", Term("^x~y^"))),
    ("term-tilde-caret-escaped", "@a:\\^x\\~y", attr("a", Term("^x~y"))),
    ("term-bang-inside-value", "message:*!*", reserved("message", Wildcard((STAR, "!", STAR)))),
    ("term-bang-inside-term", "hey!", free("hey!")),
    # Phrases: straight double quotes; * and ? literal inside; \" escapes a quote.
    ("phrase", '"hello world"', FreeText(Phrase("hello world"))),
    ("phrase-literal-wildcards", '"*test?"', FreeText(Phrase("*test?"))),
    ("phrase-escaped-quote", '"say \\"hi\\""', FreeText(Phrase('say "hi"'))),
    ("phrase-keeps-newline", '"a\nb"', FreeText(Phrase("a\nb"))),
    ("phrase-value", '@a:"hello:world"', attr("a", Phrase("hello:world"))),
    ("curly-quotes-escaped-are-text", "\\\u201cx\\\u201d", free("\u201cx\u201d")),
    # Escapes keep the next character verbatim.
    ("escape-ampersands", "@a:va\\&&lue", attr("a", Term("va&&lue"))),
    ("escape-colon", "@a:hello\\:world", attr("a", Term("hello:world"))),
    ("escape-space", "@a:va\\ lue", attr("a", Term("va lue"))),
    ("escape-leading-minus", "\\-a", free("-a")),
    ("escape-star-is-literal", "@a:x\\*", attr("a", Term("x*"))),
    ("escape-question-is-literal", "@a:x\\?", attr("a", Term("x?"))),
    ("escape-backslash", "@a:x\\\\y", attr("a", Term("x\\y"))),
    ("escape-keyword", "\\AND", free("AND")),
    ("escape-ordinary-letter", "\\APN\\/x", free("APN/x")),
    # Wildcards, unquoted only: * any run, ? one character, anywhere in the value.
    ("wildcard-suffix", "service:web*", reserved("service", Wildcard(("web", STAR)))),
    ("wildcard-prefix", "service:*mongo", reserved("service", Wildcard((STAR, "mongo")))),
    ("wildcard-both", "*NETWORK*", FreeText(Wildcard((STAR, "NETWORK", STAR)))),
    ("wildcard-many", "@a:*b*la*", attr("a", Wildcard((STAR, "b", STAR, "la", STAR)))),
    ("wildcard-one", "@usr.id:Alic?", attr("usr.id", Wildcard(("Alic", ONE)))),
    ("wildcard-mixed-escape", "@a:\\**", attr("a", Wildcard(("*", STAR)))),
    # Boolean keywords are case-sensitive; lower-case ones are terms.
    ("keyword-and", "a AND b", And((free("a"), free("b")))),
    ("keyword-or", "a OR b", Or((free("a"), free("b")))),
    ("keyword-not", "NOT a", Not(free("a"))),
    ("keyword-lowercase-terms", "a and b", And((free("a"), free("and"), free("b")))),
    ("keyword-lowercase-or-not", "or not", And((free("or"), free("not")))),
    (
        "keyword-prefix-is-term",
        "NOTE ANDROID ORacle",
        And((free("NOTE"), free("ANDROID"), free("ORacle"))),
    ),
    ("keyword-as-value", "@a:NOT", attr("a", Term("NOT"))),
    ("keyword-as-tag-value", "x:AND", tag("x", Term("AND"))),
    ("keyword-and-symbol", "a && b", And((free("a"), free("b")))),
    ("keyword-or-symbol", "a || b", Or((free("a"), free("b")))),
    ("keyword-symbols-end-terms", "a&&b||c", Or((And((free("a"), free("b"))), free("c")))),
    ("minus-negates", "-a", Not(free("a"))),
    ("plus-ignored", "+a", free("a")),
    ("not-before-group-without-space", "NOT(a)", Not(free("a"))),
    # Whitespace: space, tab, CR and LF all separate tokens.
    ("whitespace-tab", "a\tb", And((free("a"), free("b")))),
    ("whitespace-crlf", "a\r\nb", And((free("a"), free("b")))),
    ("whitespace-newlines-in-parens", "(\n a\n OR\n b\n)", Or((free("a"), free("b")))),
    ("whitespace-leading-trailing", "  a  ", free("a")),
    # Numbers: negative and exponent literals in comparisons; a negative value after a colon.
    ("comparison-negative", "@f:>-5", attr("f", Comparison(">", "-5"))),
    ("comparison-exponent", "@f:>=1E3", attr("f", Comparison(">=", "1E3"))),
    ("negative-number-value", "@delta:-5", attr("delta", Term("-5"))),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [(query, node) for _, query, node in LEXICAL],
    ids=[name for name, _, _ in LEXICAL],
)
def test_lexical_rule_parses_to(query: str, expected: Node) -> None:
    assert parse(query) == expected


MATCHES: list[tuple[str, str, dict[str, object], bool]] = [
    ("escaped-ampersands", "@a:va\\&&lue", attrs(a="va&&lue"), True),
    ("bang-wildcard-in-message", "message:*!*", msg("Hello!"), True),
    ("bang-wildcard-miss", "message:*!*", msg("Hello"), False),
    ("phrase-literal-star", '@a:"*test*"', attrs(a="*test*"), True),
    ("phrase-literal-star-miss", '@a:"*test*"', attrs(a="contest"), False),
    ("star-matches-empty", "@a:ab*", attrs(a="ab"), True),
    ("question-needs-one-char", "@a:ab?", attrs(a="ab"), False),
    ("star-spans-newlines", "@a:first*last", attrs(a="first\nmiddle\nlast"), True),
    ("question-matches-newline", "@a:a?b", attrs(a="a\nb"), True),
    ("regex-metacharacters-are-literal", "@a:a.b*", attrs(a="axb"), False),
    ("regex-metacharacters-literal-hit", "@a:(a\\.b\\+c*)", attrs(a="a.b+cde"), True),
    ("lowercase-and-is-a-term", "hello and", msg("hello there"), False),
    ("negative-number-value", "@delta:-5", attrs(delta=-5), True),
    ("negative-number-value-float", "@delta:-5", attrs(delta=-5.0), True),
]


@pytest.mark.parametrize(
    ("query", "event", "expected"),
    [(query, event, hit) for _, query, event, hit in MATCHES],
    ids=[name for name, _, _, _ in MATCHES],
)
def test_lexical_rule_matches(query: str, event: dict[str, object], expected: bool) -> None:
    assert match(query, [event]) == [expected]
