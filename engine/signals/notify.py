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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.signals.email import SmtpConfig, build_message, send_email
from engine.signals.targets import WEBHOOK_NAME, Attempt, Channel, Target, parse_target
from engine.signals.webhook import WebhookConfig, open_client, post_webhook, user_agent

__all__ = [
    "MAX_DELAY_SECONDS",
    "Delivery",
    "NotificationSettings",
    "Notifier",
    "Outcome",
    "backoff_delay",
]

#: No wait between two attempts is longer than this, whatever the backoff or `Retry-After` says.
MAX_DELAY_SECONDS = 30.0

#: What an attempt came to; `undelivered` means Hindsight did not try (see `Delivery.detail`).
Outcome = Literal["delivered", "failed", "undelivered"]


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
        at = self.at.astimezone(UTC)
        return {
            "target": self.target,
            "channel": self.channel,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "statusCode": self.status_code,
            "detail": self.detail,
            "at": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
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
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._agent = user_agent()

    def notify(
        self, targets: Sequence[str], payload: Mapping[str, Any], *, subject: str, text: str
    ) -> list[Delivery]:
        """Tell every target (in order, de-duplicated) about `payload`; return every record.

        Webhooks receive `payload` as the JSON body; email receives `subject`, `text` as the
        plain-text body and `payload` as a JSON attachment.
        """
        if isinstance(targets, str):  # a lone target, not a sequence of one-letter targets
            targets = [targets]
        body, encoding_error = _encode(payload)
        seen: set[tuple[str, str]] = set()
        deliveries: list[Delivery] = []
        for written in targets:
            target = parse_target(written)
            if target.key in seen:
                continue
            seen.add(target.key)
            deliveries.extend(self._deliver(target, body, encoding_error, subject, text))
        return deliveries

    def _deliver(
        self, target: Target, body: bytes, encoding_error: str, subject: str, text: str
    ) -> list[Delivery]:
        if target.kind == "webhook":
            return self._webhook(target, body, encoding_error)
        if target.kind == "email":
            return self._email(target, body, encoding_error, subject, text)
        if target.kind == "integration":
            reason = f"{target.integration} notifications are not delivered by Hindsight"
            return [self._undelivered(target, reason)]
        reason = (
            f"{target.text!r} is not a notification target "
            "(expected @webhook-NAME, an email address, or an integration handle such as "
            "@slack-CHANNEL)"
        )
        return [self._undelivered(target, reason)]

    def _webhook(self, target: Target, body: bytes, encoding_error: str) -> list[Delivery]:
        config = self.settings.webhooks.get(target.name)
        if config is None:
            return [self._undelivered(target, f"no webhook named {target.name!r} is configured")]
        if encoding_error:
            return [self._undelivered(target, encoding_error)]
        with open_client() as client:
            return self._attempts(
                target, lambda at: post_webhook(client, config, body, agent=self._agent, now=at)
            )

    def _email(
        self, target: Target, body: bytes, encoding_error: str, subject: str, text: str
    ) -> list[Delivery]:
        smtp = self.settings.smtp
        if smtp is None:
            return [self._undelivered(target, "no SMTP server is configured")]
        if encoding_error:
            return [self._undelivered(target, encoding_error)]

        def send(at: datetime) -> Attempt:
            message = build_message(
                smtp, target.name, subject=subject, text=text, payload=body, now=at
            )
            return send_email(smtp, target.name, message)

        return self._attempts(target, send)

    def _attempts(
        self, target: Target, attempt_once: Callable[[datetime], Attempt]
    ) -> list[Delivery]:
        """Try up to `max_attempts` times, waiting between retryable failures.

        `attempt_once(at)` makes one attempt started at `at` (the time the record carries).
        """
        records: list[Delivery] = []
        for number in range(1, self.settings.max_attempts + 1):
            at = self._clock()
            try:
                result = attempt_once(at)
            except Exception as exc:  # a channel bug must not lose the record
                result = Attempt(delivered=False, detail=f"{type(exc).__name__}: {exc}")
            records.append(
                Delivery(
                    target=target.text,
                    channel=target.channel,
                    attempt=number,
                    outcome="delivered" if result.delivered else "failed",
                    status_code=result.status_code,
                    detail="" if result.delivered else result.detail,
                    at=at,
                )
            )
            if result.delivered or not result.retryable:
                break
            if number < self.settings.max_attempts:
                self._sleep(self._delay(number, result.retry_after))
        return records

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
