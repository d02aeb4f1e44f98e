"""Checking the rule editor's JSON text: the API's validation, each problem placed in the text.

`check_rule_text` parses the text and runs `JobService.check_rule` (what `POST
/security_monitoring/rules` runs). Each problem keeps the validation's path and message and, where
it can be placed, the character range of the editor text it is about (UTF-16 offsets, as a
browser's `setSelectionRange` counts): a JSON syntax error at its character, a query, condition or
template error at the offending character inside the string (the line and column the validation
problem carries), any other problem on the whole value. A query
syntax error also carries the CLI's caret message (`QuerySyntaxError.render()`: position, reason,
the query line, a caret under the problem, and the hint).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from engine.core.errors import InvalidRequestError, QuerySyntaxError, RuleValidationError
from engine.core.errors import Problem as ValidationProblem
from engine.query import parse
from engine.service.jobs import JobService

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_DECODER = json.JSONDecoder()
_SIMPLE_ESCAPE_LENGTH = 2
_UNICODE_ESCAPE_LENGTH = 6


@dataclass(frozen=True)
class Problem:
    """One problem of the rule text."""

    path: str
    message: str
    caret: str | None = None  # the CLI's caret message of a query syntax error
    start: int | None = None  # UTF-16 offsets of the text the problem is about
    end: int | None = None


@dataclass(frozen=True)
class RuleCheck:
    """The outcome of checking a rule text."""

    problems: list[Problem] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    summary: str = ""

    @property
    def ok(self) -> bool:
        """Whether the text is a valid rule."""
        return not self.problems and self.payload is not None


def check_rule_text(service: JobService, text: str) -> RuleCheck:
    """Parse and validate the editor's text as the rules API would."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.split("\n")[exc.lineno - 1] if text else ""
        caret = f"  {line}\n  {' ' * (exc.colno - 1)}^"
        message = f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        start = _utf16(text, exc.pos)
        return RuleCheck([Problem("(JSON)", message, caret, start, start + 1)])
    if not isinstance(payload, dict):
        return RuleCheck([Problem("(root)", "must be a JSON object: the rule")])
    try:
        rule = service.check_rule(payload)
    except InvalidRequestError as exc:
        return RuleCheck([Problem("(root)", str(exc))], payload)
    except RuleValidationError as exc:
        return RuleCheck([_placed(text, payload, problem) for problem in exc.problems])
    queries, cases = len(rule.queries), len(rule.cases)
    summary = f"{queries} quer{'y' if queries == 1 else 'ies'}, {cases} case{'s' * (cases != 1)}"
    return RuleCheck([], payload, summary)


def _placed(text: str, payload: Any, problem: ValidationProblem) -> Problem:
    """A validation problem with its place in `text` (when the path leads to a value): inside a
    string value, at the line and column the problem gives."""
    path, message = problem
    parts = path_parts(path)
    span = locate(text, parts) if parts is not None else None
    value = value_at(payload, parts) if parts is not None else None
    if span is None:
        return Problem(path or "(root)", message)
    start, end = span
    caret = None
    line, column = problem.line, problem.column
    if isinstance(value, str) and line and column and text[start : start + 1] == '"':
        offset = _offset_in(value, line, column)
        width = 1
        if message.startswith("invalid query"):
            try:
                parse(value)
            except QuerySyntaxError as err:
                caret = err.render()
                offset = _offset_in(value, err.line, err.column)
                width = err.width
        first = _raw_offset(text, start, offset)
        last = _raw_offset(text, start, min(offset + width, len(value)))
        start, end = first, max(last, first + 1)
    return Problem(path, message, caret, _utf16(text, start), _utf16(text, end))


def path_parts(path: str) -> list[str | int] | None:
    """`queries[0].query` -> `["queries", 0, "query"]` (None for an empty or odd path)."""
    if not path:
        return None
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(path):
        key, index = match.groups()
        parts.append(int(index) if index is not None else key)
    return parts or None


def value_at(payload: Any, parts: list[str | int]) -> Any:
    """The value at `parts` in a parsed JSON value (None when absent)."""
    current = payload
    for part in parts:
        try:
            if isinstance(part, int):
                current = current[part] if isinstance(current, list) else None
            else:
                current = current[part] if isinstance(current, dict) else None
        except (IndexError, KeyError):
            return None
        if current is None:
            return None
    return current


def locate(text: str, parts: list[str | int]) -> tuple[int, int] | None:
    """The `[start, end)` character range of the value at `parts` in the JSON `text`."""
    try:
        position = _skip(text, 0)
        for part in parts:
            found = _child(text, position, part)
            if found is None:
                return None
            position = found
        _, end = _DECODER.raw_decode(text, position)
    except (ValueError, IndexError):
        return None
    return position, end


def _skip(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    return match.end() if match else position


def _child(text: str, position: int, part: str | int) -> int | None:
    """Where the member `part` of the object or array at `position` starts (last one wins)."""
    opening = text[position]
    if (opening, isinstance(part, str)) not in (("{", True), ("[", False)):
        return None
    closing = "}" if opening == "{" else "]"
    position = _skip(text, position + 1)
    found: int | None = None
    index = 0
    while text[position] != closing:
        if opening == "{":
            key, position = _DECODER.raw_decode(text, position)
            position = _skip(text, position)
            position = _skip(text, position + 1)  # the ':'
            if key == part:
                found = position
        elif index == part:
            found = position
        _, position = _DECODER.raw_decode(text, position)
        position = _skip(text, position)
        if text[position] == ",":
            position = _skip(text, position + 1)
        index += 1
    return found


def _offset_in(value: str, line: int, column: int) -> int:
    """The 0-based offset of a 1-based line and column in `value`."""
    lines = value.split("\n")
    before = sum(len(item) + 1 for item in lines[: max(0, line - 1)])
    return min(len(value), before + max(0, column - 1))


def _raw_offset(text: str, quote: int, index: int) -> int:
    """Where the `index`-th decoded character of the JSON string at `quote` starts in `text`."""
    position = quote + 1
    for _ in range(index):
        if text[position] != "\\":
            position += 1
        elif text[position + 1] != "u":
            position += _SIMPLE_ESCAPE_LENGTH
        else:
            code = int(text[position + 2 : position + 6], 16)
            position += _UNICODE_ESCAPE_LENGTH
            pair = text[position : position + 2] == "\\u"
            if 0xD800 <= code < 0xDC00 and pair:  # a surrogate pair is one character
                position += _UNICODE_ESCAPE_LENGTH
    return position


def _utf16(text: str, offset: int) -> int:
    """A code-point offset of `text` as UTF-16 code units (what a textarea counts)."""
    return len(text[:offset].encode("utf-16-le")) // 2
