"""`Attack`: a planted attack's public description, one `PLANTED` entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OKTA_LOGIN = "source:okta @evt.name:user.session.start"


@dataclass(frozen=True, slots=True)
class Attack:
    """A planted attack's public description (see `PLANTED`)."""

    name: str
    kind: str
    start: int
    end: int
    actor: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The `PLANTED` entry."""
        return {
            "name": self.name,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "actor": self.actor,
            "details": self.details,
        }
