"""Calculated fields (SPEC §3.16): Datadog's formula language, compiled to polars expressions.

A rule's `calculatedFields[]` entry `{name, expression}` defines `#name`, which its queries use
like any attribute (`#risk:>5`, `#region:"Paris, France"`, a group-by on `#region`). The
expression is a formula (docs.datadoghq.com/logs/explorer/calculated_fields/formulas) over
`@attributes`, reserved fields and tags (`host`, `env`), other calculated fields (`#other`),
string and number literals, with the operators `! NOT -` `^ %` `* /` `+ -` `< <= > >=`
`== !=` `&& AND` `|| OR` (tightest first) and the functions of `FUNCTIONS`.

Typing: arithmetic and `max`/`min` read numbers (numeric text counts, anything else is null);
`concat`, `lower`... read text; a comparison is numeric when one side is a number, else textual;
`==`/`!=` with a boolean compare truth values. A division or modulo by zero is null, so
`is_null(@a / @b)` holds when `@b` is 0. A missing attribute is null. `substring` counts from 0;
`split_before(s, sep, n)` is the text before the (n+1)th separator, `split_after` the text after.

An unknown function or calculated field, a wrong number of arguments, or a formula that does not
parse is a `FormulaError` with the line, column and caret of the offending text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import polars as pl
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from engine.core.columns import RESERVED_ALIASES, RESERVED_FIELDS
from engine.core.errors import FormulaError, QuerySyntaxError
from engine.query.ast import FieldKind, Node, fields

Kind = Literal["number", "text", "boolean", "list", "unknown"]


@dataclass(frozen=True)
class Value:
    """A compiled sub-formula: its expression and what kind of value it holds."""

    expr: pl.Expr
    kind: Kind
    literal: str | None = None  # the text of a string literal


class _ArgumentError(ValueError):
    """A function argument the function cannot take (the message says why)."""


def _number(value: Value) -> pl.Expr:
    match value.kind:
        case "number" | "boolean":
            return value.expr.cast(pl.Float64)
        case "text" | "unknown":
            return value.expr.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        case "list":
            return value.expr.list.first().cast(pl.Float64, strict=False)


def _text(value: Value) -> pl.Expr:
    match value.kind:
        case "boolean":
            return pl.when(value.expr).then(pl.lit("true")).otherwise(pl.lit("false"))
        case "list":
            return value.expr.list.eval(pl.element().cast(pl.String)).list.join(",")
        case "number" | "text" | "unknown":
            return value.expr.cast(pl.String)


def _truth(value: Value) -> pl.Expr:
    match value.kind:
        case "boolean":
            return value.expr
        case "number":
            return value.expr != 0
        case "text" | "unknown" | "list":
            return _text(value).str.to_lowercase() == "true"


def _nonzero(divisor: pl.Expr, result: pl.Expr) -> pl.Expr:
    return pl.when(divisor != 0).then(result)


_ARITHMETIC: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: _nonzero(b, a / b),
    "%": lambda a, b: _nonzero(b, a % b),
    "^": lambda a, b: a.pow(b),
}
_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _round(args: list[Value]) -> Value:
    value = _number(args[0])
    if len(args) == 1:
        return Value(value.round(0), "number")
    scale = pl.lit(10.0).pow(_number(args[1]))
    return Value((value * scale).round(0) / scale, "number")


def _extreme(args: list[Value], largest: bool) -> Value:
    if len(args) == 1 and args[0].kind == "list":
        values = args[0].expr.list.eval(pl.element().cast(pl.Float64, strict=False))
        return Value(values.list.max() if largest else values.list.min(), "number")
    numbers = [_number(arg) for arg in args]
    return Value(pl.max_horizontal(numbers) if largest else pl.min_horizontal(numbers), "number")


def _split(args: list[Value], before: bool) -> Value:
    separator = _text(args[1])
    parts = _text(args[0]).str.split(separator)
    count = _number(args[2]).cast(pl.Int64) + 1
    kept = parts.list.head(count) if before else parts.list.slice(count)
    return Value(kept.list.join(separator), "text")


def _text_join(args: list[Value]) -> Value:
    separator = args[0].literal
    if separator is None:
        raise _ArgumentError("the delimiter of textjoin() must be a string literal")
    skip_empty = _truth(args[1])
    parts = [
        pl.when(skip_empty & (_text(arg) == "")).then(None).otherwise(_text(arg))
        for arg in args[2:]
    ]
    return Value(pl.concat_str(parts, separator=separator, ignore_nulls=True), "text")


def _if(args: list[Value]) -> Value:
    condition = _truth(args[0]).fill_null(False)
    yes, no = args[1], args[2]
    if yes.kind == no.kind:
        return Value(pl.when(condition).then(yes.expr).otherwise(no.expr), yes.kind)
    return Value(pl.when(condition).then(_text(yes)).otherwise(_text(no)), "text")


#: Every function: (least, most arguments; None = any), and how it compiles.
FUNCTIONS: dict[str, tuple[int, int | None, Callable[[list[Value]], Value]]] = {
    "abs": (1, 1, lambda a: Value(_number(a[0]).abs(), "number")),
    "ceil": (1, 1, lambda a: Value(_number(a[0]).ceil(), "number")),
    "floor": (1, 1, lambda a: Value(_number(a[0]).floor(), "number")),
    "max": (1, None, lambda a: _extreme(a, largest=True)),
    "min": (1, None, lambda a: _extreme(a, largest=False)),
    "round": (1, 2, _round),
    "concat": (
        1,
        None,
        lambda a: Value(pl.concat_str([_text(v) for v in a], ignore_nulls=True), "text"),
    ),
    "lower": (1, 1, lambda a: Value(_text(a[0]).str.to_lowercase(), "text")),
    "upper": (1, 1, lambda a: Value(_text(a[0]).str.to_uppercase(), "text")),
    "proper": (1, 1, lambda a: Value(_text(a[0]).str.to_titlecase(), "text")),
    "left": (2, 2, lambda a: Value(_text(a[0]).str.head(_number(a[1]).cast(pl.Int64)), "text")),
    "right": (2, 2, lambda a: Value(_text(a[0]).str.tail(_number(a[1]).cast(pl.Int64)), "text")),
    "substring": (
        3,
        3,
        lambda a: Value(
            _text(a[0]).str.slice(_number(a[1]).cast(pl.Int64), _number(a[2]).cast(pl.Int64)),
            "text",
        ),
    ),
    "split_before": (3, 3, lambda a: _split(a, before=True)),
    "split_after": (3, 3, lambda a: _split(a, before=False)),
    "textjoin": (3, None, _text_join),
    "if": (3, 3, _if),
    "is_null": (1, 1, lambda a: Value(a[0].expr.is_null(), "boolean")),
}


@cache
def _parser() -> Lark:
    grammar = Path(__file__).with_name("formula.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def _kind(dtype: pl.DataType) -> Kind:
    if isinstance(dtype, pl.List):
        return "list"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "number"
    return "unknown"


#: Resolves `#name` (the token points at it) to the value of that calculated field.
Resolver = Callable[[str, Token], Value]


class FormulaCompiler:
    """Compiles one formula against an archive schema; `#name` goes through `resolve`."""

    def __init__(self, text: str, schema: Mapping[str, pl.DataType], resolve: Resolver) -> None:
        self.text = text
        self.schema = schema
        self.resolve = resolve

    def error(self, reason: str, token: Token | None, hint: str | None = None) -> FormulaError:
        """A `FormulaError` pointing at `token` (the whole formula when None)."""
        offset = token.start_pos if token is not None and token.start_pos is not None else 0
        width = len(token) if token is not None else len(self.text)
        return FormulaError.at_offset(self.text, reason, offset, hint=hint, width=width)

    def compile(self) -> Value:
        """The formula's value (`FormulaError` when it does not parse or compile)."""
        try:
            tree = _parser().parse(self.text)
        except UnexpectedInput as err:
            raise self._syntax_error(err) from None
        return self.node(tree.children[0])

    def _syntax_error(self, err: UnexpectedInput) -> FormulaError:
        if isinstance(err, UnexpectedCharacters):
            reason = f"unexpected character {err.char!r}"
        elif isinstance(err, UnexpectedToken) and err.token.type == "$END":
            reason = "the formula ends too early"
        elif isinstance(err, UnexpectedToken):
            reason = f"unexpected {err.token.value!r}"
        else:  # pragma: no cover - LALR raises the two kinds above
            reason = str(err)
        offset = err.pos_in_stream if err.pos_in_stream is not None else len(self.text)
        return FormulaError.at_offset(self.text, reason, offset)

    def node(self, item: Tree[Token] | Token) -> Value:
        """The value of one parse tree node."""
        assert isinstance(item, Tree), item
        children = item.children
        match item.data:
            case "number":
                text = str(children[0])
                number: float | int = int(text) if text.isdigit() else float(text)
                return Value(pl.lit(number), "number")
            case "string":
                text = _unescape(str(children[0])[1:-1])
                return Value(pl.lit(text), "text", literal=text)
            case "attribute":
                return self.column(_unescape(str(children[0])))
            case "named":
                return self.named(_unescape(str(children[0])))
            case "calculated":
                token = children[0]
                assert isinstance(token, Token)
                return self.resolve(str(token)[1:], token)
            case "call":
                return self.call(children)
            case "negation":
                return Value(~_truth(self.node(children[1])), "boolean")
            case "minus":
                return Value(-_number(self.node(children[1])), "number")
            case "arithmetic":
                left, op, right = children
                function = _ARITHMETIC[str(op)]
                return Value(
                    function(_number(self.node(left)), _number(self.node(right))), "number"
                )
            case "compare":
                return self.compare(
                    self.node(children[0]), str(children[1]), self.node(children[2])
                )
            case "either":
                one, other = (self.node(child) for child in children)
                return Value(_truth(one) | _truth(other), "boolean")
            case "both":
                one, other = (self.node(child) for child in children)
                return Value(_truth(one) & _truth(other), "boolean")
            case _:  # pragma: no cover - the grammar has no other rule
                raise AssertionError(item.data)

    def column(self, column: str) -> Value:
        """An attribute: its column (null when no log has it)."""
        dtype = self.schema.get(column)
        if dtype is None:
            return Value(pl.lit(None, dtype=pl.String), "unknown")
        return Value(pl.col(column), _kind(dtype))

    def named(self, name: str) -> Value:
        """A reserved field (`host`, `service`...) or a tag key (the value of `key:value`)."""
        name = RESERVED_ALIASES.get(name, name)
        if name in RESERVED_FIELDS:
            return self.column(name)
        if "tags" not in self.schema:
            return Value(pl.lit(None, dtype=pl.String), "unknown")
        prefix = name.lower() + ":"
        element = pl.element()
        tagged = element.filter(element.str.starts_with(prefix)).str.slice(len(prefix))
        return Value(pl.col("tags").list.eval(tagged).list.first(), "unknown")

    def call(self, children: Sequence[Tree[Token] | Token | None]) -> Value:
        """A function call, checked against `FUNCTIONS`."""
        name, arguments = children
        assert isinstance(name, Token)
        entry = FUNCTIONS.get(str(name).lower())
        if entry is None:
            known = ", ".join(FUNCTIONS)
            raise self.error(f"unknown function {str(name)!r}", name, hint=f"functions: {known}")
        least, most, build = entry
        args = [] if arguments is None else [self.node(child) for child in arguments.children]  # type: ignore[union-attr]
        if len(args) < least or (most is not None and len(args) > most):
            wanted = (
                str(least)
                if least == most
                else f"{least} or more"
                if most is None
                else f"{least} to {most}"
            )
            raise self.error(f"{name!s}() takes {wanted} argument(s) (got {len(args)})", name)
        try:
            return build(args)
        except _ArgumentError as exc:
            raise self.error(str(exc), name) from None

    @staticmethod
    def compare(left: Value, op: str, right: Value) -> Value:
        """A comparison: numeric when one side is a number, of truth values for `==`/`!=` with a
        boolean, else of texts."""
        function = _COMPARE[op]
        kinds = {left.kind, right.kind}
        if "number" in kinds:
            return Value(function(_number(left), _number(right)), "boolean")
        if "boolean" in kinds and op in ("==", "!="):
            return Value(function(_truth(left), _truth(right)), "boolean")
        return Value(function(_text(left), _text(right)), "boolean")


def compile_formula(
    text: str, schema: Mapping[str, pl.DataType], resolve: Resolver | None = None
) -> Value:
    """One formula's value; `resolve` gives the calculated fields it names (none by default)."""

    def unknown(name: str, token: Token) -> Value:
        raise FormulaCompiler(text, schema, unknown).error(
            f"unknown calculated field #{name}", token
        )

    return FormulaCompiler(text, schema, resolve or unknown).compile()


def compile_calculated(
    fields: Sequence[tuple[str, str]], schema: Mapping[str, pl.DataType]
) -> dict[str, pl.Expr]:
    """The expression of every calculated field `(name, formula)`, by name (without `#`).

    A formula may name other calculated fields of the list; a cycle or an unknown name is a
    `FormulaError` at the offending `#name`.
    """
    formulas = dict(fields)
    done: dict[str, Value] = {}
    active: list[str] = []

    def value(name: str) -> Value:
        if name not in done:
            active.append(name)
            done[name] = FormulaCompiler(formulas[name], schema, resolver(formulas[name])).compile()
            active.pop()
        return done[name]

    def resolver(text: str) -> Resolver:
        def resolve(name: str, token: Token) -> Value:
            compiler = FormulaCompiler(text, schema, resolve)
            if name not in formulas:
                known = ", ".join(f"#{n}" for n in formulas) or "none"
                raise compiler.error(
                    f"unknown calculated field #{name}", token, hint=f"defined: {known}"
                )
            if name in active:
                cycle = " -> ".join(f"#{n}" for n in [*active[active.index(name) :], name])
                raise compiler.error(f"calculated fields refer to each other: {cycle}", token)
            return value(name)

        return resolve

    return {name: value(name).expr for name in formulas}


def check_calculated_names(text: str, node: Node, names: Sequence[str]) -> None:
    """Raise `QuerySyntaxError` at the first `#name` of the query `text` (parsed as `node`) that
    is not one of the rule's calculated fields `names`."""
    for field in fields(node):
        if field.kind is FieldKind.CALCULATED and field.name not in names:
            known = ", ".join(f"#{name}" for name in names) or "none"
            start, end = field.span
            raise QuerySyntaxError.at_offset(
                text,
                f"unknown calculated field #{field.name}",
                start,
                hint=f"the rule's calculatedFields define: {known}",
                width=max(1, end - start),
            )
