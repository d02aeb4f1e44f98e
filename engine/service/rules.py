"""The job service's rules: the library folder's (read-only) and those created through the API.

`JobService` is a `RuleService`: the rules API (`/api/v2/security_monitoring/rules`) and `fromRule`
jobs read rules here. A rule sent to be stored is validated as the rules API does; an invalid one
is refused with every problem, still structured (`InvalidDefinitionError`).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.core.errors import (
    InvalidDefinitionError,
    InvalidRequestError,
    NotFoundError,
    RuleValidationError,
)
from engine.rules import Rule, load_rules
from engine.rules.validation import validate_rule
from engine.service.settings import ServiceSettings
from engine.store.rules import RuleStore

_RESPONSE_ONLY = frozenset(
    {
        "id",
        "version",
        "createdAt",
        "updatedAt",
        "isDefault",
        "isDeleted",
        "creator",
        "updater",
        "creationAuthorId",
        "updateAuthorId",
        "defaultTags",
        "isBeta",
        "blocking",
    }
)
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Caller:
    """Who makes a request (the application key's name)."""

    handle: str = "hindsight"
    name: str = "Hindsight"


class RuleService:
    """The rule library and the stored rules (a part of `JobService`)."""

    rules: RuleStore
    library: dict[str, Rule]

    def find_rule(self, rule_id: str) -> Rule | None:
        """A rule created through the API, else one of the library folder."""
        stored = self.rules.get(rule_id)
        if stored is not None:
            return Rule.model_validate(stored.document)
        return self.library.get(rule_id)

    def rule_documents(self) -> list[dict[str, Any]]:
        """Every rule, as the rules API shows it: the library's, then the API-created ones."""
        library = [rule.to_json() for rule in self.library.values()]
        return library + [stored.document for stored in self.rules.all()]

    def rule_document(self, rule_id: str) -> dict[str, Any]:
        """One rule as the rules API shows it (raises `NotFoundError`)."""
        stored = self.rules.get(rule_id)
        if stored is not None:
            return stored.document
        if rule_id in self.library:
            return self.library[rule_id].to_json()
        raise NotFoundError(f"rule {rule_id} was not found")

    def create_rule(self, payload: Any, *, caller: Caller | None = None) -> dict[str, Any]:
        """Validate and store a rule sent to `POST /security_monitoring/rules`."""
        rule_id = "-".join(secrets.token_hex(2)[:3] for _ in range(3))
        while self.rules.get(rule_id) is not None or rule_id in self.library:
            rule_id = "-".join(secrets.token_hex(2)[:3] for _ in range(3))
        now = int(time.time() * 1000)
        return self._store_rule(rule_id, payload, version=1, created_ms=now, caller=caller)

    def update_rule(
        self, rule_id: str, payload: Any, *, caller: Caller | None = None
    ) -> dict[str, Any]:
        """Apply `PUT /security_monitoring/rules/{id}` (fields given replace the stored ones)."""
        if rule_id in self.library and self.rules.get(rule_id) is None:
            raise InvalidRequestError(f"rule {rule_id} belongs to the rule library: read-only")
        stored = self.rules.get(rule_id)
        if stored is None:
            raise NotFoundError(f"rule {rule_id} was not found")
        if not isinstance(payload, Mapping):
            raise InvalidRequestError("the request body must be a rule object")
        merged = {**stored.document, **payload}
        version = int(stored.document.get("version") or 1) + 1
        created_ms = int(stored.document.get("createdAt") or stored.created_ms)
        return self._store_rule(
            rule_id, merged, version=version, created_ms=created_ms, caller=caller
        )

    def delete_rule(self, rule_id: str) -> None:
        """Apply `DELETE /security_monitoring/rules/{id}`."""
        if rule_id in self.library and self.rules.get(rule_id) is None:
            raise InvalidRequestError(f"rule {rule_id} belongs to the rule library: read-only")
        if not self.rules.delete(rule_id):
            raise NotFoundError(f"rule {rule_id} was not found")

    def check_rule(self, payload: Any) -> Rule:
        """The rule a create or update request would store, validated as the rules API does.

        Raises `InvalidRequestError` when `payload` is not an object and `RuleValidationError`
        (every problem, each with its JSON path) when the rule is invalid; stores nothing.
        """
        if not isinstance(payload, Mapping):
            raise InvalidRequestError("the request body must be a rule object")
        body = {key: value for key, value in payload.items() if key not in _RESPONSE_ONLY}
        return validate_rule({"type": "log_detection", **body}, source="request body")

    def _store_rule(
        self,
        rule_id: str,
        payload: Any,
        *,
        version: int,
        created_ms: int,
        caller: Caller | None,
    ) -> dict[str, Any]:
        try:
            rule = self.check_rule(payload)
        except RuleValidationError as exc:
            raise InvalidDefinitionError.of(exc) from None
        who = caller or Caller()
        document = {
            **rule.to_json(),
            "id": rule_id,
            "version": version,
            "createdAt": created_ms,
            "isDefault": False,
            "isDeleted": False,
            "isEnabled": rule.isEnabled if rule.isEnabled is not None else True,
            "creator": {"handle": who.handle, "name": who.name},
        }
        self.rules.put(rule_id, document)
        return document


def library_of(settings: ServiceSettings) -> dict[str, Rule]:
    """The rules of the library folder, by id (their `id`, else the file name)."""
    found: dict[str, Rule] = {}
    folder = settings.rules
    if folder is None:
        return found
    if not folder.is_dir():
        raise InvalidRequestError(f"rule library {folder} is not a folder")
    for path in sorted(folder.rglob("*.json")):
        loaded = load_rules(path)
        for position, rule in enumerate(loaded):
            slug = _SLUG.sub("-", path.stem.lower()).strip("-")
            rule_id = rule.id or (slug if len(loaded) == 1 else f"{slug}-{position}")
            found[rule_id] = rule.model_copy(update={"id": rule_id})
    return found
