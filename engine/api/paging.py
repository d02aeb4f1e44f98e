"""Paging of signal-shaped lists: sort, opaque cursors, page limits and `links.next` (SPEC §4.4).

Histsignal and signal lists sort by `(timestamp, id)`: `-timestamp` (the default) is newest first
with ties by descending id, `timestamp` the exact reverse, so each order is total and a cursor can
say "after this key". The cursor is the URL-safe base64 of the last item's key; `meta.page.after`
carries it while more items exist, and `links.next` is the same request URL with `page[cursor]`.
A cursor is at most `MAX_CURSOR_CHARS` long; anything else is 400 `invalid cursor`.
Times in filters are RFC 3339 date-times or epoch milliseconds, from year 0001 to 9999.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple
from urllib.parse import urlencode

import orjson

from engine.api.errors import bad_parameter
from engine.core.times import EARLIEST_MS, LATEST_MS, format_timestamp

MAX_SIGNAL_LIMIT = 1000
DEFAULT_SIGNAL_LIMIT = 10
SignalSort = Literal["timestamp", "-timestamp"]
SIGNAL_SORTS: tuple[str, ...] = ("timestamp", "-timestamp")
#: The longest cursor accepted (the server's cursors are about 100 characters).
MAX_CURSOR_CHARS = 512
MAX_CURSOR_ID_CHARS = 128

_EPOCH_MS = re.compile(r"-?\d+\Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Listed:
    """One signal-shaped document with its sort key."""

    timestamp_ms: int
    id: str
    document: dict[str, Any]

    @property
    def key(self) -> tuple[int, str]:
        """The sort key."""
        return (self.timestamp_ms, self.id)


@dataclass(frozen=True)
class SignalListParams:
    """The validated parameters of a histsignal or signal list request."""

    query: str | None = None
    from_ms: int | None = None
    to_ms: int | None = None
    sort: SignalSort = "-timestamp"
    cursor: tuple[int, str] | None = None
    limit: int = DEFAULT_SIGNAL_LIMIT

    def query_params(self, cursor: str) -> dict[str, str]:
        """The GET query parameters that ask for the page after `cursor`."""
        params: dict[str, str] = {}
        if self.query:
            params["filter[query]"] = self.query
        if self.from_ms is not None:
            params["filter[from]"] = format_timestamp(self.from_ms)
        if self.to_ms is not None:
            params["filter[to]"] = format_timestamp(self.to_ms)
        params["sort"] = self.sort
        params["page[cursor]"] = cursor
        params["page[limit]"] = str(self.limit)
        return params


def parse_time(name: str, value: str | int | None) -> int | None:
    """Epoch ms of an RFC 3339 date-time or epoch-ms value; a 400 naming `name` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise bad_parameter(name, f"must be a date-time or epoch milliseconds (got {value!r})")
    if isinstance(value, int):
        epoch_ms = value
    elif _EPOCH_MS.match(text := value.strip()):
        epoch_ms = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            delta = moment - _EPOCH
        except (ValueError, OverflowError):
            raise bad_parameter(
                name, f"must be an RFC 3339 date-time or epoch milliseconds (got {value[:80]!r})"
            ) from None
        epoch_ms = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    if not EARLIEST_MS <= epoch_ms <= LATEST_MS:
        raise bad_parameter(
            name,
            f"must be between {format_timestamp(EARLIEST_MS)} and {format_timestamp(LATEST_MS)} "
            f"(epoch ms {EARLIEST_MS} to {LATEST_MS}; got {epoch_ms})",
        )
    return epoch_ms


def encode_cursor(key: tuple[int, str]) -> str:
    """The opaque cursor of a sort key."""
    raw = json.dumps([key[0], key[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(name: str, cursor: str | None) -> tuple[int, str] | None:
    """The sort key inside a cursor; a 400 `invalid cursor` naming `name` when it is not ours."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) <= MAX_CURSOR_CHARS:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            timestamp, item_id = orjson.loads(raw)
            if (
                type(timestamp) is int
                and EARLIEST_MS <= timestamp <= LATEST_MS
                and isinstance(item_id, str)
                and len(item_id) <= MAX_CURSOR_ID_CHARS
            ):
                return (timestamp, item_id)
        except (ValueError, TypeError, binascii.Error):
            pass
    raise bad_parameter(name, "invalid cursor (not a cursor this server returned)")


class ParamNames(NamedTuple):
    """How a request names the list parameters (in error messages)."""

    from_: str
    to: str
    sort: str
    cursor: str
    limit: str


QUERY_NAMES = ParamNames("filter[from]", "filter[to]", "sort", "page[cursor]", "page[limit]")
BODY_NAMES = ParamNames("filter.from", "filter.to", "sort", "page.cursor", "page.limit")


def signal_list_params(
    *,
    query: str | None,
    from_value: str | int | None,
    to_value: str | int | None,
    sort: str | None,
    cursor: str | None,
    limit: int | None,
    names: ParamNames = QUERY_NAMES,
) -> SignalListParams:
    """Validated list parameters; a 400 naming the parameter when one is wrong."""
    from_ms = parse_time(names.from_, from_value)
    to_ms = parse_time(names.to, to_value)
    if from_ms is not None and to_ms is not None and from_ms > to_ms:
        raise bad_parameter(names.from_, f"must not be after {names.to}")
    if sort is not None and sort not in SIGNAL_SORTS:
        raise bad_parameter(names.sort, f"must be timestamp or -timestamp (got {sort!r})")
    if limit is not None and not 1 <= limit <= MAX_SIGNAL_LIMIT:
        raise bad_parameter(names.limit, f"must be between 1 and {MAX_SIGNAL_LIMIT} (got {limit})")
    return SignalListParams(
        query=query if query and query.strip() else None,
        from_ms=from_ms,
        to_ms=to_ms,
        sort="timestamp" if sort == "timestamp" else "-timestamp",
        cursor=decode_cursor(names.cursor, cursor),
        limit=limit if limit is not None else DEFAULT_SIGNAL_LIMIT,
    )


def signal_page(
    items: Sequence[Listed], params: SignalListParams
) -> tuple[list[Listed], str | None]:
    """The page `params` asks for, and the cursor of the next page (None on the last page)."""
    descending = params.sort == "-timestamp"
    ordered = sorted(items, key=lambda item: item.key, reverse=descending)
    if params.cursor is not None:
        after = params.cursor
        ordered = [
            item for item in ordered if (item.key < after if descending else item.key > after)
        ]
    page = ordered[: params.limit]
    more = len(ordered) > params.limit
    return page, encode_cursor(page[-1].key) if more and page else None


def next_link(base_url: str, params: SignalListParams, cursor: str) -> str:
    """`links.next`: the list URL with the parameters of the next page."""
    return f"{base_url}?{urlencode(params.query_params(cursor))}"
