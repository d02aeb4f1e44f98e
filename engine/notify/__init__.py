"""Signals: job results converted to signals (`convert`), and notification delivery.

`Notifier(settings).notify(targets, payload, subject=..., text=...)` tells each target
(`@webhook-NAME`, `@user@example.com`, `@slack-...`, ...) and returns one `Delivery` per attempt,
plus an `undelivered` record for every target Hindsight does not deliver to (docs/notifications.md).
"""

from engine.notify.email import SmtpConfig
from engine.notify.notifier import Delivery, NotificationSettings, Notifier
from engine.notify.targets import Target, parse_target
from engine.notify.webhook import WebhookConfig

__all__ = [
    "Delivery",
    "NotificationSettings",
    "Notifier",
    "SmtpConfig",
    "Target",
    "WebhookConfig",
    "parse_target",
]
