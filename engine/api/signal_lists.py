"""Listing histsignals and signals: the GET parameters, the search body, and the list response.

`GET` lists and `POST .../search` share one flow: validate the parameters, bound by time in the
store, select with `filter[query]`, sort and cut the page at the cursor, and answer
`{"data", "links": {"next"}, "meta": {"page": {"after"}, "elapsed", "request_id", "status"}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import orjson
from fastapi import Query, Request, Response

from engine.api.documents import Timer, signal_list
from engine.api.filters import select_signals
from engine.api.models import SignalListRequest
from engine.api.paging import (
    BODY_NAMES,
    DEFAULT_SIGNAL_LIMIT,
    MAX_SIGNAL_LIMIT,
    Listed,
    SignalListParams,
    SignalSort,
    encode_cursor,
    next_link,
    signal_list_params,
    signal_page,
)
from engine.store.pages import RawPage

Searchable = Callable[..., list[tuple[int, str, dict[str, Any]]]]
Raw = Callable[[Sequence[str]], dict[str, str]]


class PageFetch(Protocol):
    """A store's keyset page reader (`JobStore.page`, `SignalStore.page`)."""

    def __call__(
        self,
        *,
        start_ms: int | None,
        end_ms: int | None,
        descending: bool,
        after: tuple[int, str] | None,
        limit: int,
    ) -> RawPage: ...


@dataclass(frozen=True)
class Documents:
    """Where a list reads: one keyset page of stored documents, or (to filter) the searchable
    events of a time range (`start_ms=`, `end_ms=`) and then the raw documents of the page."""

    page: PageFetch
    searchable: Searchable
    raw: Raw


#: `filter[from]` / `filter[to]` of a GET list (and of the export).
FilterFrom = Annotated[
    str | None,
    Query(alias="filter[from]", description="Minimum timestamp (RFC 3339 or epoch ms)."),
]
FilterTo = Annotated[
    str | None,
    Query(alias="filter[to]", description="Maximum timestamp (RFC 3339 or epoch ms)."),
]


def signal_query(
    filter_query: Annotated[
        str | None,
        Query(alias="filter[query]", description="Search query (the log search language)."),
    ] = None,
    filter_from: FilterFrom = None,
    filter_to: FilterTo = None,
    sort: Annotated[
        SignalSort | None, Query(description="`-timestamp` (default) or `timestamp`.")
    ] = None,
    page_cursor: Annotated[
        str | None, Query(alias="page[cursor]", description="`meta.page.after` of a page.")
    ] = None,
    page_limit: Annotated[
        int | None,
        Query(
            alias="page[limit]",
            ge=1,
            le=MAX_SIGNAL_LIMIT,
            description=f"Page size (default {DEFAULT_SIGNAL_LIMIT}).",
        ),
    ] = None,
) -> SignalListParams:
    """The validated query parameters of a GET list."""
    return signal_list_params(
        query=filter_query,
        from_value=filter_from,
        to_value=filter_to,
        sort=sort,
        cursor=page_cursor,
        limit=page_limit,
    )


def search_params(body: SignalListRequest | None) -> SignalListParams:
    """The validated parameters of a search body (absent body: the defaults)."""
    body = body or SignalListRequest()
    where = body.filter
    page = body.page
    return signal_list_params(
        query=where.query if where else None,
        from_value=where.from_ if where else None,
        to_value=where.to if where else None,
        sort=body.sort,
        cursor=page.cursor if page else None,
        limit=page.limit if page else None,
        names=BODY_NAMES,
    )


def list_signals(
    documents: Documents,
    params: SignalListParams,
    request: Request,
    timer: Timer,
    *,
    searched: bool = False,
) -> Response:
    """The list response of a GET list or (`searched`) a search.

    Documents go into the body as the store holds them, never parsed. Without a `filter[query]`
    only the page is read; with one, the range's compact searchable events are matched first.
    """
    if params.query is None:
        raw = documents.page(
            start_ms=params.from_ms,
            end_ms=params.to_ms,
            descending=params.sort == "-timestamp",
            after=params.cursor,
            limit=params.limit,
        )
        after = encode_cursor(raw.rows[-1][:2]) if raw.more and raw.rows else None
        body = signal_list([], after, _next_url(request, params, after, searched), timer)
        return _spliced(body, [row[2] for row in raw.rows])
    rows = documents.searchable(start_ms=params.from_ms, end_ms=params.to_ms)
    items = [Listed(timestamp, item_id, event) for timestamp, item_id, event in rows]
    parameter = "filter.query" if searched else "filter[query]"
    selected = select_signals(params.query, items, parameter=parameter)
    page, after = signal_page(selected, params)
    texts = documents.raw([item.id for item in page])
    body = signal_list([], after, _next_url(request, params, after, searched), timer)
    return _spliced(body, [texts[item.id] for item in page if item.id in texts])


def _next_url(
    request: Request, params: SignalListParams, after: str | None, searched: bool
) -> str | None:
    if after is None:
        return None
    if searched:
        base = request.url.replace(path=request.url.path.removesuffix("/search"), query="")
        return next_link(str(base), params, after)
    return str(request.url.include_query_params(**{"page[cursor]": after}))


def _spliced(body: dict[str, Any], documents: list[str]) -> Response:
    """`body` (whose `data` is empty) with the documents' JSON text as its `data`."""
    rendered = orjson.dumps(body)
    data = b'"data":[' + ",".join(documents).encode() + b"]"
    return Response(rendered.replace(b'"data":[]', data, 1), media_type="application/json")
