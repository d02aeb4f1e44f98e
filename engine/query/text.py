"""Free-text matching (SPEC §2.4, §2.11): one case-insensitive token regex per term or phrase.

Text is split into tokens, the maximal runs of word characters (Unicode letters, digits, `_`).

- A term matches a whole token (`hello` matches `Hello, world`, not `helloworld`).
- A phrase, or a term with punctuation (`hello\\-world`), matches its words as consecutive tokens
  with only non-word characters between them (`"hello world"` matches `hello-world`).
- Wildcards are per token and never span a token boundary: `web*` = some token starts with `web`,
  `*web`, `*NETWORK*`, `Alic?` (`?` = one word character). `*` alone is handled as match-all.
- A value with no word character matches nothing.

Free-text comparisons and ranges compare the numeric-looking tokens of the text (`took 2.5 s`
has the number 2.5), where a numeric token is a run of word characters, `.`, `+` and `-` that
parses fully as a number.

Free text reads only string values (SPEC §2.11). A text column may also hold numbers and booleans
written as text (a column whose JSON types disagree, `engine.archive.frame`); such a value
(`NON_STRING_TEXT`) is a string only when the event's raw attributes JSON holds it quoted.
"""

from __future__ import annotations

import re

import polars as pl

from engine.query.ast import Glob, Phrase, Term, Value, Wildcard

#: Columns the default (free-text) field searches, in order.
DEFAULT_TEXT_COLUMNS: tuple[str, ...] = ("message", "@error.message", "@error.stack", "@title")

#: Reserved columns the full-text `*:term` form searches besides every attribute.
FULL_TEXT_RESERVED: tuple[str, ...] = ("message", "host", "service", "source", "status")

WORD = r"[\p{L}\p{N}_]"
NON_WORD = r"[^\p{L}\p{N}_]"
#: Candidate numeric tokens in free text (filtered with the numeric guard afterwards).
NUMBER_TOKEN = r"[\p{L}\p{N}_.+\-]+"

_PY_WORD = re.compile(r"[^\W]+")

#: The text form a number or boolean takes in a text column (`canonical_text`: `404`, `2.5`,
#: `1e+16`, `true`), anchored.
NON_STRING_TEXT = r"^(?:true|false|-?[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?|-?inf|nan)$"
#: A JSON string *value* of that form in compact JSON: quoted, and followed by `,`, `}` or `]`
#: (a key is followed by `:`).
_QUOTED_NON_STRING_TEXT = '"' + NON_STRING_TEXT[1:-1] + '"[,}\\]]'
#: The word tokens of such text (`1e+16` has `1e` and `16`), and the letters they use.
_NON_STRING_WORD = re.compile(r"[0-9]+e?|true|false|inf|nan", re.IGNORECASE)
_NON_STRING_CHARS = frozenset("0123456789truefalsin")


def words(text: str) -> list[str]:
    """The word tokens of `text` (query side; mirrors `WORD`)."""
    return _PY_WORD.findall(text)


def _token_pattern(items: list[str | Glob]) -> str:
    out: list[str] = []
    for item in items:
        if item is Glob.STAR:
            out.append(WORD + "*")
        elif item is Glob.ONE:
            out.append(WORD)
        else:
            out.append(item)  # a word character: never a regex metacharacter
    return "".join(out)


def _wildcard_tokens(parts: tuple[str | Glob, ...]) -> list[list[str | Glob]]:
    """Split a wildcard on its literal non-word characters into per-token patterns."""
    tokens: list[list[str | Glob]] = []
    current: list[str | Glob] = []
    for part in parts:
        if isinstance(part, Glob):
            current.append(part)
            continue
        for char in part:
            if _PY_WORD.fullmatch(char):
                current.append(char)
            elif current:
                tokens.append(current)
                current = []
    if current:
        tokens.append(current)
    return tokens


def token_body(value: Term | Phrase | Wildcard) -> str | None:
    """The token sequence of `value` as a regex (no context), or None when it matches nothing."""
    if isinstance(value, Wildcard):
        patterns = [_token_pattern(items) for items in _wildcard_tokens(value.parts)]
    else:
        patterns = words(value.text)
    if not patterns:
        return None
    return (NON_WORD + "+").join(patterns)


def token_regex(*values: Term | Phrase | Wildcard) -> str | None:
    """The regex that finds any of `values` in a text, or None when none can match anything.

    Several values make one alternation, so an OR of many free-text words is one regex.
    """
    bodies = [body for body in map(token_body, values) if body is not None]
    if not bodies:
        return None
    body = bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")"
    return f"(?i)(?:^|{NON_WORD}){body}(?:{NON_WORD}|$)"


def contains_tokens(text: pl.Expr, value: Term | Phrase | Wildcard) -> pl.Expr:
    """True when the string `text` holds `value` as token(s) (see the module docstring)."""
    pattern = token_regex(value)
    if pattern is None:
        return pl.lit(False)
    return text.str.contains(pattern)


def may_match_non_strings(value: Value) -> bool:
    """Whether `value` could match the text of a number or boolean (`NON_STRING_TEXT`); when not,
    free text need not tell such values from strings. Comparisons and ranges always could."""
    if isinstance(value, Term | Phrase):
        found = words(value.text)
        return bool(found) and all(_NON_STRING_WORD.fullmatch(word) for word in found)
    if isinstance(value, Wildcard):
        literal = "".join(part for part in value.parts if isinstance(part, str))
        return all(char.lower() in _NON_STRING_CHARS for char in "".join(words(literal)))
    return True


def string_only(text: pl.Expr) -> pl.Expr:
    """`text`, null where it may be a number or boolean written as text (see the module doc)."""
    return pl.when(text.str.contains(NON_STRING_TEXT)).then(None).otherwise(text)


def quoted_non_string_text(raw_json: pl.Expr) -> pl.Expr:
    """The string values of a compact JSON text that look like numbers or booleans (a list)."""
    found = raw_json.str.extract_all(_QUOTED_NON_STRING_TEXT)
    return found.list.eval(pl.element().str.strip_chars_end(",}]").str.strip_chars('"'))


def numeric_tokens(text: pl.Expr) -> pl.Expr:
    """The candidate numeric tokens of `text`, as a list of strings."""
    return text.str.extract_all(NUMBER_TOKEN)
