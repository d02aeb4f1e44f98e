"""The compiler: pure polars (no Python UDFs), never-null results, constant folding, schemas."""

from __future__ import annotations

import polars as pl
import pytest
from query_cases import SPEC_2_10

from engine.archive.event import is_engine_event, normalize_event
from engine.archive.formats import read_records
from engine.core.errors import QuerySyntaxError
from engine.match import match
from engine.query import compile_node, compile_query, parse

SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "host": pl.String(),
    "service": pl.String(),
    "source": pl.String(),
    "status": pl.String(),
    "message": pl.String(),
    "tags": pl.List(pl.String()),
    "@a": pl.String(),
    "@b": pl.Int64(),
    "@c": pl.Float64(),
    "@d": pl.Boolean(),
    "@ips": pl.List(pl.String()),
    "@n": pl.List(pl.Int64()),
    "@error.message": pl.List(pl.String()),
    "@title": pl.String(),
    "#calc": pl.Float64(),
}

QUERIES = [
    *(example.query for example in SPEC_2_10),
    "@a:x* @b:>5 @c:{1 TO 2} @d:true @n:3 @ips:10.*",
    "*:hello *:>5 [1 TO 9] >3 hello\\-world",
    "CIDR(@ips, 10.0.0.0/8, fe80::/10) CIDR(@a, ::ffff:0:0/96)",
    "env:[1 TO 5] env:pr* tags:x* _exists_:env _missing_:@a #calc:>1",
    "@a:(x OR y OR *z*) -@b:(1 OR 2)",
]


def _no_udf(expr: pl.Expr) -> None:
    serialized = expr.meta.serialize(format="json")  # fails for Python callbacks
    for marker in ("Python", "python", "Udf", "MapElements", "map_elements", "pickle"):
        assert marker not in serialized


@pytest.mark.parametrize("query", QUERIES)
def test_compiled_expression_has_no_python_udf(query: str) -> None:
    _no_udf(compile_query(query, SCHEMA))


def test_compiling_and_evaluating_never_calls_map_functions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a Python callback was used")

    for name in ("map_elements", "map_batches"):
        monkeypatch.setattr(pl.Expr, name, forbidden)
    monkeypatch.setattr(pl, "map_batches", forbidden)
    events = [
        {"message": "hello 7", "attributes": {"a": "x1", "b": 9, "ips": ["10.0.0.1"]}},
        {"tags": ["env:3"], "attributes": {"c": 1.5, "d": True, "n": [3]}},
    ]
    for query in QUERIES:
        assert len(match(query, events)) == 2


@pytest.mark.parametrize(
    ("query", "constant"),
    [
        ("@missing:x", False),
        ("-@missing:x", True),
        ("*", True),
        ("@missing:x OR *", True),
        ("_exists_:@missing", False),
        ("hello", False),
        ("\\-\\-", False),
        ("CIDR(@missing, 10.0.0.0/8)", False),
        ("@d:maybe", False),
    ],
)
def test_missing_fields_fold_to_constants(query: str, constant: bool) -> None:
    schema = {"@d": pl.Boolean()}
    assert compile_node(parse(query), schema) is constant


def test_constant_query_yields_one_value_per_row_in_select() -> None:
    frame = pl.DataFrame({"message": ["a", "b", "c"]})
    assert frame.select(compile_query("*", frame.schema)).to_series().to_list() == [True] * 3
    assert frame.select(compile_query("@x:1", frame.schema)).to_series().to_list() == [False] * 3


def test_results_are_never_null() -> None:
    frame = pl.DataFrame(
        {
            "message": [None, "x"],
            "tags": [None, ["a:b"]],
            "@a": [None, "y"],
            "@n": [None, [1, None]],
        },
        schema={
            "message": pl.String(),
            "tags": pl.List(pl.String()),
            "@a": pl.String(),
            "@n": pl.List(pl.Int64()),
        },
    )
    for query in ["x", "-x", "@a:y", "-@a:y", "a:b", "-a:b", "@n:>0", "-@n:>0", "@a:>a", "*:y"]:
        values = frame.select(compile_query(query, frame.schema)).to_series()
        assert values.null_count() == 0, query


def test_works_in_a_lazy_filter() -> None:
    lazy = pl.LazyFrame({"message": ["hello world", "bye"], "@b": [1, 2]})
    expr = compile_query("hello OR @b:2", lazy.collect_schema())
    assert lazy.filter(expr).collect().height == 2
    assert lazy.filter(~expr).collect().height == 0


def test_calculated_field_reads_its_expression() -> None:
    frame = pl.DataFrame({"@n": [1.0, 10.0]})
    calculated = {"calc": pl.col("@n") * 2}
    assert frame.select(
        compile_query("#calc:>5", frame.schema, calculated=calculated)
    ).to_series().to_list() == [
        False,
        True,
    ]
    assert frame.select(
        compile_query("#other:>5", frame.schema, calculated=calculated)
    ).to_series().to_list() == [
        False,
        False,
    ]


def test_unsigned_integer_column_equality() -> None:
    frame = pl.DataFrame(
        {"@u": [1, 2]},
        schema={"@u": pl.UInt8()},
    )
    assert frame.select(compile_query("@u:2", frame.schema)).to_series().to_list() == [False, True]


def test_schema_may_use_dtype_classes() -> None:
    frame = pl.DataFrame({"@a": ["x", "y"], "message": ["hello", "bye"]})
    schema = {"@a": pl.String, "message": pl.String}
    expr = compile_query("@a:x OR bye", schema)  # type: ignore[arg-type]
    assert frame.select(expr).to_series().to_list() == [True, True]


def test_match_empty_events_is_empty_but_still_validates() -> None:
    assert match("a", []) == []
    with pytest.raises(QuerySyntaxError):
        match("a AND", [])


def test_match_accepts_canonical_events() -> None:
    canonical = normalize_event({"timestamp": 1_700_000_000_000, "message": "hello"})
    assert match("hello", [canonical, {"message": "bye"}]) == [True, False]


def test_match_accepts_events_without_timestamp() -> None:
    assert match("host:a", [{"host": "a"}, {"host": "b", "date": "2024-01-01T00:00:00Z"}]) == [
        True,
        False,
    ]


def _canonical_shaped(**fields: object) -> dict[str, object]:
    """A dict carrying every canonical key (SPEC §1.1), as a user may write one by hand."""
    keys = ("id", "timestamp", "host", "service", "source", "status", "message", "trace_id")
    return {
        **dict.fromkeys(keys),
        "id": "e1",
        "timestamp": 0,
        "tags": [],
        "attributes": {},
    } | fields


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        pytest.param("status:warn", {"status": "WARN"}, id="status"),
        pytest.param("env:prod", {"tags": ["env:PROD"]}, id="tags"),
        pytest.param("env:prod", {"tags": "env:PROD, team:a"}, id="tags-as-text"),
        pytest.param("@usr.id:alice", {"usr": {"id": "alice"}}, id="extra-key-is-an-attribute"),
    ],
)
def test_match_normalises_events_that_look_canonical(query: str, fields: dict[str, object]) -> None:
    # whatever keys an event carries, it is read as ingest stores it (status and tags lower-cased)
    assert match(query, [_canonical_shaped(**fields)]) == [True]
    without_trace_id = _canonical_shaped(**fields)
    del without_trace_id["trace_id"]
    assert match(query, [without_trace_id]) == [True]


def test_events_the_engine_built_are_taken_as_they_are() -> None:
    built = normalize_event({"timestamp": 1_700_000_000_000, "status": "WARN", "tags": ["A:B"]})
    assert is_engine_event(built) and not is_engine_event(dict(built))
    (read,) = read_records([built], format="cloudtrail")  # not re-read as CloudTrail
    assert read is built
    assert match("status:warn a:b", [built]) == [True]


def test_parse_results_are_cached() -> None:
    assert parse("@a:x OR b") is parse("@a:x OR b")
