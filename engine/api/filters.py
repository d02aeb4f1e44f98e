"""`filter[query]` over API documents: the log search language (SPEC §2) via `engine.match`.

The API never parses a query itself. Each document becomes a log event built so that the query
language's own rules find the fields a user names:

- jobs: `id:`, `jobName:`, `jobStatus:`, `createdByHandle:`, `createdFromRuleId:` are tag-style
  terms (no `@`), so each job carries the tags `id:<id>`, `jobname:<name>`, ... (tag keys and
  values are case-insensitive in the language, so `jobName:Brute*` and `jobStatus:COMPLETED` work,
  with wildcards). Free text searches the job name (the event's message). The same fields are
  also attributes, so `@jobName:...` is an exact, case-sensitive match.
- histsignals and signals: the searchable event the store keeps beside each document
  (`engine/store/search.py`), so `status:high`, `source:auth`, `@workflow.rule.name:foo`,
  `@usr.id:alice`, `env:prod` and free text work as they do on logs.

A query that does not parse is a 400 naming the reason, line and column. A query longer than
`MAX_QUERY_CHARS` characters or with more than `MAX_QUERY_TERMS` terms is a 400 naming the limit:
every free-text term costs a regular expression per text column, so a bounded query keeps one
request from holding a worker for seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, assert_never

from engine.api.errors import ApiError, problem
from engine.api.paging import Listed
from engine.core.errors import QuerySyntaxError
from engine.match import match
from engine.query import (
    And,
    Cidr,
    Exists,
    FieldMatch,
    FreeText,
    FullText,
    MatchAll,
    Node,
    Not,
    Or,
    parse,
)
from engine.query.text import words
from engine.store.jobs import JobRecord

T = TypeVar("T")

#: The longest `filter[query]` accepted, in characters.
MAX_QUERY_CHARS = 4096
#: The most terms a `filter[query]` may have (a phrase or wildcard counts one per word).
MAX_QUERY_TERMS = 100


def job_event(record: JobRecord) -> dict[str, Any]:
    """The log event a job's filter query is matched against."""
    values = {
        "id": record.id,
        "jobName": record.name,
        "jobStatus": record.status,
        "createdByHandle": record.created_by_handle,
        "createdFromRuleId": record.created_from_rule_id,
    }
    present = {name: value for name, value in values.items() if value}
    return {
        "id": record.id,
        "timestamp": record.created_us // 1000,
        "message": record.name,
        "tags": [f"{name.lower()}:{value}" for name, value in present.items()],
        "attributes": present,
    }


def select(
    query: str | None,
    items: Sequence[T],
    event: Callable[[T], dict[str, Any]],
    *,
    parameter: str = "filter[query]",
) -> list[T]:
    """The items whose event matches `query` (all of them when there is no query)."""
    if query is None or not query.strip():
        return list(items)
    if len(query) > MAX_QUERY_CHARS:
        raise _too_big(parameter, f"{len(query)} characters long", f"{MAX_QUERY_CHARS} characters")
    try:
        terms = query_terms(parse(query))
        if terms > MAX_QUERY_TERMS:
            raise _too_big(parameter, f"made of {terms} terms", f"{MAX_QUERY_TERMS} terms")
        kept = match(query, [event(item) for item in items])
    except QuerySyntaxError as exc:
        raise problem(
            400,
            f"{parameter}: {exc}",
            source={"parameter": parameter},
            meta={"reason": exc.reason, "line": exc.line, "column": exc.column},
        ) from None
    return [item for item, keep in zip(items, kept, strict=True) if keep]


def _too_big(parameter: str, size: str, limit: str) -> ApiError:
    detail = f"{parameter}: the query is {size}; at most {limit} are allowed"
    return problem(400, detail, source={"parameter": parameter})


def query_terms(node: Node) -> int:
    """How many terms a parsed query has: one per leaf, but a phrase or wildcard one per word,
    and a `CIDR(...)` one per block."""
    total = 0
    stack = [node]
    while stack:
        item = stack.pop()
        match item:
            case And() | Or():
                stack.extend(item.children)
            case Not():
                stack.append(item.child)
            case FreeText() | FullText() | FieldMatch():
                total += max(1, len(words(str(item.value))))
            case Cidr():
                total += len(item.blocks)
            case MatchAll() | Exists():
                total += 1
            case _:
                assert_never(item)
    return total


def select_jobs(query: str | None, records: Sequence[JobRecord]) -> list[JobRecord]:
    """The jobs `filter[query]` selects."""
    return select(query, records, job_event)


def select_signals(
    query: str | None, items: Sequence[Listed], *, parameter: str = "filter[query]"
) -> list[Listed]:
    """The histsignals or signals `filter[query]` selects (items hold their searchable event)."""
    return select(query, items, lambda item: item.document, parameter=parameter)
