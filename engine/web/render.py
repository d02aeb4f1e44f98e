"""Rendering pages: the Jinja2 environment, its filters, safe markdown, and `page(...)`.

Templates live in `templates/` and autoescape everything. Times are rendered as
`<time datetime="...Z">... UTC</time>`; `static/app.js` rewrites them in the browser's time zone
(the UTC text stays when scripts are off). Markdown (result and signal messages) is rendered by
markdown-it-py with raw HTML disabled, so a message can format text but never inject markup;
its link validation refuses `javascript:` and similar URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from engine.core.severity import SEVERITIES_DESCENDING
from engine.core.times import format_timestamp
from engine.rules.template import unwrap_message
from engine.web.access import Viewer
from engine.web.sessions import CSRF_FIELD, CSRF_HEADER, Session

TEMPLATES = Path(__file__).parent / "templates"

#: Severities from the most to the least severe (Datadog's order).

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)


def markdown(text: str | None) -> Markup:
    """Markdown as HTML, raw HTML in it escaped (safe to insert in a page)."""
    return Markup(_MARKDOWN.render(unwrap_message(text or "")))


def iso(epoch_ms: int | None) -> str:
    """RFC 3339 UTC with milliseconds (`2024-03-07T03:14:11.000Z`)."""
    if epoch_ms is None:
        return ""
    return format_timestamp(epoch_ms)


def utc_minute(epoch_ms: int) -> str:
    """`2024-03-04 09:30`: an instant in UTC, to the minute."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def when(epoch_ms: int | None, *, date_only: bool = False) -> Markup:
    """A `<time>` element: UTC text the browser rewrites in its own time zone."""
    if epoch_ms is None:
        return Markup('<span class="muted">-</span>')
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    text = moment.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M:%S") + " UTC"
    kind = ' data-format="date"' if date_only else ""
    return Markup('<time datetime="{}"{}>{}</time>').format(iso(epoch_ms), Markup(kind), text)


def parse_iso(text: Any) -> int | None:
    """Epoch ms of an RFC 3339 text (None when it is not one)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def duration(seconds: float | None) -> str:
    """A duration for people: `0.42 s`, `3 min 5 s`, `3 h`, `2 d 4 h`."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"
    parts: list[str] = []
    rest = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts[:2])


def number(value: Any) -> str:
    """An integer with thousands separators (other values as they are)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    return f"{value:,.0f}"


def pretty_json(value: Any) -> str:
    """Indented JSON (keys in their order)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except TypeError:
        return str(value)


def scalar(value: Any) -> str:
    """A value in a table cell: text as is, lists joined, other values as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    if value is None:
        return "null"
    return orjson.dumps(value).decode()


def severity_badge(severity: Any) -> Markup:
    """A colored severity label."""
    name = str(severity or "info")
    known = name if name in SEVERITIES_DESCENDING else "info"
    return Markup('<span class="sev sev-{}">{}</span>').format(known, name)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        markdown=markdown,
        when=when,
        iso=iso,
        utc_minute=utc_minute,
        duration=duration,
        number=number,
        pretty_json=pretty_json,
        scalar=scalar,
        severity=severity_badge,
    )
    env.globals.update(
        SEVERITIES=SEVERITIES_DESCENDING, CSRF_FIELD=CSRF_FIELD, CSRF_HEADER=CSRF_HEADER
    )
    return env


ENVIRONMENT = _environment()


def render_fragment(name: str, context: Mapping[str, Any]) -> str:
    """A template rendered on its own (for fragments and tests)."""
    return ENVIRONMENT.get_template(name).render(**context)


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    viewer: Viewer | None = None,
    session: Session | None = None,
) -> HTMLResponse:
    """An HTML page: `templates/<name>` with the viewer, CSRF token and flash messages."""
    session = session or (viewer.session if viewer else None)
    partial = request.headers.get("HX-Request") == "true"  # htmx keeps a part: flashes wait
    values: dict[str, Any] = {
        "request": request,
        "viewer": viewer,
        "csrf_token": session.csrf_token if session else "",
        "flashes": session.take_flashes() if session and not partial else [],
        "path": request.url.path,
        **(context or {}),
    }
    return HTMLResponse(render_fragment(name, values), status_code=status)
