"""The `{{eval "..."}}` expression language of message templates: a tiny, safe arithmetic parser.

Expressions are parsed once (with the template) into a small tree and evaluated against the result
being rendered; Python's `eval` is never used. Grammar, loosest binding first:

    sum     = product (("+" | "-") product)*
    product = unary (("*" | "/" | "%") unary)*
    unary   = ("-" | "+") unary | power
    power   = atom (("^" | "**") unary)?          right-associative, binds tighter than unary minus
    atom    = number | variable | function "(" sum ("," sum)* ")" | "(" sum ")"

Numbers follow Python semantics: integers stay integers, `/` is true division, `%` takes the sign of
the divisor. An expression nests at most `MAX_DEPTH` levels (parentheses, operators, calls), so
neither parsing nor evaluating it can exhaust the stack. Variables are template variable names
(`first_seen_epoch`, `@network.bytes`, `events_matched_per_query.a`); their values must be numbers
or numeric text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, assert_never

Number = int | float

#: Resolves a variable name to its value (or `None` when the variable is missing).
Resolver = Callable[[str], Any]


class EvalSyntaxError(ValueError):
    """An expression that cannot be parsed; `index` is the 0-based character position."""

    def __init__(self, reason: str, index: int) -> None:
        self.reason = reason
        self.index = index
        super().__init__(f"{reason} (at character {index + 1})")


class EvalRuntimeError(ArithmeticError):
    """An expression that parses but has no value for this result (missing or non-numeric input,
    division by zero, a math domain error, an overflow)."""


@dataclass(frozen=True)
class Num:
    """A numeric literal."""

    value: Number


@dataclass(frozen=True)
class Var:
    """A template variable read as a number."""

    name: str


@dataclass(frozen=True)
class Unary:
    """`-x` or `+x`."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Binary:
    """`left op right` for + - * / % and power (normalised to `**`)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Call:
    """A function call."""

    function: str
    args: tuple[Expr, ...]


Expr = Num | Var | Unary | Binary | Call

_MAX_BITS = 1024  # integers beyond this are an overflow, as for floats

#: How deep an expression may nest: parentheses, chained operators and calls each add a level.
MAX_DEPTH = 50

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>@*(?:\[[^\]]*\]|[A-Za-z_]\w*)(?:\.(?:\[[^\]]*\]|\w+))*)"
    r"|(?P<op>\*\*|[-+*/%^(),])"
    r")"
)


def _sign(x: Number) -> Number:
    return (x > 0) - (x < 0)


def _dec(x: Number) -> Number:
    return float(Decimal(repr(x)) - int(x)) if isinstance(x, float) else 0


def _round(x: Number, digits: Number = 0) -> Number:
    if not math.isfinite(x):
        raise EvalRuntimeError("cannot round a non-finite number")
    places = int(digits)
    rounded = Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return int(rounded) if places <= 0 else float(rounded)


def _as_float(f: Callable[[float], float]) -> Callable[..., Number]:
    return lambda x: f(float(x))


_TRIGONOMETRY = (
    *("sin", "sinh", "asin", "asinh", "cos", "cosh"),
    *("acos", "acosh", "tan", "tanh", "atan", "atanh"),
)

#: Supported functions: name -> (implementation, minimum arity, maximum arity or None).
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    "abs": (abs, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "floor": (math.floor, 1, 1),
    "round": (_round, 1, 2),
    "int": (math.trunc, 1, 1),
    "trunc": (math.trunc, 1, 1),
    "float": (float, 1, 1),
    "dec": (_dec, 1, 1),
    "sgn": (_sign, 1, 1),
    "min": (min, 1, None),
    "max": (max, 1, None),
    "exp": (_as_float(math.exp), 1, 1),
    "log10": (_as_float(math.log10), 1, 1),
    "sqrt": (_as_float(math.sqrt), 1, 1),
    **{name: (_as_float(getattr(math, name)), 1, 1) for name in _TRIGONOMETRY},
    "atan2": (lambda y, x: math.atan2(float(y), float(x)), 2, 2),
}


def parse_expression(text: str) -> Expr:
    """Parse an eval expression; raises `EvalSyntaxError` with the position of the problem."""
    tokens: list[tuple[str, str, int]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None:
            at = len(text) - len(text[pos:].lstrip())
            raise EvalSyntaxError(f"unexpected character {text[at]!r}", at)
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append((kind, value, match.start(kind)))
        pos = match.end()
    if not tokens:
        raise EvalSyntaxError("empty expression", 0)
    parser = _Parser(tokens, len(text))
    expr = parser.sum()
    if parser.index < len(tokens):
        _, value, at = tokens[parser.index]
        raise EvalSyntaxError(f"unexpected {value!r}", at)
    if depth(expr) > MAX_DEPTH:
        raise EvalSyntaxError(_too_deep(), 0)
    return expr


def _too_deep() -> str:
    return f"the expression is nested more than {MAX_DEPTH} levels deep"


def depth(expr: Expr) -> int:
    """How many levels an expression tree has (a literal alone has 1)."""
    deepest = 0
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        match node:
            case Num() | Var():
                children: tuple[Expr, ...] = ()
            case Unary():
                children = (node.operand,)
            case Binary():
                children = (node.left, node.right)
            case Call():
                children = node.args
            case _:
                assert_never(node)
        stack.extend((child, level + 1) for child in children)
    return deepest


class _Parser:
    """Recursive descent over the token list (one method per grammar rule)."""

    def __init__(self, tokens: list[tuple[str, str, int]], length: int) -> None:
        self.tokens = tokens
        self.length = length
        self.index = 0
        self.nesting = 0  # unary() calls in progress: every recursion passes through it

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def expect(self, value: str) -> None:
        if self.peek() != value:
            found = self.peek()
            where = self.tokens[self.index][2] if found is not None else self.length
            raise EvalSyntaxError(f"expected {value!r}, found {found or 'end'!r}", where)
        self.index += 1

    def sum(self) -> Expr:
        expr = self.product()
        while self.peek() in ("+", "-"):
            op = self.tokens[self.index][1]
            self.index += 1
            expr = Binary(op, expr, self.product())
        return expr

    def product(self) -> Expr:
        expr = self.unary()
        while self.peek() in ("*", "/", "%"):
            op = self.tokens[self.index][1]
            self.index += 1
            expr = Binary(op, expr, self.unary())
        return expr

    def unary(self) -> Expr:
        self.nesting += 1
        try:
            if self.nesting > MAX_DEPTH:
                at = self.tokens[min(self.index, len(self.tokens) - 1)][2]
                raise EvalSyntaxError(_too_deep(), at)
            if self.peek() in ("-", "+"):
                op = self.tokens[self.index][1]
                self.index += 1
                return Unary(op, self.unary())
            return self.power()
        finally:
            self.nesting -= 1

    def power(self) -> Expr:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.index += 1
            return Binary("**", base, self.unary())
        return base

    def atom(self) -> Expr:
        if self.index >= len(self.tokens):
            raise EvalSyntaxError("expression ends too early", self.length)
        kind, value, at = self.tokens[self.index]
        self.index += 1
        if kind == "num":
            return Num(float(value) if any(c in value for c in ".eE") else int(value))
        if kind == "name":
            if self.peek() != "(":
                return Var(value)
            if value not in FUNCTIONS:
                known = ", ".join(sorted(FUNCTIONS))
                raise EvalSyntaxError(f"unknown function {value!r} (known: {known})", at)
            return self.call(value, at)
        if value == "(":
            expr = self.sum()
            self.expect(")")
            return expr
        raise EvalSyntaxError(f"unexpected {value!r}", at)

    def call(self, function: str, at: int) -> Expr:
        self.expect("(")
        args = [self.sum()]
        while self.peek() == ",":
            self.index += 1
            args.append(self.sum())
        self.expect(")")
        _, low, high = FUNCTIONS[function]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = (
                str(low) if high == low else f"{low} or more" if high is None else f"{low}-{high}"
            )
            raise EvalSyntaxError(f"{function}() takes {wanted} argument(s), got {len(args)}", at)
        return Call(function, tuple(args))


_NUMERIC = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def to_number(value: Any) -> Number:
    """A variable value as a number: ints and floats as they are, numeric text parsed."""
    if isinstance(value, bool) or value is None:
        raise EvalRuntimeError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        text = value.strip()
        return float(text) if any(c in text for c in ".eE") else int(text)
    raise EvalRuntimeError(f"{value!r} is not a number")


def _checked(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise EvalRuntimeError("integer overflow")
    if isinstance(value, float) and not math.isfinite(value):
        raise EvalRuntimeError("result is not finite")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and 0 <= exponent <= _MAX_BITS:
        result: int = base**exponent
        return result
    return math.pow(float(base), float(exponent))


def evaluate(expr: Expr, resolve: Resolver) -> Number:
    """The value of a parsed expression; raises `EvalRuntimeError` when it has none."""
    try:
        return _checked(_evaluate(expr, resolve))
    except (ArithmeticError, ValueError) as exc:
        raise EvalRuntimeError(str(exc)) from None


def _evaluate(expr: Expr, resolve: Resolver) -> Number:
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Var):
        return to_number(resolve(expr.name))
    if isinstance(expr, Unary):
        operand = _evaluate(expr.operand, resolve)
        return -operand if expr.op == "-" else operand
    if isinstance(expr, Call):
        function = FUNCTIONS[expr.function][0]
        return _checked(function(*(_evaluate(arg, resolve) for arg in expr.args)))
    left, right = _evaluate(expr.left, resolve), _evaluate(expr.right, resolve)
    if expr.op == "+":
        result = left + right
    elif expr.op == "-":
        result = left - right
    elif expr.op == "*":
        result = left * right
    elif expr.op == "/":
        result = left / right
    elif expr.op == "%":
        result = left % right
    else:
        result = _power(left, right)
    return _checked(result)


def format_number(value: Number) -> str:
    """How an eval result is written: integers as digits, floats as Python writes them."""
    return str(value) if isinstance(value, int) else repr(value)
