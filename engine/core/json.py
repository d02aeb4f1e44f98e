"""JSON text (compact and fast, orjson, without losing integers beyond 64 bits), and JSON type
names for messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

#: A JSON number of 19 digits or more, which a 64-bit integer may not hold (or, conservatively,
#: such digits after `:`, `,` or `[` inside a string): digits inside other text
#: (`aws-go-sdk-1722375070115152000`) do not match. A regular expression (for polars; Python's
#: `re` scans for it slowly).
LONG_NUMBER = r"(?:^|[:,\[])\s*-?[0-9]{19}"


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text of `value`; integers beyond 64 bits (which orjson refuses) are kept."""
    try:
        option = orjson.OPT_SORT_KEYS if sort_keys else 0
        return orjson.dumps(value, option=option).decode()
    except TypeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), default=str)


def json_type(value: Any) -> str:
    """The JSON type of a value, as messages name it (`null`, `a boolean`, ..., `an object`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
