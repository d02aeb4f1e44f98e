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
"""

from __future__ import annotations

import re

import polars as pl

from engine.query.ast import Glob, Phrase, Term, Wildcard

WORD = r"[\p{L}\p{N}_]"
NON_WORD = r"[^\p{L}\p{N}_]"
#: Candidate numeric tokens in free text (filtered with the numeric guard afterwards).
NUMBER_TOKEN = r"[\p{L}\p{N}_.+\-]+"

_PY_WORD = re.compile(r"[^\W]+")


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


def token_regex(value: Term | Phrase | Wildcard) -> str | None:
    """The regex that finds `value` in a text, or None when it can match nothing."""
    if isinstance(value, Wildcard):
        patterns = [_token_pattern(items) for items in _wildcard_tokens(value.parts)]
    else:
        patterns = words(value.text)
    if not patterns:
        return None
    body = (NON_WORD + "+").join(patterns)
    return f"(?i)(?:^|{NON_WORD}){body}(?:{NON_WORD}|$)"


def contains_tokens(text: pl.Expr, value: Term | Phrase | Wildcard) -> pl.Expr:
    """True when the string `text` holds `value` as token(s) (see the module docstring)."""
    pattern = token_regex(value)
    if pattern is None:
        return pl.lit(False)
    return text.str.contains(pattern)


def numeric_tokens(text: pl.Expr) -> pl.Expr:
    """The candidate numeric tokens of `text`, as a list of strings."""
    return text.str.extract_all(NUMBER_TOKEN)
