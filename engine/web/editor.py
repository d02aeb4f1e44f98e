"""The rule editor: a new rule, a duplicate of one, or a stored rule's edit, as JSON.

The text is checked as you type (`POST /rules/validate`, an htmx request after each pause) with
the validation the rules API runs, and again when the form is sent; problems point at the
character they are about (see `rule_check`). Saving goes through the same service calls as
`POST` and `PUT /api/v2/security_monitoring/rules`; like `PUT`, an edit keeps the stored value of
any field the text leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from engine.core.errors import InvalidRequestError
from engine.web.access import RULES_WRITE, Posting, Viewer, Viewing
from engine.web.render import page, render_fragment
from engine.web.rule_check import RuleCheck, check_rule_text
from engine.web.rules import rule_entry, service_of

router = APIRouter(include_in_schema=False)

#: Fields the server sets; the editor leaves them out (the API ignores them in a request).
SERVER_FIELDS = frozenset(
    {"id", "version", "createdAt", "updatedAt", "isDefault", "isDeleted", "creator", "updater"}
    | {"creationAuthorId", "updateAuthorId", "defaultTags", "isBeta", "blocking"}
)

STARTER: dict[str, Any] = {
    "name": "My new rule",
    "type": "log_detection",
    "isEnabled": True,
    "queries": [
        {
            "name": "failed_login",
            "query": "source:okta @evt.name:user.session.start @evt.outcome:failure",
            "aggregation": "count",
            "groupByFields": ["@usr.email"],
            "distinctFields": [],
        }
    ],
    "cases": [{"name": "many failures", "status": "medium", "condition": "failed_login > 5"}],
    "options": {"evaluationWindow": 300, "keepAlive": 900, "maxSignalDuration": 3600},
    "message": "{{@usr.email}} failed to log in {{events_matched}} times.",
    "tags": ["source:okta"],
}


def editable_text(document: dict[str, Any]) -> str:
    """A rule document as the editor shows it (indented, without the server's fields)."""
    shown = {key: value for key, value in document.items() if key not in SERVER_FIELDS}
    return orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode()


@dataclass(frozen=True)
class Target:
    """Where the editor's form goes: a new rule, or a stored rule's new version."""

    action: str
    title: str
    rule_id: str | None = None


NEW_RULE = Target("/rules/new", "New rule")


def _edit_target(rule_id: str, document: dict[str, Any]) -> Target:
    return Target(f"/rules/{rule_id}/edit", f"Edit {document.get('name', rule_id)}", rule_id)


def _editor(
    request: Request, viewer: Viewer, target: Target, text: str, check: RuleCheck | None = None
) -> Response:
    """The editor page over `text` (a 400 when `check` found problems in a sent text)."""
    check = check or check_rule_text(service_of(request), text)
    context = {"text": text, "target": target, "check": check}
    status = 400 if request.method == "POST" and not check.ok else 200
    return page(request, "editor.html", context, status=status, viewer=viewer)


@router.get("/rules/new")
def new_rule(
    request: Request,
    viewer: Viewing,
    from_id: Annotated[str | None, Query(alias="from")] = None,
) -> Response:
    """The editor, with a starter rule or (`?from=ID`) a copy of a rule."""
    viewer.require(RULES_WRITE)
    document = dict(STARTER)
    if from_id:
        original = rule_entry(service_of(request), from_id)
        document = {**original.document, "name": f"Copy of {original.name}"}
    return _editor(request, viewer, NEW_RULE, editable_text(document))


@router.post("/rules/new")
def create_rule(request: Request, viewer: Posting, rule: Annotated[str, Form()] = "") -> Response:
    """Create the rule when the text is valid; else the editor again, with the problems."""
    caller = viewer.require(RULES_WRITE)
    service = service_of(request)
    check = check_rule_text(service, rule)
    if check.payload is None or not check.ok:
        return _editor(request, viewer, NEW_RULE, rule, check)
    document = service.create_rule(check.payload, caller=caller)
    viewer.session.flash(f"Created the rule {document['name']!r}.", "success")
    return RedirectResponse(f"/rules/{document['id']}", status_code=303)


def _stored(request: Request, rule_id: str) -> dict[str, Any]:
    entry = rule_entry(service_of(request), rule_id)
    if not entry.stored:
        raise InvalidRequestError(
            f"The rule {entry.name!r} belongs to the server's rule library and is read-only "
            "here. Duplicate it to make a rule you can edit."
        )
    return entry.document


@router.get("/rules/{rule_id}/edit")
def edit_rule(request: Request, viewer: Viewing, rule_id: str) -> Response:
    """The editor over a stored rule."""
    viewer.require(RULES_WRITE)
    document = _stored(request, rule_id)
    return _editor(request, viewer, _edit_target(rule_id, document), editable_text(document))


@router.post("/rules/{rule_id}/edit")
def update_rule(
    request: Request, viewer: Posting, rule_id: str, rule: Annotated[str, Form()] = ""
) -> Response:
    """Save the edited rule when valid (a new version); else the editor with the problems."""
    caller = viewer.require(RULES_WRITE)
    document = _stored(request, rule_id)
    service = service_of(request)
    check = check_rule_text(service, rule)
    if check.payload is None or not check.ok:
        return _editor(request, viewer, _edit_target(rule_id, document), rule, check)
    saved = service.update_rule(rule_id, check.payload, caller=caller)
    viewer.session.flash(f"Saved version {saved['version']} of {saved['name']!r}.", "success")
    return RedirectResponse(f"/rules/{rule_id}", status_code=303)


@router.post("/rules/validate")
def validate(request: Request, viewer: Posting, rule: Annotated[str, Form()] = "") -> HTMLResponse:
    """The problems of the editor's text, as the fragment the editor shows (htmx)."""
    viewer.require(RULES_WRITE)
    check = check_rule_text(service_of(request), rule)
    return HTMLResponse(render_fragment("editor_problems.html", {"check": check}))
