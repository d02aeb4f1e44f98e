"""A seeded fuzz of every endpoint: the service never answers 5xx, and never takes long.

Every historical-job endpoint under both path families, the signals API and the rules API get
malformed JSON, wrong types, huge and deep values, invalid Unicode (lone surrogates, bytes that
are not UTF-8), bad ids and cursors, oversized bodies, bad query parameters, odd content types
and missing keys. Each answer must be below 500, every 4xx must be a Datadog error body
(`{"errors": [...]}`, JSON:API objects or strings), and every request must take less than
`MAX_SECONDS`. Hypothesis draws the requests, derandomized (the same requests on every run);
the tests send `sum(EXAMPLES.values())` requests in all (at least 2,000).

`python -m pytest tests/api/test_fuzz.py -s` prints the status-code table of the run.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api.paging import encode_cursor
from tests.api.conftest import (
    EACH,
    FAMILIES,
    LIBRARY_RULE_ID,
    R1,
    RULES,
    SIGNALS,
    UNKNOWN_JOB,
    Api,
    convert_body,
    definition,
    from_rule_body,
    run_body,
    serve,
)
from tests.detect.builders import T

#: How many requests each fuzz test sends (2,100 in all).
EXAMPLES = {"bodies": 900, "parameters": 600, "paths": 400, "headers": 200}
#: No request may take this long (seconds): a guard against hangs and blow-ups (an unbounded
#: filter query once took 40 s), generous enough that a loaded 2-core CI machine never trips it.
MAX_SECONDS = 10.0
#: The fuzzed server's body limit: small, so oversized bodies are cheap to send.
BODY_LIMIT = 16_384

STATUSES: Counter[int] = Counter()


@dataclass
class Target:
    """The fuzzed server and the ids of things it holds."""

    api: Api
    job_id: str
    result_id: str
    signal_id: str
    rule_id: str
    cursor: str


@pytest.fixture(scope="module")
def target(
    tmp_path_factory: pytest.TempPathFactory, archive: Path, library: Path
) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz")
    with serve(root, archive, library, max_body_bytes=BODY_LIMIT) as api:
        job_id = api.run(run_body(definition(EACH)))
        api.finish(job_id)
        results = api.results(job_id)
        result_id = results[0]["id"]
        response = api.client.post(
            f"{FAMILIES[0]}/jobs/signal_convert",
            json=convert_body([result_id]),
            headers=api.headers,
        )
        assert response.status_code == 204
        rule = api.client.post(RULES, json=R1, headers=api.headers).json()
        signal_id = api.service.result(result_id).signal_id
        assert signal_id is not None
        cursor = encode_cursor((T, results[0]["id"]))
        yield Target(api, job_id, result_id, signal_id, rule["id"], cursor)
    if STATUSES:
        table = ", ".join(f"{status}: {count}" for status, count in sorted(STATUSES.items()))
        print(f"\nfuzz status codes ({sum(STATUSES.values())} requests): {table}")


FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def send(target: Target, method: str, path: str, **options: Any) -> None:
    """Send one request and check the answer (no 5xx, a Datadog body on 4xx, quick)."""
    options.setdefault("headers", target.api.headers)
    started = time.perf_counter()
    response = target.api.client.request(method, path, **options)
    elapsed = time.perf_counter() - started
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, (method, path, response.text[:500])
    assert elapsed < MAX_SECONDS, (method, path[:200], elapsed)
    if response.status_code >= 400:
        assert response.headers["content-type"] in ("application/json", "application/vnd.api+json")
        body = response.json()
        assert set(body) == {"errors"}, body
        assert body["errors"], body
        for item in body["errors"]:
            assert isinstance(item, str) or item["status"] == str(response.status_code), body


# --- values ------------------------------------------------------------------------------------

EDGE_INTEGERS = [
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    10**30,
    -(10**30),
    253_402_300_800_000,
    -100_000_000_000_000,
]
NASTY_TEXT = [
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00",
    "null",
    "\u202e\u0000\uffff",
    "💥" * 50,
    "x" * 20_000,
    "(" * 300,
    '{{eval "' + "(" * 500 + "1" + ")" * 500 + '"}}',
    "{{#if a}}" * 200,
    " OR ".join(f"t{n}" for n in range(300)),
    '"' + "w " * 300 + '"',
    "@a:" + "*" * 500,
    "../../etc/passwd",
    "' OR 1=1 --",
    "%ED%A0%80",
    "9" * 400,
    "-100000000000000",
    "2024-13-45T99:99:99Z",
    "9999-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00Z",
    "now-7d",
]
scalars = st.one_of(
    st.sampled_from(EDGE_INTEGERS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(NASTY_TEXT),
    st.text(st.characters(codec=None), max_size=30),
    st.text(st.characters(categories=["Cs", "Co", "Cc", "Zs"]), max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(["\udc80", "data", ""]), children)
    ),
    max_leaves=12,
)


def nested(depth: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


deep_values = st.builds(nested, st.integers(50, 300), st.sampled_from(["list", "dict"]))
any_json = st.one_of(json_values, deep_values)


def json_text(value: Any) -> bytes:
    """JSON as Python writes it: lone surrogates become `\\udXXX` escapes, NaN stays NaN."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


# --- bodies ------------------------------------------------------------------------------------


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON document (its root included)."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for position, child in enumerate(value):
            paths += paths_of(child, (*prefix, position))
    return paths


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def replaced(document: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    """A copy of `document` with the value at `path` replaced (or deleted)."""
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    parent = at(copy, path[:-1])
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


surrogate_text = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(max_size=5),
    st.sampled_from(["\ud800", "\udfff", "\udbff\udbff"]),
    st.text(max_size=5),
)


def nasty_like(value: Any) -> st.SearchStrategy[Any]:
    """A replacement for `value`: mostly a bad value of its own kind, sometimes anything."""
    if isinstance(value, bool) or value is None:
        own: st.SearchStrategy[Any] = scalars
    elif isinstance(value, int):
        own = st.sampled_from(EDGE_INTEGERS) | st.floats(allow_nan=True, allow_infinity=True)
    elif isinstance(value, str):
        own = st.sampled_from(NASTY_TEXT) | surrogate_text
    else:
        own = deep_values | json_values
    return st.one_of(own, own, any_json)


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> Any:
    """The template with one to three values replaced (mostly scalars) or deleted."""
    document = template
    for _ in range(draw(st.integers(1, 3))):
        paths = paths_of(document)
        scalars_only = [path for path in paths if not isinstance(at(document, path), dict | list)]
        path = draw(st.sampled_from(scalars_only or paths) | st.sampled_from(paths))
        delete = bool(path) and draw(st.integers(0, 5)) == 0
        document = replaced(document, path, draw(nasty_like(at(document, path))), delete)
    return document


@dataclass(frozen=True)
class BodyEndpoint:
    method: str
    path: str  # `{job}`, `{rule}` are filled in
    template: Any


def body_endpoints() -> list[BodyEndpoint]:
    endpoints: list[BodyEndpoint] = []
    for family in FAMILIES:
        endpoints += [
            BodyEndpoint("POST", f"{family}/jobs", run_body(definition(R1))),
            BodyEndpoint("POST", f"{family}/jobs", from_rule_body(LIBRARY_RULE_ID)),
            BodyEndpoint("POST", f"{family}/jobs/signal_convert", convert_body(["{result}"])),
            BodyEndpoint(
                "POST",
                f"{family}/histsignals/search",
                {"filter": {"query": "*", "from": T}, "page": {"limit": 5}, "sort": "timestamp"},
            ),
        ]
    return [
        *endpoints,
        BodyEndpoint("POST", f"{SIGNALS}/search", {"filter": {"query": "status:critical"}}),
        BodyEndpoint("POST", RULES, R1),
        BodyEndpoint("PUT", f"{RULES}/{{rule}}", {"message": "new", "tags": ["a:b"]}),
    ]


BODY_ENDPOINTS = body_endpoints()


@st.composite
def raw_bodies(draw: st.DrawFn, template: Any) -> bytes:
    """Bodies that are not JSON, or barely: truncated, binary, brackets, NaN, BOM, oversized."""
    text = json_text(template)
    return draw(
        st.one_of(
            st.integers(0, len(text)).map(lambda cut: text[:cut]),
            st.binary(max_size=64),
            st.integers(1, 8000).map(lambda n: b"[" * n),
            st.integers(1, 3000).map(lambda n: b'{"a":' * n),
            st.just(b'{"data": "\xff\xfe"}'),
            st.just(b"\xef\xbb\xbf" + text),
            st.just(text.replace(b"1704067200000", b"NaN", 1)),
            st.just(text + b" " * BODY_LIMIT),
            st.just(text.replace(b'"', b"'")),
        )
    )


@st.composite
def bodies(draw: st.DrawFn, template: Any) -> bytes:
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "mutated", "raw", "any"]))
    if kind == "raw":
        return draw(raw_bodies(template))
    if kind == "any":
        return json_text(draw(any_json))
    return json_text(draw(mutated(template)))


CONTENT_TYPES = [
    "application/json",
    "application/json",
    "application/vnd.api+json",
    "text/plain",
    "application/json; charset=utf-16",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
]


@st.composite
def body_requests(draw: st.DrawFn) -> tuple[BodyEndpoint, bytes, str]:
    endpoint = draw(st.sampled_from(BODY_ENDPOINTS))
    return endpoint, draw(bodies(endpoint.template)), draw(st.sampled_from(CONTENT_TYPES))


def filled(target: Target, text: str) -> str:
    return (
        text.replace("{result}", target.result_id)
        .replace("{rule}", target.rule_id)
        .replace("{job}", target.job_id)
    )


def test_fuzz_bodies(target: Target) -> None:
    sent = 0

    @settings(FUZZ, max_examples=EXAMPLES["bodies"])
    @given(body_requests())
    def probe(request: tuple[BodyEndpoint, bytes, str]) -> None:
        nonlocal sent
        endpoint, content, content_type = request
        content = filled(target, content.decode("latin-1")).encode("latin-1")
        headers = {**target.api.headers, "content-type": content_type}
        path = filled(target, endpoint.path)
        send(target, endpoint.method, path, content=content, headers=headers)
        sent += 1

    probe()
    assert sent >= EXAMPLES["bodies"]


# --- query parameters ----------------------------------------------------------------------------

LIST_PARAMETERS = [
    "filter[query]",
    "filter[from]",
    "filter[to]",
    "sort",
    "page[cursor]",
    "page[limit]",
]
LISTS: list[tuple[str, list[str]]] = [
    *[(f"{family}/histsignals", LIST_PARAMETERS) for family in FAMILIES],
    *[(f"{family}/jobs/{{job}}/histsignals", LIST_PARAMETERS) for family in FAMILIES],
    *[
        (f"{family}/jobs", ["filter[query]", "sort", "page[size]", "page[number]"])
        for family in FAMILIES
    ],
    (SIGNALS, LIST_PARAMETERS),
    (RULES, ["query", "page[size]", "page[number]"]),
]


def cursors(valid: str) -> st.SearchStrategy[str]:
    def encoded(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return st.one_of(
        st.just(valid),
        st.integers(0, len(valid)).map(lambda cut: valid[:cut]),
        st.integers(1, 3000).map(lambda n: encoded(b"[" * n)),
        st.sampled_from(EDGE_INTEGERS).map(lambda n: encoded(json.dumps([n, "x"]).encode())),
        st.binary(max_size=300).map(encoded),
        st.text(max_size=40),
    )


def parameter_values(name: str, cursor: str) -> st.SearchStrategy[str]:
    """Values for a parameter: mostly the kind it expects at its edges, sometimes anything."""
    numbers = st.one_of(st.sampled_from(EDGE_INTEGERS).map(str), st.integers().map(str))
    expected: dict[str, st.SearchStrategy[str]] = {
        "filter[from]": numbers | st.sampled_from(NASTY_TEXT[-5:]),
        "filter[to]": numbers | st.sampled_from(NASTY_TEXT[-5:]),
        "page[limit]": numbers,
        "page[size]": numbers,
        "page[number]": numbers,
        "page[cursor]": cursors(cursor),
        "sort": st.sampled_from(["timestamp", "-timestamp", "createdAt", "-jobName", "x", ""]),
    }
    anything = st.one_of(
        st.sampled_from(NASTY_TEXT).filter(lambda text: len(text) < 20_000),
        st.text(max_size=40),
    )
    if name not in expected:
        return anything
    return st.one_of(expected[name], expected[name], expected[name], anything)


@st.composite
def parameter_requests(draw: st.DrawFn, cursor: str) -> tuple[str, list[tuple[str, str]]]:
    path, names = draw(st.sampled_from(LISTS))
    extra = ["x", "page[", "filter[query][0]"]
    chosen = draw(st.lists(st.sampled_from([*names, *extra]), min_size=1, max_size=3, unique=True))
    return path, [(name, draw(parameter_values(name, cursor))) for name in chosen]


def encoded_query(pairs: list[tuple[str, str]]) -> str:
    """A query string; text that is not valid Unicode goes out as the bytes Python would use."""
    return "&".join(
        f"{quote(name, safe='[]')}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for name, value in pairs
    )


def test_fuzz_query_parameters(target: Target) -> None:
    sent = 0

    @settings(FUZZ, max_examples=EXAMPLES["parameters"])
    @given(st.data())
    def probe(data: st.DataObject) -> None:
        nonlocal sent
        path, pairs = data.draw(parameter_requests(target.cursor))
        method = "POST" if path.endswith("/search") else "GET"
        send(target, method, f"{filled(target, path)}?{encoded_query(pairs)}")
        sent += 1

    probe()
    assert sent >= EXAMPLES["parameters"]


# --- paths and ids -------------------------------------------------------------------------------

ID_ROUTES = [
    *[
        (method, f"{family}/jobs/{{id}}{suffix}")
        for family in FAMILIES
        for method, suffix in (
            ("GET", ""),
            ("DELETE", ""),
            ("PATCH", "/cancel"),
            ("GET", "/histsignals"),
        )
    ],
    *[("GET", f"{family}/histsignals/{{id}}") for family in FAMILIES],
    ("GET", f"{SIGNALS}/{{id}}"),
    ("GET", f"{RULES}/{{id}}"),
    ("DELETE", f"{RULES}/{{id}}"),
    ("PUT", f"{RULES}/{{id}}"),
    ("POST", f"{FAMILIES[0]}/jobs/{{id}}"),
    ("GET", f"{FAMILIES[1]}/nowhere/{{id}}"),
]


@st.composite
def ids(draw: st.DrawFn, known: list[str]) -> str:
    raw = draw(
        st.one_of(
            st.sampled_from(known),
            st.just(UNKNOWN_JOB),
            st.just(UNKNOWN_JOB.upper()),
            st.text(max_size=40),
            st.text(st.characters(categories=["Cs", "Cc"]), min_size=1, max_size=4),
            st.sampled_from(["x" * 5000, "..", ".", "%00", "%ED%A0%80", "a/b", "sig-" + "0" * 24]),
        )
    )
    return quote(raw.encode("utf-8", "surrogatepass"), safe="%")


def test_fuzz_paths_and_ids(target: Target) -> None:
    sent = 0
    known = [target.job_id, target.result_id, target.signal_id, target.rule_id]

    @settings(FUZZ, max_examples=EXAMPLES["paths"])
    @given(st.sampled_from(ID_ROUTES), ids(known))
    def probe(route: tuple[str, str], item: str) -> None:
        nonlocal sent
        method, path = route
        options: dict[str, Any] = {}
        if method in ("PUT", "POST"):
            options["json"] = {"message": "x"}
        send(target, method, path.replace("{id}", item), **options)
        sent += 1

    probe()
    assert sent >= EXAMPLES["paths"]


# --- keys, methods and oversized bodies without keys ---------------------------------------------

ALL_ROUTES = [*ID_ROUTES, *((endpoint.method, endpoint.path) for endpoint in BODY_ENDPOINTS)]


@st.composite
def header_sets(draw: st.DrawFn, valid: dict[str, str]) -> dict[str, bytes]:
    """Key headers: right, wrong case, empty, made up, or not ASCII; sometimes missing."""
    keys = st.one_of(st.just(""), st.text(st.characters(max_codepoint=255), max_size=40))
    headers: dict[str, bytes] = {}
    for name, value in valid.items():
        kind = draw(st.sampled_from(["right", "right", "right", "wrong", "missing"]))
        if kind == "right":
            headers[name] = value.encode()
        elif kind == "wrong":
            wrong = draw(st.sampled_from([value.upper(), "", "0" * 40]) | keys)
            headers[name] = wrong.encode("latin-1")
    return headers


def test_fuzz_keys_methods_and_oversized_bodies(target: Target) -> None:
    sent = 0

    @settings(FUZZ, max_examples=EXAMPLES["headers"])
    @given(
        st.sampled_from(ALL_ROUTES),
        st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", None]),
        header_sets(target.api.headers),
        st.sampled_from([b"", b"{}", b"x" * (BODY_LIMIT + 1)]),
    )
    def probe(
        route: tuple[str, str], method: str | None, headers: dict[str, bytes], content: bytes
    ) -> None:
        nonlocal sent
        path = filled(target, route[1]).replace("{id}", target.job_id)
        send(target, method or route[0], path, content=content, headers=headers)
        sent += 1

    probe()
    assert sent >= EXAMPLES["headers"]


def test_the_fuzz_sends_at_least_2000_requests() -> None:
    assert sum(EXAMPLES.values()) >= 2000
