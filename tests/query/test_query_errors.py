"""Every parse error is a `QuerySyntaxError` with the exact reason, line, column, caret and hint.

Each row: an id, the query, the full rendered message (`str(err)`, one line per tuple item) and
(line, column, caret width).
"""

# ruff: noqa: E501 - the expected messages are quoted verbatim, one rendered line per item

from __future__ import annotations

import pytest

from engine.core.errors import QuerySyntaxError
from engine.query import compile_query, parse

ERRORS: list[tuple[str, str, tuple[str, ...], tuple[int, int, int]]] = [
    (
        "empty",
        "",
        (
            "invalid query at line 1, column 1: the query is empty",
            "  ",
            "  ^",
            "hint: use * to match all logs",
        ),
        (1, 1, 1),
    ),
    (
        "blank",
        " \t\n",
        (
            "invalid query at line 1, column 1: the query is empty",
            "   \t",
            "  ^^",
            "hint: use * to match all logs",
        ),
        (1, 1, 2),
    ),
    (
        "unclosed-paren",
        "(a OR b",
        (
            "invalid query at line 1, column 1: unbalanced parenthesis: this '(' is never closed",
            "  (a OR b",
            "  ^",
            "hint: add the missing ')'; escape a literal parenthesis as \\(",
        ),
        (1, 1, 1),
    ),
    (
        "unclosed-inner-paren",
        "a (b (c) d",
        (
            "invalid query at line 1, column 3: unbalanced parenthesis: this '(' is never closed",
            "  a (b (c) d",
            "    ^",
            "hint: add the missing ')'; escape a literal parenthesis as \\(",
        ),
        (1, 3, 1),
    ),
    (
        "stray-paren",
        "a OR b)",
        (
            "invalid query at line 1, column 7: unbalanced parenthesis: this ')' has no matching '('",
            "  a OR b)",
            "        ^",
            "hint: remove the ')' or add the missing '('; escape a literal parenthesis as \\)",
        ),
        (1, 7, 1),
    ),
    (
        "unterminated-quote",
        'service:web "hello',
        (
            "invalid query at line 1, column 13: unterminated quoted phrase: this '\"' is never closed",
            '  service:web "hello',
            "              ^",
            'hint: close the phrase with a second "; escape a literal quote as \\"',
        ),
        (1, 13, 1),
    ),
    (
        "curly-quotes",
        "“hello”",
        (
            "invalid query at line 1, column 1: curly quotes are not phrase delimiters",
            "  “hello”",
            "  ^",
            'hint: use straight double quotes ("hello world") for a phrase, or escape it (\\“)',
        ),
        (1, 1, 1),
    ),
    (
        "dangling-and-end",
        "a AND",
        (
            "invalid query at line 1, column 3: dangling operator: 'AND' has no clause on its right",
            "  a AND",
            "    ^^^",
            "hint: add a clause after 'AND' or remove it",
        ),
        (1, 3, 3),
    ),
    (
        "dangling-or-start",
        "OR b",
        (
            "invalid query at line 1, column 1: dangling operator: 'OR' has no clause on its left",
            "  OR b",
            "  ^^",
            "hint: add a clause before 'OR' or remove it",
        ),
        (1, 1, 2),
    ),
    (
        "double-operator",
        "a AND OR b",
        (
            "invalid query at line 1, column 7: 'OR' cannot follow 'AND'",
            "  a AND OR b",
            "        ^^",
            "hint: put a clause between the two operators",
        ),
        (1, 7, 2),
    ),
    (
        "dangling-and-symbol",
        "a &&",
        (
            "invalid query at line 1, column 3: dangling operator: '&&' has no clause on its right",
            "  a &&",
            "    ^^",
            "hint: add a clause after '&&' or remove it",
        ),
        (1, 3, 2),
    ),
    (
        "dangling-not",
        "a NOT",
        (
            "invalid query at line 1, column 3: dangling operator: 'NOT' has nothing to negate",
            "  a NOT",
            "    ^^^",
            "hint: add the clause to negate right after 'NOT', or remove it",
        ),
        (1, 3, 3),
    ),
    (
        "dangling-in-group",
        "(a OR)",
        (
            "invalid query at line 1, column 4: dangling operator: 'OR' has no clause on its right",
            "  (a OR)",
            "     ^^",
            "hint: add a clause after 'OR' or remove it",
        ),
        (1, 4, 2),
    ),
    (
        "missing-value",
        "@http.status_code:",
        (
            "invalid query at line 1, column 1: missing value after '@http.status_code:'",
            "  @http.status_code:",
            "  ^^^^^^^^^^^^^^^^^^",
            "hint: add a value (@http.status_code:value), or use @http.status_code:* to test that the field exists",
        ),
        (1, 1, 18),
    ),
    (
        "missing-value-tag",
        "env:",
        (
            "invalid query at line 1, column 1: missing value after 'env:'",
            "  env:",
            "  ^^^^",
            "hint: add a value (env:value), or use env:* to test that the field exists",
        ),
        (1, 1, 4),
    ),
    (
        "space-after-colon",
        "env: prod",
        (
            "invalid query at line 1, column 5: a space after 'env:' is not allowed",
            "  env: prod",
            "      ^",
            "hint: write env:value with no space after ':', or quote a value that holds spaces: env:\"two words\"",
        ),
        (1, 5, 1),
    ),
    (
        "space-before-colon",
        "env :prod",
        (
            "invalid query at line 1, column 4: a space before ':' is not allowed",
            "  env :prod",
            "     ^",
            "hint: write env:value with no spaces around ':'",
        ),
        (1, 4, 1),
    ),
    (
        "mixed-brackets",
        "@a:[1 TO 5}",
        (
            "invalid query at line 1, column 11: mixed range brackets '[' and '}'",
            "  @a:[1 TO 5}",
            "            ^",
            "hint: use [low TO high] (both ends inclusive) or {low TO high} (both exclusive)",
        ),
        (1, 11, 1),
    ),
    (
        "mixed-brackets-curly-first",
        "@a:{1 TO 5]",
        (
            "invalid query at line 1, column 11: mixed range brackets '{' and ']'",
            "  @a:{1 TO 5]",
            "            ^",
            "hint: use [low TO high] (both ends inclusive) or {low TO high} (both exclusive)",
        ),
        (1, 11, 1),
    ),
    (
        "bang",
        "!error",
        (
            "invalid query at line 1, column 1: '!' cannot start a term",
            "  !error",
            "  ^",
            "hint: negate with NOT or a leading - (NOT @a:x, -@a:x); escape a literal ! as \\!",
        ),
        (1, 1, 1),
    ),
    (
        "bang-after-colon",
        "@a:!x",
        (
            "invalid query at line 1, column 4: '!' cannot start a term",
            "  @a:!x",
            "     ^",
            "hint: negate with NOT or a leading - (NOT @a:x, -@a:x); escape a literal ! as \\!",
        ),
        (1, 4, 1),
    ),
    (
        "wildcard-field",
        "service*:app",
        (
            "invalid query at line 1, column 1: wildcards are not allowed in field names",
            "  service*:app",
            "  ^^^^^^^^",
            "hint: name the field exactly; the only wildcard field is *:value (full-text search)",
        ),
        (1, 1, 8),
    ),
    (
        "wildcard-attribute",
        "@ser*:x",
        (
            "invalid query at line 1, column 1: wildcards are not allowed in field names",
            "  @ser*:x",
            "  ^^^^^",
            "hint: name the field exactly; the only wildcard field is *:value (full-text search)",
        ),
        (1, 1, 5),
    ),
    (
        "wildcard-exists-name",
        "_exists_:env*",
        (
            "invalid query at line 1, column 10: wildcards are not allowed in field names",
            "  _exists_:env*",
            "           ^^^^",
            "hint: name the field exactly; the only wildcard field is *:value (full-text search)",
        ),
        (1, 10, 4),
    ),
    (
        "field-in-group",
        "@a:(x OR @b:y)",
        (
            "invalid query at line 1, column 10: a field cannot be used inside the value group of '@a:'",
            "  @a:(x OR @b:y)",
            "           ^^",
            "hint: inside @a:( ... ) write only values, e.g. @a:(x OR y); to combine fields use (@a:x OR @b:y)",
        ),
        (1, 10, 2),
    ),
    (
        "cidr-in-group",
        "@a:(CIDR(@b, 1.2.3.4/8))",
        (
            "invalid query at line 1, column 5: a field cannot be used inside the value group of '@a:'",
            "  @a:(CIDR(@b, 1.2.3.4/8))",
            "      ^^^^^^^^^^^^^^^^^^^",
            "hint: inside @a:( ... ) write only values, e.g. @a:(x OR y); to combine fields use (@a:x OR @b:y)",
        ),
        (1, 5, 19),
    ),
    (
        "bad-cidr-block",
        "CIDR(@ip, 10.0.0.0/33)",
        (
            "invalid query at line 1, column 11: invalid CIDR block '10.0.0.0/33'",
            "  CIDR(@ip, 10.0.0.0/33)",
            "            ^^^^^^^^^^^",
            "hint: write an IPv4 or IPv6 network such as 10.0.0.0/8 or fe80::/10",
        ),
        (1, 11, 11),
    ),
    (
        "bad-cidr-text",
        "CIDR(@ip, 10.0.0.0/8, nope)",
        (
            "invalid query at line 1, column 23: invalid CIDR block 'nope'",
            "  CIDR(@ip, 10.0.0.0/8, nope)",
            "                        ^^^^",
            "hint: write an IPv4 or IPv6 network such as 10.0.0.0/8 or fe80::/10",
        ),
        (1, 23, 4),
    ),
    (
        "cidr-no-block",
        "CIDR(@ip)",
        (
            "invalid query at line 1, column 1: CIDR needs a field and at least one block",
            "  CIDR(@ip)",
            "  ^^^^^^^^^",
            "hint: write CIDR(@network.client.ip, 10.0.0.0/8[, more blocks])",
        ),
        (1, 1, 9),
    ),
    (
        "cidr-bad-field",
        "CIDR(hello world, 1.2.3.4)",
        (
            "invalid query at line 1, column 6: invalid CIDR field 'hello world'",
            "  CIDR(hello world, 1.2.3.4)",
            "       ^^^^^^^^^^^",
            "hint: the first CIDR argument names a field, e.g. CIDR(@network.client.ip, 10.0.0.0/8)",
        ),
        (1, 6, 11),
    ),
    (
        "empty-parens",
        "a ()",
        (
            "invalid query at line 1, column 3: empty parentheses",
            "  a ()",
            "    ^^",
            "hint: put a clause inside ( )",
        ),
        (1, 3, 2),
    ),
    (
        "unclosed-range",
        "@a:[1 TO",
        (
            "invalid query at line 1, column 4: range '[' is never closed",
            "  @a:[1 TO",
            "     ^",
            "hint: write [low TO high] (inclusive) or {low TO high} (exclusive)",
        ),
        (1, 4, 1),
    ),
    (
        "range-no-to",
        "@a:[1 5]",
        (
            "invalid query at line 1, column 7: a range needs TO between its bounds",
            "  @a:[1 5]",
            "        ^",
            "hint: write [low TO high] (inclusive) or {low TO high} (exclusive)",
        ),
        (1, 7, 1),
    ),
    (
        "range-extra",
        "@a:[1 TO 5 6]",
        (
            "invalid query at line 1, column 12: a range must end with ']' or '}' after its upper bound",
            "  @a:[1 TO 5 6]",
            "             ^",
            "hint: write [low TO high] (inclusive) or {low TO high} (exclusive)",
        ),
        (1, 12, 1),
    ),
    (
        "colon-in-value",
        "@a:b:c",
        (
            "invalid query at line 1, column 5: unexpected ':' after a value",
            "  @a:b:c",
            "      ^",
            'hint: escape a colon inside a value (a:b\\:c) or quote the value (a:"b:c")',
        ),
        (1, 5, 1),
    ),
    (
        "lonely-colon",
        ":a",
        (
            "invalid query at line 1, column 1: ':' must follow a field name",
            "  :a",
            "  ^",
            "hint: write field:value; escape a literal colon as \\:",
        ),
        (1, 1, 1),
    ),
    (
        "attribute-no-name",
        "@:x",
        (
            "invalid query at line 1, column 1: an attribute name is missing after '@'",
            "  @:x",
            "  ^",
            "hint: name the attribute, e.g. @http.status_code:200; escape a literal @ as \\@",
        ),
        (1, 1, 1),
    ),
    (
        "attribute-empty-segment",
        "@a..b:x",
        (
            "invalid query at line 1, column 1: empty attribute name segment",
            "  @a..b:x",
            "  ^^^^^",
            'hint: separate segments with single dots (@a.b.c); quote a key that holds dots: @"a.b"',
        ),
        (1, 1, 5),
    ),
    (
        "field-without-value",
        "@usr.id",
        (
            "invalid query at line 1, column 1: field '@usr.id' must be followed by ':' and a value",
            "  @usr.id",
            "  ^^^^^^^",
            "hint: write @usr.id:value, or @usr.id:* to test that it exists",
        ),
        (1, 1, 7),
    ),
    (
        "equals-after-a-field",
        "@evt.name=ConsoleLogin",
        (
            "invalid query at line 1, column 10: '=' cannot follow a field: a field and its value are separated by ':'",
            "  @evt.name=ConsoleLogin",
            "           ^",
            "hint: write @evt.name:ConsoleLogin",
        ),
        (1, 10, 1),
    ),
    (
        "equals-with-spaces-and-a-phrase",
        'source:okta @evt.name = "Console Login"',
        (
            "invalid query at line 1, column 23: '=' cannot follow a field: a field and its value are separated by ':'",
            '  source:okta @evt.name = "Console Login"',
            "                        ^",
            'hint: write @evt.name:"Console Login"',
        ),
        (1, 23, 1),
    ),
    (
        "double-equals-after-a-field",
        "@evt.name==ConsoleLogin",
        (
            "invalid query at line 1, column 10: '==' cannot follow a field: a field and its value are separated by ':'",
            "  @evt.name==ConsoleLogin",
            "           ^^",
            "hint: write @evt.name:ConsoleLogin",
        ),
        (1, 10, 2),
    ),
    (
        "not-equals-after-a-field",
        "@usr.id!=svc",
        (
            "invalid query at line 1, column 8: '!=' cannot follow a field: a field and its value are separated by ':'",
            "  @usr.id!=svc",
            "         ^^",
            "hint: write -@usr.id:svc",
        ),
        (1, 8, 2),
    ),
    (
        "comparison-after-a-field",
        "@http.status_code>=400",
        (
            "invalid query at line 1, column 18: '>=' cannot follow a field: a field and its value are separated by ':'",
            "  @http.status_code>=400",
            "                   ^^",
            "hint: write @http.status_code:>=400",
        ),
        (1, 18, 2),
    ),
    (
        "dangling-escape",
        "abc\\",
        (
            "invalid query at line 1, column 4: the query ends with an escape character '\\'",
            "  abc\\",
            "     ^",
            "hint: escape a literal backslash as \\\\",
        ),
        (1, 4, 1),
    ),
    (
        "value-starts-with-at",
        "@a:@b",
        (
            "invalid query at line 1, column 4: a value cannot start with '@'",
            "  @a:@b",
            "     ^^",
            "hint: escape it (\\@b) or quote the value",
        ),
        (1, 4, 2),
    ),
    (
        "space-after-minus",
        "- a",
        (
            "invalid query at line 1, column 1: '-' must be directly followed by the clause it applies to",
            "  - a",
            "  ^^",
            "hint: write -term without a space; escape a literal - as \\-",
        ),
        (1, 1, 2),
    ),
    (
        "space-after-comparison",
        "@a:>= 5",
        (
            "invalid query at line 1, column 6: a space after '>=' is not allowed",
            "  @a:>= 5",
            "       ^",
            "hint: write >=5 with no space",
        ),
        (1, 6, 1),
    ),
    (
        "comparison-no-value",
        "@a:>",
        (
            "invalid query at line 1, column 4: comparison '>' has no value",
            "  @a:>",
            "     ^",
            "hint: compare with a number or text, e.g. @duration:>1000",
        ),
        (1, 4, 1),
    ),
    (
        "exists-range",
        "_exists_:[1 TO 2]",
        (
            "invalid query at line 1, column 10: _exists_ takes a field name, not a comparison or range",
            "  _exists_:[1 TO 2]",
            "           ^^^^^^^^",
            "hint: write _exists_:@attribute or _exists_:tag_key",
        ),
        (1, 10, 8),
    ),
    (
        "equals-start",
        "=a",
        (
            "invalid query at line 1, column 1: '=' cannot start a term here",
            "  =a",
            "  ^",
            "hint: escape special characters with \\ (e.g. \\=) or quote the value",
        ),
        (1, 1, 1),
    ),
    (
        "calculated-no-name",
        "#:x",
        (
            "invalid query at line 1, column 1: a calculated field name is missing after '#'",
            "  #:x",
            "  ^",
            "hint: name the calculated field, e.g. #duration_s:>10; escape a literal # as \\#",
        ),
        (1, 1, 1),
    ),
    (
        "multiline-dangling",
        "source:auth\n  AND",
        (
            "invalid query at line 2, column 3: dangling operator: 'AND' has no clause on its right",
            "    AND",
            "    ^^^",
            "hint: add a clause after 'AND' or remove it",
        ),
        (2, 3, 3),
    ),
    (
        "multiline-caret",
        "source:auth\n@a:[1 TO 2}\nservice:x",
        (
            "invalid query at line 2, column 11: mixed range brackets '[' and '}'",
            "  @a:[1 TO 2}",
            "            ^",
            "hint: use [low TO high] (both ends inclusive) or {low TO high} (both exclusive)",
        ),
        (2, 11, 1),
    ),
    (
        "multiline-tab",
        "a\n\t@b: x",
        (
            "invalid query at line 2, column 5: a space after '@b:' is not allowed",
            "  \t@b: x",
            "  \t   ^",
            "hint: write @b:value with no space after ':', or quote a value that holds spaces: @b:\"two words\"",
        ),
        (2, 5, 1),
    ),
    (
        "multiline-unclosed",
        "(a\nOR b",
        (
            "invalid query at line 1, column 1: unbalanced parenthesis: this '(' is never closed",
            "  (a",
            "  ^",
            "hint: add the missing ')'; escape a literal parenthesis as \\(",
        ),
        (1, 1, 1),
    ),
    (
        "multiline-quote",
        'a\nb "c\nd',
        (
            "invalid query at line 2, column 3: unterminated quoted phrase: this '\"' is never closed",
            '  b "c',
            "    ^",
            'hint: close the phrase with a second "; escape a literal quote as \\"',
        ),
        (2, 3, 1),
    ),
    (
        "multiline-crlf",
        "a\r\nOR",
        (
            "invalid query at line 2, column 1: dangling operator: 'OR' has no clause on its right",
            "  OR",
            "  ^^",
            "hint: add a clause after 'OR' or remove it",
        ),
        (2, 1, 2),
    ),
]


@pytest.mark.parametrize(
    ("query", "rendered", "position"),
    [(query, rendered, position) for _, query, rendered, position in ERRORS],
    ids=[name for name, _, _, _ in ERRORS],
)
def test_error_message(
    query: str, rendered: tuple[str, ...], position: tuple[int, int, int]
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    error = caught.value
    assert str(error) == "\n".join(rendered)
    assert (error.line, error.column, error.width) == position
    assert error.query == query


def test_errors_are_value_errors_too() -> None:
    with pytest.raises(ValueError, match="dangling operator"):
        parse("a AND")


def test_compile_query_text_raises_the_same_error() -> None:
    with pytest.raises(QuerySyntaxError, match="mixed range brackets"):
        compile_query("@a:[1 TO 2}", {})


def test_reason_and_hint_attributes() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse("env: prod")
    assert caught.value.reason == "a space after 'env:' is not allowed"
    assert caught.value.hint is not None
    assert "env:value" in caught.value.hint


@pytest.mark.parametrize("query", [42, None, ["a"], b"a"], ids=["int", "none", "list", "bytes"])
def test_non_text_query_is_a_syntax_error(query: object) -> None:
    with pytest.raises(QuerySyntaxError, match="a query must be text"):
        parse(query)  # type: ignore[arg-type]


def test_very_deep_nesting_is_reported() -> None:
    query = "(" * 150 + "a" + ")" * 150
    with pytest.raises(QuerySyntaxError, match="nested more than 100 deep"):
        parse(query)


def test_long_chains_of_negation_parse() -> None:
    assert parse("NOT " * 2000 + "a") == parse("a")
