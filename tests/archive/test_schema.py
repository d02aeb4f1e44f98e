"""Widening column types across files (ARCHITECTURE: one type per column; nothing lost)."""

from __future__ import annotations

import polars as pl
import pytest

from engine.archive.schema import convert, dtype_from_text, dtype_to_text, unify

S, INT, F, B = pl.String(), pl.Int64(), pl.Float64(), pl.Boolean()


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(INT, INT, INT, id="same"),
        pytest.param(INT, F, F, id="int-float"),
        pytest.param(INT, S, S, id="int-string"),
        pytest.param(B, INT, S, id="bool-int"),
        pytest.param(pl.Null(), B, B, id="null-takes-other"),
        pytest.param(S, pl.List(S), pl.List(S), id="scalar-list"),
        pytest.param(pl.List(INT), pl.List(F), pl.List(F), id="list-int-float"),
        pytest.param(INT, pl.List(S), pl.List(S), id="int-list-of-string"),
    ],
)
def test_unify(left: pl.DataType, right: pl.DataType, expected: pl.DataType) -> None:
    assert unify(left, right) == expected
    assert unify(right, left) == expected


@pytest.mark.parametrize(
    ("values", "source", "target", "expected"),
    [
        pytest.param([1, None], INT, F, [1.0, None], id="int-to-float"),
        pytest.param([200, None], INT, S, ["200", None], id="int-to-text"),
        pytest.param([2.5], F, S, ["2.5"], id="float-to-text"),
        pytest.param([True, False], B, S, ["true", "false"], id="bool-to-text"),
        pytest.param(["a", None], S, pl.List(S), [["a"], None], id="scalar-to-list"),
        pytest.param([1], INT, pl.List(S), [["1"]], id="int-to-list-of-text"),
        pytest.param([[1, 2]], pl.List(INT), pl.List(S), [["1", "2"]], id="list-int-to-text"),
    ],
)
def test_convert(
    values: list[object], source: pl.DataType, target: pl.DataType, expected: list[object]
) -> None:
    frame = pl.DataFrame({"v": pl.Series(values, dtype=source)})
    assert frame.select(convert(pl.col("v"), source, target))["v"].to_list() == expected


@pytest.mark.parametrize("dtype", [S, INT, F, B, pl.List(S), pl.List(pl.List(INT))], ids=str)
def test_dtype_text_round_trip(dtype: pl.DataType) -> None:
    assert dtype_from_text(dtype_to_text(dtype)) == dtype
