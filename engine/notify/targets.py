"""Notification targets written the Datadog way, and what one try at reaching a target came to.

A target is the text a user puts in a `notifications` list: `@webhook-NAME`, `@alice@example.com`,
`@slack-CHANNEL`, `@pagerduty-SERVICE`, ... `parse_target` classifies it. The leading `@` is
optional (`alice@example.com` is the same target as `@alice@example.com`); surrounding whitespace is
ignored. Hindsight itself delivers webhooks and email; integration handles are recognised so they
can be reported as "not delivered by Hindsight", and anything else is an `unknown` target.

`Attempt` is the small result every channel (webhook, email) returns for one try; the notifier
turns it into a `Delivery` record and decides whether to retry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EMAIL_ADDRESS",
    "INTEGRATIONS",
    "WEBHOOK_NAME",
    "Attempt",
    "Channel",
    "Target",
    "TargetKind",
    "parse_target",
]

#: What a target is: a webhook, an email address, a third-party integration handle, or neither.
TargetKind = Literal["webhook", "email", "integration", "unknown"]

#: The channel a delivery went (or would have gone) through; `none` when Hindsight has none.
Channel = Literal["webhook", "email", "none"]

#: Datadog integration prefixes (`@slack-...`, `@pagerduty-...`) Hindsight recognises but does not
#: deliver to.
INTEGRATIONS: frozenset[str] = frozenset(
    {
        "case",
        "hangouts",
        "jira",
        "oncall",
        "opsgenie",
        "pagerduty",
        "servicenow",
        "slack",
        "sns",
        "teams",
        "victorops",
        "webex",
        "workflow",
    }
)

#: The NAME of `@webhook-NAME` (also what the `[notifications.webhooks]` keys must look like).
WEBHOOK_NAME = re.compile(r"[A-Za-z0-9_-]+")

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

#: A plain ASCII email address: a dot-atom local part, a dotted domain ending in a letter TLD.
EMAIL_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
_MAX_EMAIL_LENGTH = 254

# Integration handles: anything without whitespace or another `@` (`#channel`, `team/service`, ...).
_HANDLE = re.compile(r"[^\s@]+")


@dataclass(frozen=True)
class Target:
    """One notification target, classified.

    `text` is the target exactly as written; `name` is the webhook NAME, the email address or the
    integration handle (after `PREFIX-`), and `""` for unknown targets; `integration` is the
    integration prefix (`slack`, `pagerduty`, ...) for integration targets, `""` otherwise.
    """

    text: str
    kind: TargetKind
    name: str = ""
    integration: str = ""

    @property
    def channel(self) -> Channel:
        """The channel Hindsight would deliver this target through (`none` if it has none)."""
        if self.kind == "webhook":
            return "webhook"
        if self.kind == "email":
            return "email"
        return "none"

    @property
    def key(self) -> tuple[str, str]:
        """Identity for de-duplication: two texts with the same key are the same target.

        Email addresses compare case-insensitively; webhook names and integration handles exactly;
        unknown targets by their text without surrounding whitespace.
        """
        if self.kind == "email":
            return ("email", self.name.lower())
        if self.kind == "webhook":
            return ("webhook", self.name)
        if self.kind == "integration":
            return (self.integration, self.name)
        return ("unknown", self.text.strip())


def parse_target(text: str) -> Target:
    """Classify a notification target such as `@webhook-soc`, `@alice@example.com`, `@slack-sec`.

    Never raises: a text that is none of the known forms is a `Target` of kind `unknown`.
    """
    body = text.strip().removeprefix("@")
    if "@" in body:
        if len(body) <= _MAX_EMAIL_LENGTH and EMAIL_ADDRESS.fullmatch(body):
            return Target(text, "email", body)
        return Target(text, "unknown")
    prefix, dash, rest = body.partition("-")
    prefix = prefix.lower()
    if dash and prefix == "webhook" and WEBHOOK_NAME.fullmatch(rest):
        return Target(text, "webhook", rest)
    if dash and prefix in INTEGRATIONS and _HANDLE.fullmatch(rest):
        return Target(text, "integration", rest, prefix)
    return Target(text, "unknown")


@dataclass(frozen=True)
class Attempt:
    """What one try at delivering to a target came to, as a channel reports it.

    `retryable` says whether trying again could help (network errors, timeouts, HTTP 5xx/429,
    SMTP 4xx); `retry_after` is the delay in seconds the receiver asked for, if it asked.
    """

    delivered: bool
    retryable: bool = False
    status_code: int | None = None
    detail: str = ""
    retry_after: float | None = None
