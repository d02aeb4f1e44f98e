"""Target parsing, undelivered records, de-duplication, settings validation and the docs example."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine.notify import Delivery, NotificationSettings, Notifier, parse_target
from engine.notify.notifier import MAX_DELAY_SECONDS, backoff_delay
from engine.notify.targets import Channel

DOCS = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"nothing should wait, asked to sleep {seconds}")


def notifier(settings: NotificationSettings | None = None) -> Notifier:
    return Notifier(settings or NotificationSettings(), sleep=no_sleep, clock=lambda: NOW)


@pytest.mark.parametrize(
    ("text", "kind", "name", "integration"),
    [
        pytest.param("@webhook-soc", "webhook", "soc", "", id="webhook"),
        pytest.param("@webhook-soc-team_2", "webhook", "soc-team_2", "", id="webhook-dashes"),
        pytest.param("@Webhook-soc", "webhook", "soc", "", id="webhook-prefix-any-case"),
        pytest.param("webhook-soc", "webhook", "soc", "", id="webhook-without-at"),
        pytest.param("  @webhook-soc  ", "webhook", "soc", "", id="webhook-surrounding-space"),
        pytest.param("@webhook-", "unknown", "", "", id="webhook-without-name"),
        pytest.param("@webhook-soc!", "unknown", "", "", id="webhook-bad-name"),
        pytest.param("@alice@example.com", "email", "alice@example.com", "", id="email"),
        pytest.param("alice@example.com", "email", "alice@example.com", "", id="email-without-at"),
        pytest.param(
            "@first.last+siem@mail.example.co.uk",
            "email",
            "first.last+siem@mail.example.co.uk",
            "",
            id="email-plus-subdomain",
        ),
        pytest.param("@alice@localhost", "unknown", "", "", id="email-without-dotted-domain"),
        pytest.param("@a..b@example.com", "unknown", "", "", id="email-double-dot"),
        pytest.param("@alice@exa mple.com", "unknown", "", "", id="email-with-space"),
        pytest.param("@alice@example.com\nBcc: x@y.com", "unknown", "", "", id="email-injection"),
        pytest.param(
            "@slack-security-alerts", "integration", "security-alerts", "slack", id="slack"
        ),
        pytest.param("@slack-acme-#sec", "integration", "acme-#sec", "slack", id="slack-account"),
        pytest.param(
            "@pagerduty-Security_Oncall",
            "integration",
            "Security_Oncall",
            "pagerduty",
            id="pagerduty",
        ),
        pytest.param("@teams-SOC", "integration", "SOC", "teams", id="teams"),
        pytest.param("@opsgenie-secops", "integration", "secops", "opsgenie", id="opsgenie"),
        pytest.param("@jira-SEC", "integration", "SEC", "jira", id="jira"),
        pytest.param("@slack-", "unknown", "", "", id="slack-without-channel"),
        pytest.param("@carrierpigeon-x", "unknown", "", "", id="unknown-integration"),
        pytest.param("alice", "unknown", "", "", id="plain-handle-without-at"),
        pytest.param("@alice", "unknown", "", "", id="handle-without-domain"),
        pytest.param("", "unknown", "", "", id="empty"),
        pytest.param("@", "unknown", "", "", id="bare-at"),
        pytest.param("@@@", "unknown", "", "", id="garbage-ats"),
        pytest.param("!!! ###", "unknown", "", "", id="garbage-punctuation"),
    ],
)
def test_parse_target(text: str, kind: str, name: str, integration: str) -> None:
    target = parse_target(text)
    assert (target.text, target.kind, target.name, target.integration) == (
        text,
        kind,
        name,
        integration,
    )
    assert target.channel == {"webhook": "webhook", "email": "email"}.get(kind, "none")


UNKNOWN_REASON = (
    "{!r} is not a notification target (expected @webhook-NAME, an email address, "
    "or an integration handle such as @slack-CHANNEL)"
)


@pytest.mark.parametrize(
    ("target", "channel", "detail"),
    [
        pytest.param(
            "@webhook-nope", "webhook", "no webhook named 'nope' is configured", id="webhook"
        ),
        pytest.param("@alice@example.com", "email", "no SMTP server is configured", id="email"),
        pytest.param(
            "@slack-sec", "none", "slack notifications are not delivered by Hindsight", id="slack"
        ),
        pytest.param(
            "@pagerduty-oncall",
            "none",
            "pagerduty notifications are not delivered by Hindsight",
            id="pagerduty",
        ),
        pytest.param(
            "@teams-soc", "none", "teams notifications are not delivered by Hindsight", id="teams"
        ),
        pytest.param(
            "@opsgenie-sec",
            "none",
            "opsgenie notifications are not delivered by Hindsight",
            id="opsgenie",
        ),
        pytest.param("alice", "none", UNKNOWN_REASON.format("alice"), id="plain-handle"),
        pytest.param("", "none", UNKNOWN_REASON.format(""), id="empty"),
    ],
)
def test_undelivered_record_and_reason(target: str, channel: Channel, detail: str) -> None:
    deliveries = notifier().notify([target], {"id": "s1"}, subject="s", text="t")
    assert deliveries == [
        Delivery(
            target=target,
            channel=channel,
            attempt=0,
            outcome="undelivered",
            status_code=None,
            detail=detail,
            at=NOW,
        )
    ]


def test_unencodable_payload_is_undelivered_with_the_reason() -> None:
    settings = NotificationSettings.model_validate(
        {"webhooks": {"soc": {"url": "http://127.0.0.1:9/"}}}
    )
    (delivery,) = notifier(settings).notify(
        ["@webhook-soc"], {"bad": object()}, subject="s", text="t"
    )
    assert (delivery.outcome, delivery.attempt, delivery.channel) == ("undelivered", 0, "webhook")
    assert delivery.detail == (
        "the payload cannot be encoded as JSON: Type is not JSON serializable: object"
    )


def test_targets_are_deduplicated_in_order() -> None:
    targets = [
        "@slack-a",
        "@webhook-x",
        "@slack-a",
        "@Alice@Example.com",
        "alice@example.com",
        " @webhook-x",
        "junk",
        "junk ",
    ]
    deliveries = notifier().notify(targets, {}, subject="s", text="t")
    assert [d.target for d in deliveries] == [
        "@slack-a",
        "@webhook-x",
        "@Alice@Example.com",
        "junk",
    ]


def test_a_lone_string_is_one_target() -> None:
    deliveries = notifier().notify("@slack-sec", {}, subject="s", text="t")
    assert [(d.target, d.channel) for d in deliveries] == [("@slack-sec", "none")]


def test_no_targets_means_no_records() -> None:
    assert notifier().notify([], {"id": "s1"}, subject="s", text="t") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"webhooks": {"soc": {"url": "ftp://example.com/x"}}}, "http:// or https://", id="ftp"
        ),
        pytest.param({"webhooks": {"soc": {"url": "http://"}}}, "with a host", id="no-host"),
        pytest.param({"webhooks": {"soc": {"url": "not a url"}}}, "http:// or https://", id="junk"),
        pytest.param(
            {"webhooks": {"so c": {"url": "http://example.com"}}},
            "cannot be a webhook name",
            id="webhook-name",
        ),
        pytest.param(
            {"webhooks": {"soc": {"url": "http://example.com", "method": "PUT"}}},
            "Extra inputs are not permitted",
            id="webhook-extra-key",
        ),
        pytest.param(
            {"webhooks": {"soc": {"url": "http://example.com", "headers": {"X-A": "1\r\nX-B: 2"}}}},
            "contains a line break",
            id="header-line-break",
        ),
        pytest.param(
            {"webhooks": {"soc": {"url": "http://example.com", "headers": {"X A": "1"}}}},
            "not a valid HTTP header name",
            id="header-name",
        ),
        pytest.param(
            {"webhooks": {"soc": {"url": "http://example.com", "timeout_seconds": 0}}},
            "greater than 0",
            id="timeout-zero",
        ),
        pytest.param({"retries": 3}, "Extra inputs are not permitted", id="top-level-extra-key"),
        pytest.param({"max_attempts": 0}, "greater than or equal to 1", id="max-attempts-zero"),
        pytest.param({"backoff_seconds": -1}, "greater than or equal to 0", id="backoff-negative"),
        pytest.param({"smtp": {"host": "mail"}}, "sender", id="smtp-without-sender"),
        pytest.param(
            {"smtp": {"host": "mail", "sender": "hindsight"}},
            "is not an email address",
            id="smtp-sender",
        ),
        pytest.param(
            {"smtp": {"host": "mail", "sender": "h@example.com", "username": "u"}},
            "set both username and password",
            id="smtp-username-alone",
        ),
        pytest.param(
            {"smtp": {"host": "mail", "sender": "h@example.com", "port": 0}},
            "greater than or equal to 1",
            id="smtp-port",
        ),
    ],
)
def test_invalid_settings_are_a_validation_error(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        NotificationSettings.model_validate(data)


def test_defaults() -> None:
    settings = NotificationSettings()
    assert (settings.webhooks, settings.smtp, settings.max_attempts, settings.backoff_seconds) == (
        {},
        None,
        4,
        0.5,
    )


@pytest.mark.parametrize(
    ("backoff", "attempt", "delay"),
    [
        pytest.param(0.5, 1, 0.5, id="first-retry"),
        pytest.param(0.5, 2, 1.0, id="doubles"),
        pytest.param(0.5, 3, 2.0, id="doubles-again"),
        pytest.param(0.5, 10, MAX_DELAY_SECONDS, id="capped"),
        pytest.param(0.0, 5, 0.0, id="no-backoff"),
    ],
)
def test_backoff_delay(backoff: float, attempt: int, delay: float) -> None:
    settings = NotificationSettings(backoff_seconds=backoff)
    assert backoff_delay(settings, attempt) == delay


def test_docs_configuration_example_loads() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "docs/notifications.md has a TOML example"
    for block in blocks:
        settings = NotificationSettings.model_validate(tomllib.loads(block)["notifications"])
        assert "soc" in settings.webhooks
        assert settings.smtp is not None


def test_delivery_to_json() -> None:
    delivery = Delivery(
        target="@webhook-soc",
        channel="webhook",
        attempt=2,
        outcome="failed",
        status_code=503,
        detail="HTTP 503 Service Unavailable",
        at=datetime(2024, 1, 1, 0, 3, 0, 120_500, tzinfo=UTC),
    )
    assert delivery.to_json() == {
        "target": "@webhook-soc",
        "channel": "webhook",
        "attempt": 2,
        "outcome": "failed",
        "statusCode": 503,
        "detail": "HTTP 503 Service Unavailable",
        "at": "2024-01-01T00:03:00.120Z",
    }
