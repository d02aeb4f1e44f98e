"""Email delivery: one SMTP message per address, text body plus the JSON payload as an attachment.

`build_message` writes the message; `send_email` makes exactly one SMTP session for it and
classifies the outcome (retrying is the notifier's job). Connection errors, timeouts, a dropped
connection and 4xx replies are retryable; 5xx replies, a missing STARTTLS or AUTH extension and a
TLS certificate that does not verify are final.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.notify.targets import EMAIL_ADDRESS, Attempt

__all__ = ["ATTACHMENT_NAME", "SmtpConfig", "build_message", "send_email"]

#: File name of the JSON payload attached to every email.
ATTACHMENT_NAME = "payload.json"


class SmtpConfig(BaseModel):
    """The SMTP server Hindsight sends email through, and the `From` it sends as.

    `sender` is an address (`hindsight@example.com`) or a name and an address
    (`Hindsight <hindsight@example.com>`). `username` and `password` go together; with them
    Hindsight logs in (after STARTTLS when `starttls` is set).
    """

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @field_validator("host")
    @classmethod
    def _one_word_host(cls, value: str) -> str:
        if value != value.strip() or any(char.isspace() for char in value):
            raise ValueError("the SMTP host must not contain whitespace")
        return value

    @field_validator("sender")
    @classmethod
    def _sender_address(cls, value: str) -> str:
        if "\r" in value or "\n" in value or not EMAIL_ADDRESS.fullmatch(parseaddr(value)[1]):
            raise ValueError(f"{value!r} is not an email address (or `Name <address>`)")
        return value

    @model_validator(mode="after")
    def _credentials_together(self) -> SmtpConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password, or neither")
        return self

    @property
    def sender_address(self) -> str:
        """The bare address of `sender` (the SMTP envelope sender)."""
        return parseaddr(self.sender)[1]


def build_message(
    config: SmtpConfig, address: str, *, subject: str, text: str, payload: bytes, now: datetime
) -> EmailMessage:
    """The message for one address: `subject`, plain-text `text`, and `payload` (JSON) attached.

    Line breaks in `subject` become spaces (a header is one line).
    """
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = address
    message["Subject"] = " ".join(subject.splitlines())
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=config.sender_address.rpartition("@")[2])
    message.set_content(text)
    message.add_attachment(
        payload, maintype="application", subtype="json", filename=ATTACHMENT_NAME
    )
    return message


def send_email(config: SmtpConfig, address: str, message: EmailMessage) -> Attempt:
    """Send `message` to `address` in one SMTP session; never raises."""
    smtp = smtplib.SMTP(timeout=config.timeout_seconds)
    try:
        code, greeting = smtp.connect(config.host, config.port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, greeting)
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username is not None:
            smtp.login(config.username, config.password or "")
        smtp.send_message(message, from_addr=config.sender_address, to_addrs=[address])
        _quit(smtp)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = exc.recipients.get(address) or next(iter(exc.recipients.values()))
        return _reply(code, reply)
    except smtplib.SMTPResponseException as exc:
        return _reply(exc.smtp_code, exc.smtp_error)
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
            return _timed_out(config)
        return Attempt(delivered=False, retryable=True, detail=_describe(exc))
    except smtplib.SMTPNotSupportedError as exc:
        return Attempt(delivered=False, retryable=False, detail=_describe(exc))
    except TimeoutError:
        return _timed_out(config)
    except ssl.SSLCertVerificationError as exc:
        return Attempt(delivered=False, retryable=False, detail=_describe(exc))
    except smtplib.SMTPException as exc:
        return Attempt(delivered=False, retryable=False, detail=_describe(exc))
    except OSError as exc:
        return Attempt(delivered=False, retryable=True, detail=_describe(exc))
    except Exception as exc:  # never raise for a delivery problem
        return Attempt(delivered=False, retryable=False, detail=_describe(exc))
    finally:
        smtp.close()
    return Attempt(delivered=True)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say QUIT after an accepted message; the message is delivered whatever the reply."""
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()


def _timed_out(config: SmtpConfig) -> Attempt:
    return Attempt(
        delivered=False, retryable=True, detail=f"timed out after {config.timeout_seconds:g} s"
    )


def _reply(code: int, reply: bytes | str) -> Attempt:
    """A failure from an SMTP reply: 5xx is final, anything else (4xx, no code) is retryable."""
    text = reply.decode("utf-8", errors="replace") if isinstance(reply, bytes) else reply
    text = " ".join(text.split())
    detail = f"SMTP {code} {text}".rstrip() if code > 0 else f"SMTP error: {text}"
    return Attempt(delivered=False, retryable=not 500 <= code <= 599, detail=detail)


def _describe(exc: Exception) -> str:
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
