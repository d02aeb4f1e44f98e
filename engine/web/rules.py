"""The rules pages: the library and stored rules (search and filters), one rule, deleting one.

Rules are those `fromRule` jobs run: the server's rule library folder (read-only) and the rules
created through the rules API or the editor (stored). A rule's page shows its queries, cases,
options and message, its recent jobs, and the actions the viewer's key allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from engine.core.errors import NotFoundError
from engine.core.severity import SEVERITIES_DESCENDING as SEVERITIES
from engine.service.jobs import JobService
from engine.web.access import RULES_READ, RULES_WRITE, Posting, Viewing
from engine.web.render import page

router = APIRouter(include_in_schema=False)

ORIGINS = ("library", "stored")


@dataclass(frozen=True)
class RuleEntry:
    """A rule as the pages show it: its id, its JSON document, and where it comes from."""

    id: str
    document: dict[str, Any]
    stored: bool

    @property
    def name(self) -> str:
        """The rule's name."""
        return str(self.document.get("name") or self.id)

    @property
    def origin(self) -> str:
        """`library` (the server's rule folder, read-only) or `stored` (created here)."""
        return "stored" if self.stored else "library"

    @property
    def type(self) -> str:
        """The rule type (`log_detection`, ...)."""
        return str(self.document.get("type") or "log_detection")

    @property
    def method(self) -> str:
        """The detection method."""
        options = self.document.get("options") or {}
        return str(options.get("detectionMethod") or "threshold")

    @property
    def cases(self) -> list[dict[str, Any]]:
        """The rule's cases."""
        return [case for case in self.document.get("cases") or [] if isinstance(case, dict)]

    @property
    def severities(self) -> list[str]:
        """The severity of each case, in case order."""
        return [str(case.get("status", "info")) for case in self.cases]

    @property
    def tags(self) -> list[str]:
        """The rule's tags."""
        return [str(tag) for tag in self.document.get("tags") or []]

    @property
    def queries(self) -> list[dict[str, Any]]:
        """The rule's queries."""
        return [query for query in self.document.get("queries") or [] if isinstance(query, dict)]

    @property
    def enabled(self) -> bool:
        """Whether the rule is enabled (a disabled rule can still be backtested)."""
        return self.document.get("isEnabled") is not False

    def search_text(self) -> str:
        """What the search box matches: id, name, tags and query texts."""
        texts = [self.id, self.name, *self.tags, *(str(q.get("query") or "") for q in self.queries)]
        return "\n".join(texts).casefold()


def all_rules(service: JobService) -> list[RuleEntry]:
    """Every rule: the library's, then the stored ones."""
    library = [
        RuleEntry(rule_id, rule.to_json(), False) for rule_id, rule in service.library.items()
    ]
    stored = [RuleEntry(item.id, item.document, True) for item in service.rules.all()]
    return library + stored


def rule_entry(service: JobService, rule_id: str) -> RuleEntry:
    """One rule (raises `NotFoundError`)."""
    stored = service.rules.get(rule_id)
    if stored is not None:
        return RuleEntry(rule_id, stored.document, True)
    if rule_id in service.library:
        return RuleEntry(rule_id, service.library[rule_id].to_json(), False)
    raise NotFoundError(f"There is no rule {rule_id!r}.")


@dataclass(frozen=True)
class RuleFilters:
    """The filters of the rules list."""

    q: str = ""
    origin: str = ""
    severity: str = ""
    method: str = ""
    tag: str = ""

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any((self.q.strip(), self.origin, self.severity, self.method, self.tag))

    def keep(self, entry: RuleEntry) -> bool:
        """Whether `entry` passes every filter."""
        words = self.q.casefold().split()
        text = entry.search_text()
        return (
            all(word in text for word in words)
            and (not self.origin or entry.origin == self.origin)
            and (not self.severity or self.severity in entry.severities)
            and (not self.method or entry.method == self.method)
            and (not self.tag or self.tag in entry.tags)
        )


def filter_rules(entries: Sequence[RuleEntry], filters: RuleFilters) -> list[RuleEntry]:
    """The entries passing `filters`, by name."""
    kept = [entry for entry in entries if filters.keep(entry)]
    return sorted(kept, key=lambda entry: (entry.name.casefold(), entry.id))


def service_of(request: Request) -> JobService:
    """The job service behind the pages."""
    service = request.app.state.service
    assert isinstance(service, JobService)
    return service


@router.get("/rules")
def rule_list(
    request: Request,
    viewer: Viewing,
    q: str = "",
    origin: str = "",
    severity: str = "",
    method: str = "",
    tag: str = "",
) -> Response:
    """The rules, searched and filtered."""
    viewer.require(RULES_READ)
    service = service_of(request)
    entries = all_rules(service)
    filters = RuleFilters(q, origin if origin in ORIGINS else "", severity, method, tag)
    shown = filter_rules(entries, filters)
    context = {
        "rules": shown,
        "total": len(entries),
        "filters": filters,
        "origins": ORIGINS,
        "severities": SEVERITIES,
        "methods": sorted({entry.method for entry in entries}),
        "tags": sorted({tag for entry in entries for tag in entry.tags}),
        "can_write": viewer.can(RULES_WRITE),
    }
    return page(request, "rules.html", context, viewer=viewer)


@router.get("/rules/{rule_id}")
def rule_page(request: Request, viewer: Viewing, rule_id: str) -> Response:
    """One rule: queries, cases, options, message, recent jobs, actions."""
    viewer.require(RULES_READ)
    service = service_of(request)
    entry = rule_entry(service, rule_id)
    jobs = [job for job in service.jobs.all() if job.created_from_rule_id == rule_id][:10]
    options = {
        key: value
        for key, value in (entry.document.get("options") or {}).items()
        if value not in (None, {}, [])
    }
    context = {
        "rule": entry,
        "options": options,
        "jobs": jobs,
        "can_write": viewer.can(RULES_WRITE),
    }
    return page(request, "rule.html", context, viewer=viewer)


@router.post("/rules/{rule_id}/delete")
def delete_rule(request: Request, viewer: Posting, rule_id: str) -> Response:
    """Delete a stored rule (library rules are read-only)."""
    viewer.require(RULES_WRITE)
    service = service_of(request)
    entry = rule_entry(service, rule_id)
    service.delete_rule(rule_id)
    viewer.session.flash(f"Deleted the rule {entry.name!r}.", "success")
    return RedirectResponse("/rules", status_code=303)
