"""Notifying targets: the settings, the retry policy, and one `Delivery` record per attempt.

`Notifier.notify(targets, payload, subject=..., text=...)` tells every target (in order, each
target once) and returns what happened: one `Delivery` per attempt for webhooks and email, and one
`undelivered` record (attempt 0) for a target Hindsight cannot deliver to: an integration handle
(`@slack-...`), a webhook NAME or an email with nothing configured, or text that is not a target.
Nothing is dropped silently, and nothing is raised for a delivery problem.

Retry policy: a retryable failure (network error, timeout, HTTP 5xx/408/429, SMTP 4xx) is tried
again after `backoff_seconds`, doubling each time and capped at `MAX_DELAY_SECONDS`, up to
`max_attempts` attempts in all. A `Retry-After` on HTTP 429/503 asks for at least that long (also
capped). Other failures are final at once.

`on_delivery` is told of each record as soon as it exists (so a caller can store progress), and a
notifier whose `stopped()` turns true makes no further attempt: the targets it did not finish get
an `undelivered` record saying the server stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.core.times import format_timestamp
from engine.notify.email import SmtpConfig, build_message, send_email
from engine.notify.targets import WEBHOOK_NAME, Attempt, Channel, Target, parse_target
from engine.notify.webhook import WebhookConfig, open_client, post_webhook, user_agent

__all__ = [
    "MAX_DELAY_SECONDS",
    "Delivery",
    "NotificationSettings",
    "Notifier",
    "Outcome",
    "backoff_delay",
    "distinct_targets",
]

#: No wait between two attempts is longer than this, whatever the backoff or `Retry-After` says.
MAX_DELAY_SECONDS = 30.0

#: What an attempt came to; `undelivered` means Hindsight did not try (see `Delivery.detail`).
Outcome = Literal["delivered", "failed", "undelivered"]

#: Why a stopped notifier did not (or no longer) try a target.
STOPPED_BEFORE_SENDING = "the server stopped before this notification was sent"
STOPPED_BEFORE_RETRYING = "the server stopped before the retries ended"


class NotificationSettings(BaseModel):
    """The `[notifications]` block of the server's configuration file."""

    model_config = ConfigDict(extra="forbid")

    webhooks: dict[str, WebhookConfig] = Field(default_factory=dict)
    smtp: SmtpConfig | None = None
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_seconds: float = Field(default=0.5, ge=0, le=MAX_DELAY_SECONDS)

    @field_validator("webhooks")
    @classmethod
    def _webhook_names(cls, value: dict[str, WebhookConfig]) -> dict[str, WebhookConfig]:
        for name in value:
            if not WEBHOOK_NAME.fullmatch(name):
                raise ValueError(
                    f"{name!r} cannot be a webhook name (letters, digits, '_' and '-' only)"
                )
        return value


@dataclass(frozen=True)
class Delivery:
    """One delivery attempt, or one `undelivered` record (attempt 0) for a target not tried.

    `target` is the target as written; `status_code` is the HTTP status of a webhook response
    (None for email and when no response came); `detail` says why an attempt failed or a target
    was not delivered, and is `""` when delivered; `at` is the aware UTC time of the attempt.
    """

    target: str
    channel: Channel
    attempt: int
    outcome: Outcome
    status_code: int | None
    detail: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready document (camelCase keys, `at` as RFC 3339 UTC with milliseconds)."""
        return {
            "target": self.target,
            "channel": self.channel,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "statusCode": self.status_code,
            "detail": self.detail,
            "at": format_timestamp(self.at),
        }


def backoff_delay(settings: NotificationSettings, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based) before the next one."""
    return min(settings.backoff_seconds * 2.0 ** (attempt - 1), MAX_DELAY_SECONDS)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Delivers notifications as `settings` say; `sleep` and `clock` are injectable for tests.

    Synchronous and stateless between calls: safe to call from a worker thread.
    """

    def __init__(
        self,
        settings: NotificationSettings,
        *,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._stopped = stopped
        self._agent = user_agent()

    def notify(
        self,
        targets: Sequence[str],
        payload: Mapping[str, Any],
        *,
        subject: str,
        text: str,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> list[Delivery]:
        """Tell every target (in order, de-duplicated) about `payload`; return every record.

        Webhooks receive `payload` as the JSON body; email receives `subject`, `text` as the
        plain-text body and `payload` as a JSON attachment. `on_delivery` sees each record as
        soon as it is made.
        """
        body, encoding_error = _encode(payload)
        deliveries: list[Delivery] = []
        for target in distinct_targets(targets):
            if self._stopped():
                found: Iterator[Delivery] = iter(
                    [self._undelivered(target, STOPPED_BEFORE_SENDING)]
                )
            else:
                found = self._deliver(target, body, encoding_error, subject, text)
            for delivery in found:
                deliveries.append(delivery)
                if on_delivery is not None:
                    on_delivery(delivery)
        return deliveries

    def _deliver(
        self, target: Target, body: bytes, encoding_error: str, subject: str, text: str
    ) -> Iterator[Delivery]:
        if target.kind == "webhook":
            yield from self._webhook(target, body, encoding_error)
        elif target.kind == "email":
            yield from self._email(target, body, encoding_error, subject, text)
        elif target.kind == "integration":
            reason = f"{target.integration} notifications are not delivered by Hindsight"
            yield self._undelivered(target, reason)
        else:
            reason = (
                f"{target.text!r} is not a notification target "
                "(expected @webhook-NAME, an email address, or an integration handle such as "
                "@slack-CHANNEL)"
            )
            yield self._undelivered(target, reason)

    def _webhook(self, target: Target, body: bytes, encoding_error: str) -> Iterator[Delivery]:
        config = self.settings.webhooks.get(target.name)
        if config is None:
            yield self._undelivered(target, f"no webhook named {target.name!r} is configured")
        elif encoding_error:
            yield self._undelivered(target, encoding_error)
        else:
            with open_client() as client:
                yield from self._attempts(
                    target,
                    lambda at: post_webhook(client, config, body, agent=self._agent, now=at),
                )

    def _email(
        self, target: Target, body: bytes, encoding_error: str, subject: str, text: str
    ) -> Iterator[Delivery]:
        smtp = self.settings.smtp
        if smtp is None:
            yield self._undelivered(target, "no SMTP server is configured")
            return
        if encoding_error:
            yield self._undelivered(target, encoding_error)
            return

        def send(at: datetime) -> Attempt:
            message = build_message(
                smtp, target.name, subject=subject, text=text, payload=body, now=at
            )
            return send_email(smtp, target.name, message)

        yield from self._attempts(target, send)

    def _attempts(
        self, target: Target, attempt_once: Callable[[datetime], Attempt]
    ) -> Iterator[Delivery]:
        """Try up to `max_attempts` times, waiting between retryable failures.

        `attempt_once(at)` makes one attempt started at `at` (the time the record carries).
        """
        for number in range(1, self.settings.max_attempts + 1):
            at = self._clock()
            try:
                result = attempt_once(at)
            except Exception as exc:  # a channel bug must not lose the record
                result = Attempt(delivered=False, detail=f"{type(exc).__name__}: {exc}")
            yield Delivery(
                target=target.text,
                channel=target.channel,
                attempt=number,
                outcome="delivered" if result.delivered else "failed",
                status_code=result.status_code,
                detail="" if result.delivered else result.detail,
                at=at,
            )
            if result.delivered or not result.retryable:
                return
            if number < self.settings.max_attempts:
                self._sleep(self._delay(number, result.retry_after))
                if self._stopped():
                    yield self._undelivered(target, STOPPED_BEFORE_RETRYING)
                    return

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = backoff_delay(self.settings, attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_DELAY_SECONDS))
        return delay

    def _undelivered(self, target: Target, detail: str) -> Delivery:
        return Delivery(
            target=target.text,
            channel=target.channel,
            attempt=0,
            outcome="undelivered",
            status_code=None,
            detail=detail,
            at=self._clock(),
        )


def distinct_targets(targets: Sequence[str]) -> list[Target]:
    """The targets of a list, in order, each once (`a@example.com` = `@a@example.com`)."""
    if isinstance(targets, str):  # a lone target, not a sequence of one-letter targets
        targets = [targets]
    found: dict[tuple[str, str], Target] = {}
    for written in targets:
        target = parse_target(written)
        found.setdefault(target.key, target)
    return list(found.values())


def _encode(payload: Mapping[str, Any]) -> tuple[bytes, str]:
    """The payload as JSON bytes, or `b""` and the reason it cannot be encoded."""
    try:
        return orjson.dumps(payload, default=_json_default, option=orjson.OPT_NON_STR_KEYS), ""
    except (TypeError, orjson.JSONEncodeError) as exc:
        return b"", f"the payload cannot be encoded as JSON: {exc}"


def _json_default(value: object) -> object:
    """JSON for the few non-JSON types a payload may reasonably hold (mappings, sets)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
