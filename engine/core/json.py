"""JSON text: compact and fast (orjson), without losing integers beyond 64 bits."""

from __future__ import annotations

import json
from typing import Any

import orjson


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text of `value`; integers beyond 64 bits (which orjson refuses) are kept."""
    try:
        option = orjson.OPT_SORT_KEYS if sort_keys else 0
        return orjson.dumps(value, option=option).decode()
    except TypeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), default=str)
