"""Parsing message templates: a regex tokenizer and a block-structure parser producing a node tree.

The syntax is the Handlebars subset Datadog documents for signal notifications: `{{var}}`,
`{{{var}}}`, `{{#helper args}}…{{else}}…{{/helper}}`, `{{^helper args}}…{{/helper}}`, inline
helpers `{{eval "…"}}`, `{{local_time "…" "…"}}`, `{{urlencode "…"}}`, raw blocks
`{{{{raw}}}}…{{{{/raw}}}}`, comments `{{! … }}` / `{{!-- … --}}`, and Handlebars whitespace
control (`{{~ … ~}}`, and block tags alone on their line take the line with them). Everything else
is text and passes through untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.rules.template_eval import EvalSyntaxError, Expr, parse_expression

#: How deep `{{#if}}` / `{{#is_match}}` ... blocks may nest (rendering recurses this deep).
MAX_BLOCK_DEPTH = 50


class TemplateSyntaxError(ValueError):
    """A template that cannot be parsed, with the 1-based line and column of the offending tag."""

    def __init__(self, reason: str, line: int, column: int) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {reason}")


@dataclass(frozen=True)
class Arg:
    """A helper argument: a quoted string literal or a bare word (a variable name or a number)."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Text:
    """Literal text, rendered as it is."""

    text: str


@dataclass(frozen=True)
class Variable:
    """`{{name}}` / `{{{name}}}`: a template, attribute or tag variable."""

    name: str


@dataclass(frozen=True)
class Eval:
    """`{{eval "expression"}}`."""

    source: str
    expr: Expr


@dataclass(frozen=True)
class LocalTime:
    """`{{local_time "variable" "Time/Zone"}}` (the zone is checked when parsing)."""

    variable: str
    zone: str


@dataclass(frozen=True)
class UrlEncode:
    """`{{urlencode "variable"}}`."""

    variable: str


@dataclass(frozen=True)
class Condition:
    """A conditional block: `is_match`, `is_exact_match` or `if` (`unless` is a negated `if`)."""

    helper: str
    negated: bool
    subject: str
    operands: tuple[Arg, ...]
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...]


Node = Text | Variable | Eval | LocalTime | UrlEncode | Condition

#: Block helpers and the number of arguments each takes (minimum, maximum or None).
BLOCK_HELPERS: dict[str, tuple[int, int | None]] = {
    "is_match": (2, None),
    "is_exact_match": (2, None),
    "if": (1, 1),
    "unless": (1, 1),
}
#: Inline helpers and the number of arguments each takes.
INLINE_HELPERS: dict[str, int] = {"eval": 1, "local_time": 2, "urlencode": 1}

_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_BODY = r"(?:" + _STRING + r"|[^\"'}]|\}(?!\}))*"
_TAG = re.compile(
    r"\{\{\{\{(?P<raw>.*?)\}\}\}\}"
    r"|\{\{(?P<comment_strip_before>~?)!--(?P<long_comment>.*?)--(?P<comment_strip_after>~?)\}\}"
    r"|\{\{\{(?P<triple>" + _BODY + r")\}\}\}"
    r"|\{\{(?P<tag>" + _BODY + r")\}\}"
    r"|\{\{(?P<loose>[^\n]*?)\}\}"
    r"|(?P<unclosed>\{\{)",
    re.DOTALL,
)
_ARG = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|((?:\[[^\]]*\]|[^\s"\'\[])+))')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_SEGMENT = r"(?:\[[^\]]*\]|[^\s\[\]{}()\"'.]+)"
_VARIABLE_NAME = re.compile(r"@*" + _SEGMENT + r"(?:\." + _SEGMENT + r")*")
_STANDALONE_KINDS = frozenset({"open", "close", "else", "comment", "raw_open", "raw_close"})


@dataclass
class _Tag:
    """One `{{…}}` tag of the token stream (texts are plain strings)."""

    kind: str  # mustache | open | close | else | comment | raw_open | raw_close
    name: str
    offset: int
    args: tuple[Arg, ...] = ()
    negated: bool = False
    strip_before: bool = False
    strip_after: bool = False


@dataclass
class _Frame:
    """An open block while its body is being parsed."""

    tag: _Tag
    body: list[Node] = field(default_factory=list)
    otherwise: list[Node] | None = None


def parse_template(template: str) -> tuple[Node, ...]:
    """Parse a template into nodes; raises `TemplateSyntaxError` at the first problem."""
    return _Builder(template).build(_whitespace_control(_tokenize(template)))


def _position(template: str, offset: int) -> tuple[int, int]:
    line = template.count("\n", 0, offset) + 1
    return line, offset - (template.rfind("\n", 0, offset) + 1) + 1


def _fail(template: str, offset: int, reason: str) -> TemplateSyntaxError:
    return TemplateSyntaxError(reason, *_position(template, offset))


def _tokenize(template: str) -> list[str | _Tag]:
    tokens: list[str | _Tag] = []
    pos = 0
    while (match := _TAG.search(template, pos)) is not None:
        tokens.append(template[pos : match.start()])
        start, pos = match.start(), match.end()
        if match.group("unclosed") is not None:
            raise _fail(template, start, "'{{' is never closed by '}}'")
        if match.group("long_comment") is not None:
            comment = _Tag("comment", "", start)
            comment.strip_before = bool(match.group("comment_strip_before"))
            comment.strip_after = bool(match.group("comment_strip_after"))
            tokens.append(comment)
        elif (raw := match.group("raw")) is not None:
            name, args = _split(template, start, raw.strip())
            if name.startswith("/"):
                raise _fail(template, start, f"'{{{{{{{{{name}}}}}}}}}' closes no raw block")
            closing = re.compile(r"\{\{\{\{\s*/\s*" + re.escape(name) + r"\s*\}\}\}\}")
            end = closing.search(template, pos)
            if end is None:
                raise _fail(template, start, f"raw block '{{{{{{{{{name}}}}}}}}}' is never closed")
            tokens += [_Tag("raw_open", name, start, args), template[pos : end.start()]]
            tokens.append(_Tag("raw_close", name, end.start()))
            pos = end.end()
        else:
            triple = match.group("triple")
            body = triple if triple is not None else match.group("tag") or match.group("loose")
            tokens.append(_classify(template, start, body or "", triple=triple is not None))
    tokens.append(template[pos:])
    return tokens


def _classify(template: str, start: int, body: str, *, triple: bool) -> _Tag:
    text = body.strip()
    strip_before, strip_after = text.startswith("~"), text.endswith("~") and len(text) > 1
    text = text[1 if strip_before else 0 : len(text) - 1 if strip_after else None].strip()
    sigil = text[:1] if text[:1] in ("#", "^", "/", "!", "&", ">") and not triple else ""
    rest = text[len(sigil) :].strip()
    if sigil == "!":
        tag = _Tag("comment", "", start)
    elif sigil == ">":
        raise _fail(template, start, "partials ('{{>') are not supported")
    elif sigil == "^" and not rest:
        tag = _Tag("else", "else", start)
    else:
        if not rest:
            raise _fail(template, start, "empty tag")
        name, args = _split(template, start, rest)
        if sigil in ("", "&") and name == "else":
            if args:
                raise _fail(
                    template, start, "'{{else …}}' takes no arguments; nest a block instead"
                )
            tag = _Tag("else", "else", start)
        elif sigil == "/":
            if args:
                raise _fail(template, start, f"closing tag '{{{{/{name}}}}}' takes no arguments")
            tag = _Tag("close", name, start)
        elif sigil in ("#", "^"):
            tag = _Tag("open", name, start, args, negated=sigil == "^")
        else:
            tag = _Tag("mustache", name, start, args)
    tag.strip_before, tag.strip_after = strip_before, strip_after
    return tag


def _split(template: str, start: int, text: str) -> tuple[str, tuple[Arg, ...]]:
    """The helper / variable name and the arguments of a tag body."""
    args: list[Arg] = []
    pos = 0
    while pos < len(text):
        match = _ARG.match(text, pos)
        if match is None:
            if text[pos:].strip():
                raise _fail(template, start, "unterminated string or '[' in tag")
            break
        double, single, bare = match.groups()
        if bare is None:
            args.append(Arg(_ESCAPE.sub(r"\1", double if double is not None else single), True))
        elif bare.startswith("("):
            raise _fail(template, start, "sub-expressions ('(helper …)') are not supported")
        else:
            args.append(Arg(bare, False))
        pos = match.end()
    if not args or args[0].quoted:
        raise _fail(template, start, "a tag must start with a variable or helper name")
    return args[0].text, tuple(args[1:])


_LINE_END = re.compile(r"[ \t]*(?:\r?\n|\Z)")
_LINE_START = re.compile(r"(?:\A|\n)[ \t]*\Z")


def _whitespace_control(tokens: list[str | _Tag]) -> list[str | _Tag]:
    """Apply Handlebars whitespace rules: standalone block tags and `~` strip markers.

    The token list alternates text, tag, text, …, tag, text (texts may be empty).
    """
    last = len(tokens) - 1
    standalone = []
    for i in range(1, last, 2):
        tag = tokens[i]
        assert isinstance(tag, _Tag)
        before, after = tokens[i - 1], tokens[i + 1]
        assert isinstance(before, str) and isinstance(after, str)
        alone_before = _LINE_START.search(before) is not None and ("\n" in before or i == 1)
        alone_after = _LINE_END.match(after) is not None and ("\n" in after or i + 1 == last)
        if tag.kind in _STANDALONE_KINDS and alone_before and alone_after:
            standalone.append(i)
    for i in standalone:
        tokens[i - 1] = str(tokens[i - 1]).rstrip(" \t")
        tokens[i + 1] = _LINE_END.sub("", str(tokens[i + 1]), count=1)
    for i in range(1, last, 2):
        tag = tokens[i]
        assert isinstance(tag, _Tag)
        if tag.strip_before:
            tokens[i - 1] = str(tokens[i - 1]).rstrip()
        if tag.strip_after:
            tokens[i + 1] = str(tokens[i + 1]).lstrip()
    return tokens


class _Builder:
    """Turns the token stream into the node tree, checking block structure and helper arguments."""

    def __init__(self, template: str) -> None:
        self.template = template

    def fail(self, tag: _Tag, reason: str) -> TemplateSyntaxError:
        return _fail(self.template, tag.offset, reason)

    def build(self, tokens: list[str | _Tag]) -> tuple[Node, ...]:
        root: list[Node] = []
        stack: list[_Frame] = []
        tokens_iter = iter(tokens)
        for token in tokens_iter:
            target = root if not stack else _current(stack[-1])
            if isinstance(token, str):
                if token:
                    target.append(Text(token))
            elif token.kind == "mustache":
                target.append(self.inline(token))
            elif token.kind == "open":
                self.check_block(token)
                if len(stack) >= MAX_BLOCK_DEPTH:
                    raise self.fail(token, f"blocks nest at most {MAX_BLOCK_DEPTH} levels deep")
                stack.append(_Frame(token))
            elif token.kind == "else":
                if not stack:
                    raise self.fail(token, "'{{else}}' outside of a block")
                if stack[-1].otherwise is not None:
                    raise self.fail(token, "a block has at most one '{{else}}'")
                stack[-1].otherwise = []
            elif token.kind == "close":
                target = root if len(stack) < 2 else _current(stack[-2])
                target.append(self.close(token, stack.pop() if stack else None))
            elif token.kind == "raw_open":
                content, _ = next(tokens_iter), next(tokens_iter)
                target.append(self.raw_block(token, str(content)))
        if stack:
            opened = stack[-1].tag
            raise self.fail(
                opened,
                f"block '{_opening(opened)}' is never closed (expected '{{{{/{opened.name}}}}}')",
            )
        return tuple(root)

    def check_block(self, tag: _Tag) -> None:
        if tag.name in INLINE_HELPERS:
            raise self.fail(tag, f"'{tag.name}' is an inline helper: write '{{{{{tag.name} …}}}}'")
        if tag.name not in BLOCK_HELPERS:
            known = ", ".join(BLOCK_HELPERS)
            raise self.fail(tag, f"unknown block helper '{tag.name}' (known: {known})")
        low, high = BLOCK_HELPERS[tag.name]
        if len(tag.args) < low or (high is not None and len(tag.args) > high):
            wanted = "exactly one variable" if high else "a variable and at least one string"
            raise self.fail(tag, f"'{_opening(tag)}' takes {wanted}")
        self.variable_name(tag, tag.args[0].text)
        for arg in tag.args[1:]:
            if not arg.quoted and not _NUMBER.fullmatch(arg.text):
                self.variable_name(tag, arg.text)

    def close(self, tag: _Tag, frame: _Frame | None) -> Node:
        if frame is None:
            raise self.fail(tag, f"closing tag '{{{{/{tag.name}}}}}' has no opening tag")
        opened = frame.tag
        if tag.name != opened.name:
            line, column = _position(self.template, opened.offset)
            raise self.fail(
                tag,
                f"closing tag '{{{{/{tag.name}}}}}' does not match '{_opening(opened)}' "
                f"opened at line {line}, column {column}",
            )
        return self.condition(opened, tuple(frame.body), tuple(frame.otherwise or ()))

    def raw_block(self, tag: _Tag, content: str) -> Node:
        if tag.name == "raw":
            if tag.args:
                raise self.fail(tag, "'{{{{raw}}}}' takes no arguments")
            return Text(content)
        self.check_block(tag)
        return self.condition(tag, (Text(content),) if content else (), ())

    def condition(self, tag: _Tag, body: tuple[Node, ...], otherwise: tuple[Node, ...]) -> Node:
        helper, negated = tag.name, tag.negated
        if helper == "unless":
            helper, negated = "if", not negated
        subject, operands = tag.args[0].text, tag.args[1:]
        return Condition(helper, negated, subject, operands, body, otherwise)

    def inline(self, tag: _Tag) -> Node:
        name, args = tag.name, tag.args
        if name in BLOCK_HELPERS:
            raise self.fail(
                tag, f"'{name}' is a block helper: write '{{{{#{name} …}}}}…{{{{/{name}}}}}'"
            )
        if name not in INLINE_HELPERS:
            if args:
                known = ", ".join(INLINE_HELPERS)
                raise self.fail(tag, f"unknown helper '{name}' (known: {known})")
            return Variable(self.variable_name(tag, name))
        if len(args) != INLINE_HELPERS[name]:
            count = INLINE_HELPERS[name]
            raise self.fail(
                tag, f"'{name}' takes {count} argument{'s' if count > 1 else ''}, got {len(args)}"
            )
        if name == "eval":
            try:
                return Eval(args[0].text, parse_expression(args[0].text))
            except EvalSyntaxError as exc:
                text = args[0].text
                shown = repr(text if len(text) <= 60 else text[:57] + "...")
                raise self.fail(tag, f"bad eval expression {shown}: {exc}") from None
        variable = self.variable_name(tag, args[0].text)
        if name == "urlencode":
            return UrlEncode(variable)
        zone = args[1].text
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                tag,
                f"unknown time zone {zone!r} (use a tz database name such "
                "as 'Europe/Paris' or 'UTC')",
            ) from None
        return LocalTime(variable, zone)

    def variable_name(self, tag: _Tag, name: str) -> str:
        name = name.strip()
        if not _VARIABLE_NAME.fullmatch(name):
            raise self.fail(tag, f"invalid variable name {name!r}")
        return name


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _current(frame: _Frame) -> list[Node]:
    return frame.body if frame.otherwise is None else frame.otherwise


def _opening(tag: _Tag) -> str:
    sigil = "^" if tag.negated else "#"
    return f"{{{{{sigil}{tag.name}}}}}"
