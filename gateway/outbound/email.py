"""Email through the channel's SMTP server (aiosmtplib): a plain-text reply to the person.

Secrets: `smtp_host`, `smtp_from` (the From address, `Support <help@acme.example>` allowed);
optional `smtp_port` (587; 465 means implicit TLS), `smtp_username`, `smtp_password`,
`smtp_security` (`starttls` (default), `tls` or `none`). A reply to the person's last mail is
threaded: `Re: <their subject>`, with In-Reply-To and References.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import aiosmtplib

from gateway.outbound.base import Limit, Outgoing, SendError, Senders, Sent, clip

KINDS = ("email",)
SECRETS = ("smtp_host", "smtp_from")
LIMITS = {"email": Limit(100_000)}
WINDOWS: dict[str, timedelta] = {}
PROVIDER = "SMTP server"
SECURITY = ("starttls", "tls", "none")
MAX_SUBJECT = 200


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Send the mail; the stored id is its Message-ID (without the angle brackets)."""
    secrets = out.secrets
    message = compose(out)
    host, port, security = secrets["smtp_host"], _port(secrets), _security(secrets)
    try:
        await aiosmtplib.send(
            message,
            hostname=host,
            port=port,
            username=secrets.get("smtp_username") or None,
            password=secrets.get("smtp_password") or None,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            timeout=senders.config.timeout,
        )
    except aiosmtplib.SMTPException as exc:
        raise error(exc, f"{host}:{port}", senders.config.timeout) from None
    except OSError as exc:
        raise SendError(
            "provider_unreachable", f"cannot reach the SMTP server {host}:{port}: {exc.strerror}"
        ) from None
    message_id = str(message["Message-ID"]).strip("<>")
    return Sent(message_id, {"subject": str(message["Subject"])})


def compose(out: Outgoing) -> EmailMessage:
    """The mail: From, To, Subject, Date, Message-ID, threading headers, the text."""
    sender = out.secrets["smtp_from"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message = EmailMessage()
    message["From"] = sender
    message["To"] = out.external_id
    message["Subject"] = subject(out)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=domain)
    parent = out.reply_to_id if out.reply_to_id and "@" in out.reply_to_id else None
    if parent:
        references = [str(r) for r in out.reply_meta.get("references") or [] if r != parent]
        message["In-Reply-To"] = f"<{parent}>"
        message["References"] = " ".join(f"<{r}>" for r in [*references, parent])
    message.set_content(out.text)
    return message


def subject(out: Outgoing) -> str:
    """The given subject, else `Re:` the person's last subject, else the channel's name."""
    if out.subject and out.subject.strip():
        return clip(out.subject, MAX_SUBJECT)
    last = out.reply_meta.get("subject")
    if isinstance(last, str) and last.strip():
        last = clip(last, MAX_SUBJECT)
        return last if last.lower().startswith("re:") else f"Re: {last}"
    return clip(out.channel_name, MAX_SUBJECT) or "Message"


def _port(secrets: Mapping[str, str]) -> int:
    value = secrets.get("smtp_port") or ""
    return int(value) if value.isdigit() and 0 < int(value) < 65536 else 587


def _security(secrets: Mapping[str, str]) -> str:
    value = (secrets.get("smtp_security") or "").lower()
    if value in SECURITY:
        return value
    return "tls" if _port(secrets) == 465 else "starttls"


def error(exc: aiosmtplib.SMTPException, where: str, timeout: float) -> SendError:
    """What an SMTP failure means."""
    said = f"the SMTP server {where} refused the mail: {clip(_text(exc))}"
    if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError):
        return SendError("provider_timeout", f"the SMTP server {where} did not answer within"
                         f" {timeout:g} s; nothing was sent")  # fmt: skip
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return SendError(
            "provider_timeout",
            f"the SMTP server {where} stopped answering within {timeout:g} s; the mail may or"
            " may not have been sent",
            outcome="unknown",
        )
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return SendError("provider_unreachable", f"cannot reach the SMTP server {where}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SendError(
            "provider_auth",
            f"the SMTP server {where} refused the channel's smtp_username/smtp_password:"
            f" {clip(_text(exc))}",
            provider_code=str(exc.code),
        )
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPRecipientRefused):
        return SendError("invalid_recipient", said, provider_code=_code(exc))
    return SendError("provider_error", said, provider_code=_code(exc))


def _text(exc: aiosmtplib.SMTPException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return _text(exc.recipients[0])
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return str(exc) or type(exc).__name__


def _code(exc: Any) -> str | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        return _code(exc.recipients[0])
    code = getattr(exc, "code", None)
    return str(code) if code is not None else None
