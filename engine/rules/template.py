"""Rendering a rule's `message` template for a job result, as Datadog signal notifications do.

SPEC §3.18; the syntax is documented in `docs/templates.md`. A template is parsed once (the parsed
form is cached per distinct template) and rendered against a `MessageContext` describing one result.
Parsing checks everything that can be checked without data (block structure, helper names and
arguments, eval expressions, time zones), so a template that passes `check_template` always renders:
values that are missing or unusable for a given result render as the empty string.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from engine.core.errors import EventError, TemplateError
from engine.core.severity import SEVERITY_RANK
from engine.core.times import parse_timestamp
from engine.rules.template_eval import EvalRuntimeError, evaluate, format_number
from engine.rules.template_parse import (
    Arg,
    Condition,
    Eval,
    LocalTime,
    Node,
    TemplateSyntaxError,
    Text,
    UrlEncode,
    Variable,
    parse_template,
)

__all__ = ["LogFields", "MessageContext", "check_template", "render_message", "wrap_message"]

#: `{{severity}}` values: the integer Datadog renders for each case status.

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SEGMENT = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_PER_QUERY = "events_matched_per_query."
#: The variables every result has (`_Renderer.builtin`).
_BUILTINS = frozenset(
    {
        "severity",
        "timestamp",
        "timestamp_epoch",
        "first_seen",
        "first_seen_epoch",
        "last_seen",
        "last_seen_epoch",
        "rule_name",
        "case_name",
        "events_matched",
    }
)


@dataclass(frozen=True)
class MessageContext:
    """Everything a message template can read about one job result."""

    rule_name: str
    case_name: str
    severity: str
    timestamp_ms: int
    first_seen_ms: int
    last_seen_ms: int
    events_matched: int
    events_matched_per_query: Mapping[str, int]
    attributes: Mapping[str, Any]
    log: Mapping[str, Any]
    tags: Sequence[str]
    group_by: Mapping[str, Any] = field(default_factory=dict)


class LogFields(Mapping[str, Any]):
    """A log as a message template reads it (`MessageContext.log`): its attributes at the top,
    over its other fields; `{**fields, **log["attributes"]}` without copying either."""

    __slots__ = ("_attributes", "_log")

    def __init__(self, log: Mapping[str, Any]) -> None:
        self._log = log
        self._attributes: Mapping[str, Any] = log.get("attributes", {})

    def __getitem__(self, key: str) -> Any:
        if key in self._attributes:
            return self._attributes[key]
        if key != "attributes" and key in self._log:
            return self._log[key]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._attributes or (key != "attributes" and key in self._log)

    def __iter__(self) -> Iterator[str]:
        fields = dict.fromkeys(key for key in self._log if key != "attributes")
        return iter({**fields, **dict.fromkeys(self._attributes)})

    def __len__(self) -> int:
        return sum(1 for _ in self)


def render_message(template: str, context: MessageContext) -> str:
    """Render `template` for one result (the markdown, without the `%%%` wrapping)."""
    nodes = _parsed(template, context.rule_name)
    return "".join(_Renderer(context).render(nodes))


_WRAPPER = "%%%"


def wrap_message(markdown: str) -> str:
    """Datadog's stored message form: `%%%`, newline, the markdown, newline, `%%%`."""
    return f"%%%\n{markdown}\n%%%"


def unwrap_message(message: str) -> str:
    """A stored message without Datadog's `%%%` markdown wrapper (`wrap_message`'s exact
    inverse; a wrapper with other spacing is removed too)."""
    head, tail = f"{_WRAPPER}\n", f"\n{_WRAPPER}"
    if message.startswith(head) and message.endswith(tail) and len(message) >= len(head + tail):
        return message[len(head) : -len(tail)]
    text = message.strip()
    if text.startswith(_WRAPPER) and text.endswith(_WRAPPER) and len(text) >= 2 * len(_WRAPPER):
        text = text[len(_WRAPPER) : -len(_WRAPPER)].strip("\n")
    return text


def check_template(template: str, rule_name: str) -> None:
    """Validate a template without rendering it; raises `TemplateError` naming the rule."""
    _parsed(template, rule_name)


def _parsed(template: str, rule_name: str) -> tuple[Node, ...]:
    try:
        return _parse_cached(template)
    except TemplateSyntaxError as exc:
        raise TemplateError(rule_name, exc.reason, line=exc.line, column=exc.column) from None


@lru_cache(maxsize=1024)
def _parse_cached(template: str) -> tuple[Node, ...]:
    return parse_template(template)


def human_time(epoch_ms: int) -> str:
    """`Mon Jan 01 00:00:00 UTC 1970`: the form of `{{timestamp}}`, `{{first_seen}}`, ..."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return (
        f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
        f"{moment:%H:%M:%S} UTC {moment.year}"
    )


def render_value(value: Any) -> str:
    """How a variable value is written: text as is, numbers as JSON writes them, lists joined
    with `, `, objects as compact JSON, missing (`None`) as the empty string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if isinstance(value, list | tuple):
        return ", ".join(render_value(item) for item in value)
    return str(value)


@lru_cache(maxsize=4096)
def _segments(path: str) -> tuple[str, ...]:
    """The keys of a variable path (`a.b`, `a[b.c]`), parsed once per distinct path."""
    return tuple(bracketed or plain for bracketed, plain in _SEGMENT.findall(path))


def _lookup(node: Any, segments: Sequence[str]) -> Any:
    """The value at `segments` below `node` (None when absent).

    Nested objects are walked key by key; a flat key holding dots (`{"usr.id": ...}`) is found too.
    Crossing a list of objects collects the value from every element, as archive columns do.
    """
    if not segments:
        return node
    if isinstance(node, Mapping):
        for size in range(len(segments), 0, -1):
            key = ".".join(segments[:size])
            if key in node:
                found = _lookup(node[key], segments[size:])
                if found is not None:
                    return found
        return None
    if isinstance(node, list | tuple):
        values: list[Any] = []
        for item in node:
            found = _lookup(item, segments)
            if isinstance(found, list):
                values.extend(found)
            elif found is not None:
                values.append(found)
        return values or None
    return None


class _Renderer:
    """Resolves variables against one context and renders a node tree."""

    def __init__(self, context: MessageContext) -> None:
        self.context = context
        self._tags: dict[str, str] | None = None

    @property
    def tags(self) -> dict[str, str]:
        """The first value of each `key:value` tag, by lower-cased key (made when first read)."""
        if self._tags is None:
            self._tags = {}
            for tag in self.context.tags:
                key, colon, value = tag.partition(":")
                if colon:
                    self._tags.setdefault(key.lower(), value)
        return self._tags

    def builtin(self, name: str) -> Any:
        """The value of a built-in variable (`_BUILTINS`), computed only when a template reads
        it (most messages read none of the times)."""
        context = self.context
        match name:
            case "severity":
                return SEVERITY_RANK.get(context.severity.lower(), context.severity)
            case "timestamp" | "first_seen" | "last_seen":
                return human_time(getattr(context, f"{name}_ms"))
            case "timestamp_epoch" | "first_seen_epoch" | "last_seen_epoch":
                return getattr(context, f"{name.removesuffix('_epoch')}_ms")
            case "rule_name" | "case_name" | "events_matched":
                return getattr(context, name)
        raise AssertionError(name)

    def render(self, nodes: Iterable[Node]) -> Iterable[str]:
        for node in nodes:
            if isinstance(node, Text):
                yield node.text
            elif isinstance(node, Variable):
                yield render_value(self.resolve(node.name))
            elif isinstance(node, Condition):
                yield from self.render(node.body if self.holds(node) else node.otherwise)
            elif isinstance(node, Eval):
                try:
                    yield format_number(evaluate(node.expr, self.resolve))
                except EvalRuntimeError:
                    yield ""
            elif isinstance(node, LocalTime):
                yield self.local_time(node)
            elif isinstance(node, UrlEncode):
                yield quote(render_value(self.resolve(node.variable)), safe="")

    # -- variables ---------------------------------------------------------------------------

    def resolve(self, name: str) -> Any:
        """The value of a variable (None when missing); see docs/templates.md for the order."""
        if name in _BUILTINS:
            return self.builtin(name)
        if name.startswith(_PER_QUERY):
            query = _segments(name[len(_PER_QUERY) :])
            return self.context.events_matched_per_query.get(".".join(query))
        if name.startswith("@"):
            path = name[1:]
            keys = (name,) if path.startswith("@") else (name, path)
            found = self.attribute(_segments(path), *keys)
            return found if found is not None else self.tags.get(path.lower())
        segments = _segments(name)
        if len(segments) == 1 or (len(segments) == 2 and segments[1] == "name"):
            key = segments[0]
            if key.startswith("@"):
                return self.resolve(key)
            if key.lower() in self.tags:
                return self.tags[key.lower()]
        return self.attribute(segments, name, "@" + name)

    def attribute(self, segments: Sequence[str], *group_keys: str) -> Any:
        """An attribute: the result's attributes, then the first sample log, then group-by values.

        A path present in both maps with different values is a merged value (values that differ
        across events); the first sample's value is rendered (SPEC §3.18).
        """
        merged = _lookup(self.context.attributes, segments)
        first = _lookup(self.context.log, segments)
        if first is not None and merged != first:
            return first
        if merged is not None:
            return merged
        for key in group_keys:
            if self.context.group_by.get(key) is not None:
                return self.context.group_by[key]
        return None

    def operand(self, arg: Arg) -> str:
        if arg.quoted or _NUMBER.fullmatch(arg.text):
            return arg.text
        return render_value(self.resolve(arg.text))

    # -- helpers -----------------------------------------------------------------------------

    def holds(self, node: Condition) -> bool:
        value = self.resolve(node.subject)
        if node.helper == "if":
            result = _truthy(value)
        else:
            items = value if isinstance(value, list | tuple) and value else [value]
            texts = [render_value(item) for item in items]
            wanted = [self.operand(arg) for arg in node.operands]
            if node.helper == "is_match":
                result = any(text and want in text for text in texts for want in wanted)
            else:
                result = any(_exactly(text, want) for text in texts for want in wanted)
        return result != node.negated

    def local_time(self, node: LocalTime) -> str:
        name = node.variable.removesuffix("_epoch")
        if name in ("timestamp", "first_seen", "last_seen"):
            epoch_ms: int = getattr(self.context, f"{name}_ms")
        else:
            value = self.resolve(node.variable)
            try:
                epoch_ms = parse_timestamp(value)
            except EventError:
                return ""
        try:
            moment = datetime.fromtimestamp(epoch_ms / 1000, ZoneInfo(node.zone))
        except (OverflowError, OSError, ValueError):
            return ""
        return moment.isoformat(sep=" ", timespec="seconds")


def _truthy(value: Any) -> bool:
    """Present and not empty, false or zero."""
    return value is not None and bool(value)


def _exactly(text: str, wanted: str) -> bool:
    if _NUMBER.fullmatch(text) and _NUMBER.fullmatch(wanted):
        return float(text) == float(wanted)
    return text == wanted
