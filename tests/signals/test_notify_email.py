"""Email delivery against a tiny local SMTP receiver on 127.0.0.1 (started and stopped per test)."""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from engine.notify import Delivery, NotificationSettings, Notifier

NOW = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
PAYLOAD: dict[str, Any] = {"id": "AQAAAYxyz", "attributes": {"status": "high", "count": 4}}
SUBJECT = "[Hindsight] Brute force on ü ✓"
TEXT = "A signal was created.\n.a line starting with a dot\nSeverity: high\n"
SOCKET_SECONDS = 5.0  # bound on every receiver read


@dataclass(frozen=True)
class Received:
    """One message the receiver accepted: envelope and the message as sent."""

    mail_from: str
    rcpt_to: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class SmtpReceiver(socketserver.ThreadingTCPServer):
    """Speaks enough SMTP (EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT).

    `greetings` and `rcpt_replies` are scripted replies consumed in order (the last one repeats).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, greetings: list[str], rcpt_replies: list[str], auth: bool) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.greetings = greetings
        self.rcpt_replies = rcpt_replies
        self.auth = auth
        self.messages: list[Received] = []
        self.credentials: list[str] = []
        self.sessions = 0
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def scripted(self, replies: list[str]) -> str:
        with self.lock:
            return replies.pop(0) if len(replies) > 1 else replies[0]


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: SmtpReceiver
    disable_nagle_algorithm = True  # small replies go out at once

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.connection.settimeout(SOCKET_SECONDS)
        with self.server.lock:
            self.server.sessions += 1
        greeting = self.server.scripted(self.server.greetings)
        self.reply(greeting)
        if not greeting.startswith("220"):
            return
        mail_from, rcpt_to = "", list[str]()
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb, _, argument = command.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-receiver.test")
                if self.server.auth:
                    self.reply("250-AUTH PLAIN")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 receiver.test")
            elif verb == "AUTH":
                self.server.credentials.append(base64.b64decode(argument.split()[1]).decode())
                self.reply("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                mail_from, rcpt_to = argument.partition(":")[2].strip("<> "), list[str]()
                self.reply("250 OK")
            elif verb == "RCPT":
                reply = self.server.scripted(self.server.rcpt_replies)
                if reply.startswith("250"):
                    rcpt_to.append(argument.partition(":")[2].strip("<> "))
                self.reply(reply)
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self.server.messages.append(Received(mail_from, rcpt_to, self.read_data()))
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def read_data(self) -> bytes:
        lines: list[bytes] = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


@contextmanager
def smtp_receiver(
    *, greetings: tuple[str, ...] = (), rcpt: tuple[str, ...] = (), auth: bool = False
) -> Iterator[SmtpReceiver]:
    server = SmtpReceiver(
        greetings=list(greetings) or ["220 receiver.test ESMTP"],
        rcpt_replies=list(rcpt) or ["250 OK"],
        auth=auth,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run(
    port: int, targets: list[str], *, max_attempts: int = 4, subject: str = SUBJECT, **smtp: Any
) -> tuple[list[Delivery], list[float]]:
    """Notify `targets` through the SMTP server on `port`; deliveries and requested delays."""
    settings = NotificationSettings.model_validate(
        {
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "sender": "Hindsight <hindsight@example.com>",
                "timeout_seconds": 5.0,
                **smtp,
            },
            "max_attempts": max_attempts,
        }
    )
    sleeps: list[float] = []
    notifier = Notifier(settings, sleep=sleeps.append, clock=lambda: NOW)
    return notifier.notify(targets, PAYLOAD, subject=subject, text=TEXT), sleeps


def summary(deliveries: list[Delivery]) -> list[tuple[str, int, str]]:
    return [(d.target, d.attempt, d.outcome) for d in deliveries]


def test_email_is_received_with_subject_body_and_json_attachment() -> None:
    with smtp_receiver() as server:
        deliveries, sleeps = run(server.port, ["@alice@example.com"])
    assert deliveries == [Delivery("@alice@example.com", "email", 1, "delivered", None, "", NOW)]
    assert sleeps == []
    (received,) = server.messages
    assert (received.mail_from, received.rcpt_to) == (
        "hindsight@example.com",
        ["alice@example.com"],
    )
    message = received.message()
    assert message["Subject"] == SUBJECT
    assert message["From"] == "Hindsight <hindsight@example.com>"
    assert message["To"] == "alice@example.com"
    assert message["Date"] == "Mon, 01 Jan 2024 00:00:00 +0000"
    assert message["Message-ID"].endswith("@example.com>")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content() == TEXT
    (attachment,) = message.iter_attachments()
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_content_type() == "application/json"
    assert attachment.get_filename() == "payload.json"
    assert json.loads(attachment.get_content()) == PAYLOAD


def test_one_message_per_address() -> None:
    targets = ["@alice@example.com", "bob@example.org", "@ALICE@example.com"]
    with smtp_receiver() as server:
        deliveries, _ = run(server.port, targets)
    assert summary(deliveries) == [
        ("@alice@example.com", 1, "delivered"),
        ("bob@example.org", 1, "delivered"),
    ]
    assert [m.rcpt_to for m in server.messages] == [["alice@example.com"], ["bob@example.org"]]
    assert [m.message()["To"] for m in server.messages] == ["alice@example.com", "bob@example.org"]


def test_multiline_subject_becomes_one_line() -> None:
    with smtp_receiver() as server:
        run(server.port, ["@alice@example.com"], subject="two\r\nlines\nhere")
    assert server.messages[0].message()["Subject"] == "two lines here"


def test_login_when_credentials_are_configured() -> None:
    with smtp_receiver(auth=True) as server:
        deliveries, _ = run(server.port, ["@alice@example.com"], username="siem", password="pw")
    assert summary(deliveries) == [("@alice@example.com", 1, "delivered")]
    assert server.credentials == ["\0siem\0pw"]


def test_temporary_rejection_is_retried_then_delivered() -> None:
    with smtp_receiver(rcpt=("451 4.3.0 Try again later", "250 OK")) as server:
        deliveries, sleeps = run(server.port, ["@alice@example.com"])
    assert summary(deliveries) == [
        ("@alice@example.com", 1, "failed"),
        ("@alice@example.com", 2, "delivered"),
    ]
    assert deliveries[0].detail == "SMTP 451 4.3.0 Try again later"
    assert sleeps == [0.5]
    assert len(server.messages) == 1


def test_busy_server_is_retried_then_failed() -> None:
    with smtp_receiver(greetings=("421 4.3.2 Busy, come back later",)) as server:
        deliveries, sleeps = run(server.port, ["@alice@example.com"], max_attempts=3)
    assert [(d.attempt, d.outcome, d.detail) for d in deliveries] == [
        (n, "failed", "SMTP 421 4.3.2 Busy, come back later") for n in (1, 2, 3)
    ]
    assert sleeps == [0.5, 1.0]
    assert server.sessions == 3


@pytest.mark.parametrize(
    ("settings", "rcpt", "detail"),
    [
        pytest.param({}, "550 5.1.1 No such user", "SMTP 550 5.1.1 No such user", id="rcpt-550"),
        pytest.param({}, "554 5.7.1 Relay denied", "SMTP 554 5.7.1 Relay denied", id="rcpt-554"),
        pytest.param(
            {"starttls": True},
            "250 OK",
            "SMTPNotSupportedError: STARTTLS extension not supported by server.",
            id="starttls-not-offered",
        ),
        pytest.param(
            {"username": "siem", "password": "pw"},
            "250 OK",
            "SMTPNotSupportedError: SMTP AUTH extension not supported by server.",
            id="auth-not-offered",
        ),
    ],
)
def test_permanent_failure_is_not_retried(settings: dict[str, Any], rcpt: str, detail: str) -> None:
    with smtp_receiver(rcpt=(rcpt,)) as server:
        deliveries, sleeps = run(server.port, ["@alice@example.com"], **settings)
    assert deliveries == [Delivery("@alice@example.com", "email", 1, "failed", None, detail, NOW)]
    assert sleeps == []
    assert server.sessions == 1
    assert server.messages == []


def test_unreachable_server_is_retried_then_failed() -> None:
    deliveries, sleeps = run(closed_port(), ["@alice@example.com"], max_attempts=3)
    assert summary(deliveries) == [("@alice@example.com", n, "failed") for n in (1, 2, 3)]
    assert all(d.detail.startswith("ConnectionRefusedError: ") for d in deliveries)
    assert sleeps == [0.5, 1.0]


def test_silent_server_times_out_and_is_retried() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        deliveries, sleeps = run(
            silent.getsockname()[1], ["@alice@example.com"], max_attempts=2, timeout_seconds=0.2
        )
    assert [(d.attempt, d.outcome, d.detail) for d in deliveries] == [
        (1, "failed", "timed out after 0.2 s"),
        (2, "failed", "timed out after 0.2 s"),
    ]
    assert sleeps == [0.5]
