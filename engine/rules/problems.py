"""Validation problems: pydantic's errors rewritten as `(json_path, message)`, and `validated`.

A model read from JSON is checked in two passes whose problems end up in one `RuleValidationError`:

1. the pydantic model checks shapes, types, enums and ranges; its errors are rewritten here as
   `(json_path, message)` pairs such as `("queries[0].aggregation", "must be one of count,
   cardinality, ... (got 'avg')")`;
2. semantic checks read the raw object (so they run even when pass 1 failed): for rules and job
   definitions, `engine.rules.checks`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from types import NoneType, UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from engine.core.errors import Problem, RuleValidationError

M = TypeVar("M", bound=BaseModel)

_KINDS = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def validated(
    model: type[M],
    data: Any,
    source: str | None,
    checks: Callable[[Mapping[str, Any]], list[Problem]],
    noun: str,
) -> M:
    """`data` as a `model`, or a `RuleValidationError` naming every problem of both passes."""
    if not isinstance(data, Mapping):
        raise RuleValidationError(
            [Problem("", f"must be a JSON object (got {show(data)})")], source=source, noun=noun
        )
    problems: list[Problem] = []
    result: M | None = None
    try:
        result = model.model_validate(dict(data))
    except ValidationError as err:
        problems += pydantic_problems(err, model)
    problems += checks(data)
    if problems or result is None:
        raise RuleValidationError(list(dict.fromkeys(problems)), source=source, noun=noun)
    return result


def pydantic_problems(err: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Rewrite pydantic's errors as (JSON path, message naming what is allowed)."""
    problems = []
    for error in err.errors(include_url=False):
        loc = tuple(error["loc"])
        problems.append(Problem(json_path(loc), _message(error, model, loc)))
    return problems


def json_path(loc: tuple[str | int, ...]) -> str:
    """`("queries", 0, "name")` -> `queries[0].name`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(error: Any, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return _unknown_field(str(loc[-1]), _model_at(model, loc[:-1]))
    if kind in ("literal_error", "enum"):
        allowed = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of {allowed} (got {show(value)})"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]} (got {show(value)})"
    bounds = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">"}
    if kind in bounds:
        limit = ctx.get({">=": "ge", "<=": "le", ">": "gt"}[bounds[kind]])
        return f"must be {bounds[kind]} {limit} (got {show(value)})"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items are allowed (got {ctx.get('actual_length')})"
    return str(error["msg"])


def _unknown_field(name: str, model: type[BaseModel] | None) -> str:
    text = f"unknown field {name!r}"
    if model is None:
        return text
    allowed = [info.alias or field for field, info in model.model_fields.items()]
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"{text}; did you mean {close[0]!r}?"
    if len(allowed) <= 12:
        return f"{text} (allowed: {', '.join(allowed)})"
    return text


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = get_args(current) if get_origin(current) is list else ()
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            current = fields[part].annotation if part in fields else None
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` -> `X`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not NoneType]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def show(value: Any) -> str:
    """A value as a problem message quotes it (`null`, `true`, `'text'`, `a list`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
