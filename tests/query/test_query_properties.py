"""Property tests: parsing never fails with anything but `QuerySyntaxError`, trees re-render, and
the polars matchers agree with straightforward Python references (IP blocks, numbers, tokens)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.errors import QuerySyntaxError
from engine.match import match
from engine.query import Phrase, Term, compile_query, parse
from engine.query.cidr import Block, in_blocks
from engine.query.text import contains_tokens
from engine.query.values import numeric_value, parse_number

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PIECES = [
    "a",
    "b",
    "x",
    " ",
    "\t",
    "\n",
    "AND",
    "OR",
    "NOT",
    "TO",
    "and",
    "&&",
    "||",
    "-",
    "+",
    "!",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    '"',
    "\\",
    "*",
    "?",
    "@",
    "#",
    "@a.b",
    "#c",
    "=",
    "<",
    ">",
    ">=",
    "~",
    "^",
    "/",
    ".",
    ",",
    "\u201c",
    "\u201d",
    "_exists_:",
    "_missing_:",
    "tags:",
    "host:",
    "*:",
    "CIDR(",
    "10.0.0.0/8",
    "::1",
    "1",
    "-5",
    "1E3",
    "env:",
    "é",
]
QUERY_TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
)
SAMPLE = pl.DataFrame(
    {
        "message": ["hello world 5", None],
        "host": ["h", None],
        "tags": [["env:prod", "x"], []],
        "@a.b": ["x", None],
        "@a": [["1", "10.0.0.1"], None],
        "@n": [3, None],
    }
)


@FAST
@given(QUERY_TEXT)
def test_any_text_parses_or_raises_query_syntax_error(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError as error:
        assert error.line >= 1
        assert error.column >= 1
        assert "^" in str(error)
        return
    assert parse(str(node)) == node
    values = SAMPLE.select(compile_query(node, SAMPLE.schema)).to_series()
    assert values.null_count() == 0
    assert len(values) == SAMPLE.height


# ---- CIDR against Python's ipaddress ----------------------------------------------------------


def _forms(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    if address.version == 4:
        return [str(address)]
    forms = [str(address), address.exploded, address.exploded.upper()]
    if address.ipv4_mapped is not None:
        forms.append(f"::ffff:{address.ipv4_mapped}")
    return forms


@FAST
@given(
    st.lists(st.ip_addresses(), min_size=1, max_size=6),
    st.ip_addresses(),
    st.data(),
)
def test_cidr_matches_python_ipaddress(
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    base: ipaddress.IPv4Address | ipaddress.IPv6Address,
    data: st.DataObject,
) -> None:
    prefix = data.draw(st.integers(0, base.max_prefixlen))
    network = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
    near = network.network_address + data.draw(st.integers(0, network.num_addresses - 1))
    candidates = [*addresses, near]
    texts = [form for address in candidates for form in _forms(address)]
    expected = [
        ipaddress.ip_address(text.split("%")[0]) in network
        if ipaddress.ip_address(text.split("%")[0]).version == network.version
        else False
        for text in texts
    ]
    frame = pl.DataFrame({"ip": texts})
    block = Block.parse(str(network))
    got = frame.select(in_blocks(pl.col("ip"), (block,))).to_series().to_list()
    assert got == expected


@FAST
@given(st.text(alphabet="0123456789abcdef:.%z ", max_size=40))
def test_cidr_never_matches_what_python_rejects(text: str) -> None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        address = None
    blocks = (Block.parse("0.0.0.0/0"), Block.parse("::/0"))
    got = pl.DataFrame({"ip": [text]}).select(in_blocks(pl.col("ip"), blocks)).item()
    assert got == (address is not None)


# ---- numeric strings ---------------------------------------------------------------------------


@FAST
@given(st.text(alphabet="0123456789.eE+-_ xinfa", max_size=12))
def test_numeric_strings_agree_with_the_python_reference(text: str) -> None:
    expression = numeric_value(pl.col("v"), pl.String())
    assert expression is not None
    got = pl.DataFrame({"v": [text]}).select(expression).item()
    expected = parse_number(text)
    if expected is None:
        assert got is None
    else:
        assert got == expected


# ---- free-text tokens --------------------------------------------------------------------------

WORDS = ["hello", "world", "Hello", "HELLO", "héllo", "wor", "ld", "x_y", "42"]


def _tokens(text: str) -> list[str]:
    return [token.lower() for token in re.findall(r"[^\W]+", text)]


def _reference(message: str, words: list[str]) -> bool:
    tokens = _tokens(message)
    wanted = [word.lower() for word in words]
    return any(tokens[i : i + len(wanted)] == wanted for i in range(len(tokens)))


@FAST
@given(
    st.lists(st.sampled_from([*WORDS, " ", "-", ", ", "!", "\n", "_"]), max_size=10).map("".join),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
)
def test_free_text_tokens_agree_with_the_python_reference(message: str, words: list[str]) -> None:
    value = Term(words[0]) if len(words) == 1 else Phrase(" ".join(words))
    expected = _reference(message, _tokens(" ".join(words)))
    got = pl.DataFrame({"m": [message]}).select(contains_tokens(pl.col("m"), value)).item()
    assert got == expected


# ---- full text reads only string leaves (SPEC §2.5, §2.11) ---------------------------------------

LEAVES = st.one_of(
    st.sampled_from(["404", "got 404", "true", "2.5", "Hello", "x-2", "7e2", ""]),
    st.sampled_from([404, 2, 700, 2.5, -3, True, False]),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=2),
    ),
    max_leaves=6,
)
FULL_TEXT_VALUES = ["404", "true", "2", "5", "hello", "x", '"2.5"', "[2 TO 5]", ">400", "<=2"]


def _string_leaves(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _string_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _string_leaves(item)]
    return []


def _numbers(text: str) -> list[float]:
    found = (parse_number(token) for token in re.findall(r"[\w.+\-]+", text))
    return [number for number in found if number is not None]


def _full_text_reference(value: str, texts: list[str]) -> bool:
    if value.startswith("["):
        low, high = (float(bound) for bound in value[1:-1].split(" TO "))
        return any(low <= number <= high for text in texts for number in _numbers(text))
    if value[0] in "<>":
        op, bound = re.fullmatch(r"([<>]=?)(.*)", value).groups()  # type: ignore[union-attr]
        compare = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}
        return any(compare[op](n, float(bound)) for text in texts for n in _numbers(text))
    return any(_reference(text, _tokens(value)) for text in texts)


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {"attributes": st.dictionaries(st.sampled_from(["a", "b"]), TREES, max_size=2)},
            optional={"message": st.sampled_from(["got 404", "hello", "2"])},
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(FULL_TEXT_VALUES),
)
def test_full_text_agrees_with_a_reference_over_string_leaves(
    events: list[dict[str, Any]], value: str
) -> None:
    expected = [
        _full_text_reference(
            value, [*_string_leaves(event["attributes"]), *_string_leaves(event.get("message"))]
        )
        for event in events
    ]
    assert match(f"*:{value}", events) == expected


# ---- field-less comparisons and ranges on free text (SPEC §2.4, §2.7) ----------------------------

BOUNDS = ["*", "-3", "0", "2", "2.5", "10", "1e2", "a"]


def _bound_test(low: str, high: str, include_low: bool, include_high: bool) -> Any:
    """The naive predicate of a range on one number (None: the range can never hold)."""
    bounds = [bound for bound in (low, high) if bound != "*"]
    if any(parse_number(bound) is None for bound in bounds):
        return None  # a non-numeric bound on free text matches nothing

    def test(number: float) -> bool:
        above = low == "*" or number > float(low) or (include_low and number == float(low))
        below = high == "*" or number < float(high) or (include_high and number == float(high))
        return above and below

    return test


RANGES = st.one_of(
    st.tuples(st.sampled_from(BOUNDS), st.sampled_from(BOUNDS), st.sampled_from("[{")).map(
        lambda t: (f"{t[2]}{t[0]} TO {t[1]}{']' if t[2] == '[' else '}'}", t)
    ),
    st.tuples(st.sampled_from([">", ">=", "<", "<="]), st.sampled_from(BOUNDS[1:])).map(
        lambda t: (f"{t[0]}{t[1]}", t)
    ),
)


def _free_range_reference(form: tuple[str, ...], message: str | None) -> bool:
    if len(form) == 3:
        low, high, bracket = form
        test = _bound_test(low, high, bracket == "[", bracket == "[")
    else:
        op, bound = form
        low, high = (bound, "*") if op[0] == ">" else ("*", bound)
        test = _bound_test(low, high, op.endswith("="), op.endswith("="))
    if test is None or message is None:
        return False
    return any(test(number) for number in _numbers(message))


@FAST
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(
                st.sampled_from(["1", "2.5", "-3", "10", "1e2", "abc", "x-2", " ", ", ", "inf"]),
                max_size=5,
            ).map("".join),
        ),
        min_size=1,
        max_size=4,
    ),
    RANGES,
    st.sampled_from(["{}", "NOT {}", "-{}"]),
)
def test_free_text_ranges_agree_with_a_reference(
    messages: list[str | None], value: tuple[str, tuple[str, ...]], shape: str
) -> None:
    text, form = value
    events = [{} if message is None else {"message": message} for message in messages]
    expected = [_free_range_reference(form, message) for message in messages]
    if shape != "{}":
        expected = [not holds for holds in expected]
    assert match(shape.format(text), events) == expected


# ---- an OR of free-text words is one regex, with the same answers ---------------------------

WORD_VALUES = st.sampled_from(
    (
        "hello",
        "World",
        "web*",
        "*ing",
        "h?llo",
        '"hello world"',
        '"a-b"',
        "x_y",
        "5",
        "é",
        '"-"',
        "*",
    )
)
WORD_MESSAGES = st.lists(
    st.text(alphabet="helowrdabxy_5-é WEBINGing*", max_size=20) | st.none(), min_size=1, max_size=6
)


@FAST
@given(st.lists(WORD_VALUES, min_size=2, max_size=6), WORD_MESSAGES)
def test_an_or_of_free_text_agrees_with_each_word_alone(
    values: list[str], messages: list[str | None]
) -> None:
    events = [{"message": message} for message in messages]
    combined = match(" OR ".join(values), events)
    alone = [match(value, events) for value in values]
    assert combined == [any(hits) for hits in zip(*alone, strict=True)]


def test_an_or_of_many_free_text_words_compiles_to_one_regex_per_field() -> None:
    node = parse(" OR ".join(f"word{number}" for number in range(300)))
    expression = compile_query(node, {"message": pl.String()})
    assert str(expression).count("str.contains") == 1
