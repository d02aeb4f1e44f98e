"""Parse log search query text into the AST (`engine.query.ast`).

`parse(query)` pre-scans the text (quotes, escapes, parentheses), runs lark's LALR(1) parser with
the contextual lexer (grammar in `grammar.lark`), explains lark's failures (`diagnostics`), and
builds the AST from the parse tree (`transformer`). Every failure, for any input string, is a
`QuerySyntaxError` with line, column, caret and (for the common mistakes) a hint. Parsed queries
are cached.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedInput

from engine.core.errors import QuerySyntaxError
from engine.query.ast import Node
from engine.query.diagnostics import diagnose
from engine.query.lexical import LocatedSyntaxError, prescan
from engine.query.transformer import QueryTransformer

_GRAMMAR = Path(__file__).with_name("grammar.lark")


@functools.cache
def _lark() -> Lark:
    return Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def parse(query: str) -> Node:
    """The AST of `query`; raises `QuerySyntaxError` (and nothing else) when it is invalid.

    Results are cached (the same rule query is parsed many times); the tree is immutable.
    """
    if not isinstance(query, str):
        raise QuerySyntaxError(repr(query), f"a query must be text, not {type(query).__name__}")
    return _parse_cached(query)


@functools.lru_cache(maxsize=4096)
def _parse_cached(query: str) -> Node:
    try:
        return _parse(query)
    except LocatedSyntaxError as problem:
        raise error_at(query, problem) from None
    except RecursionError:
        raise QuerySyntaxError(query, "the query is nested too deeply") from None
    except Exception as exc:  # safety net: any other failure is still a syntax error
        raise QuerySyntaxError(
            query, f"the query cannot be parsed ({type(exc).__name__}: {exc})"
        ) from exc


def _terminal(name: str) -> str:
    """The regex of a grammar terminal."""
    return str(_lark().get_terminal(name).pattern.to_regexp())


def error_at(query: str, problem: LocatedSyntaxError) -> QuerySyntaxError:
    """The `QuerySyntaxError` for a problem; the caret stops at the end of its line."""
    start = max(0, min(problem.start, len(query)))
    line_end = query.find("\n", start)
    end = min(problem.end, line_end) if line_end >= 0 else problem.end
    return QuerySyntaxError.at_offset(
        query, problem.reason, start, hint=problem.hint, width=max(1, end - start)
    )


def _parse(query: str) -> Node:
    if not query.strip():
        raise LocatedSyntaxError(
            "the query is empty", 0, max(1, len(query)), "use * to match all logs"
        )
    prescan(query)
    try:
        tree = _lark().parse(query)
    except UnexpectedInput as exc:
        raise diagnose(query, exc) from None
    return QueryTransformer(_terminal).to_ast(tree)
