"""Email sending through a local SMTP server (aiosmtpd): the mail as received, threading,
and what a refused login, a refused recipient, a dead server and a stalled server become."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.outbound import email
from gateway.outbound.base import OutboundConfig, Outgoing, SendError, Senders
from tests.fake_smtp import FakeSmtp
from tests.gateway.test_outbound_providers import closed_port

SENDERS = Senders(OutboundConfig(timeout=0.5))  # SMTP needs no HTTP session
ANA = "ana@example.org"


@pytest.fixture
async def smtp() -> AsyncIterator[FakeSmtp]:
    async with FakeSmtp(refuse={"gone@example.org"}) as server:
        yield server


def outgoing(secrets: dict[str, str], **changes: Any) -> Outgoing:
    values: dict[str, Any] = {
        "kind": "email",
        "channel_key": "mail-key",
        "channel_name": "Acme support",
        "secrets": secrets,
        "external_id": ANA,
        "scoped_id": None,
        "text": "Hola Ana,\nsu pedido salió hoy.",
    }
    return Outgoing(**(values | changes))


async def refused(out: Outgoing) -> SendError:
    with pytest.raises(SendError) as caught:
        await email.send(SENDERS, out)
    return caught.value


async def test_reply_is_threaded_under_the_last_mail(smtp: FakeSmtp) -> None:
    meta = {"subject": "Pedido 881", "references": ["a1@mail.example.org"]}
    out = outgoing(smtp.secrets(), reply_to_id="b2@mail.example.org", reply_meta=meta)
    sent = await email.send(SENDERS, out)
    [(mail_from, rcpt, mail)] = smtp.mails
    assert (mail_from, rcpt) == ("help@acme.example", [ANA])
    assert mail["From"] == "Acme Support <help@acme.example>"
    assert mail["To"] == ANA
    assert mail["Subject"] == "Re: Pedido 881"
    assert mail["In-Reply-To"] == "<b2@mail.example.org>"
    assert mail["References"] == "<a1@mail.example.org> <b2@mail.example.org>"
    assert mail["Message-ID"] == f"<{sent.provider_message_id}>"
    assert sent.provider_message_id.endswith("@acme.example")
    assert sent.meta == {"subject": "Re: Pedido 881"}
    assert mail.get_content() == "Hola Ana,\r\nsu pedido salió hoy.\r\n"  # as on the wire


@pytest.mark.parametrize(
    ("subject", "meta", "reply_to", "expected"),
    [
        ("Su pedido", {"subject": "Pedido 881"}, None, "Su pedido"),
        (None, {"subject": "RE: Pedido 881"}, None, "RE: Pedido 881"),
        (None, {}, None, "Acme support"),
        ("   ", {}, "no-at-sign-digest", "Acme support"),
    ],
)
async def test_subject_and_no_threading_without_a_message_id(
    smtp: FakeSmtp, subject: str | None, meta: dict[str, Any], reply_to: str | None, expected: str
) -> None:
    out = outgoing(smtp.secrets(), subject=subject, reply_meta=meta, reply_to_id=reply_to)
    await email.send(SENDERS, out)
    mail = smtp.mails[0][2]
    assert (mail["Subject"], mail["In-Reply-To"], mail["References"]) == (expected, None, None)


async def test_wrong_password(smtp: FakeSmtp) -> None:
    exc = await refused(outgoing(smtp.secrets(smtp_password="nope")))
    assert (exc.code, exc.status, exc.outcome, exc.provider_code) == (
        "provider_auth", 502, "failed", "535"
    )  # fmt: skip
    assert exc.detail.startswith(
        f"the SMTP server 127.0.0.1:{smtp.port} refused the channel's smtp_username/smtp_password"
    )
    assert "nope" not in exc.detail
    assert smtp.mails == []


async def test_refused_recipient(smtp: FakeSmtp) -> None:
    exc = await refused(outgoing(smtp.secrets(), external_id="gone@example.org"))
    assert (exc.code, exc.status, exc.provider_code) == ("invalid_recipient", 422, "550")
    assert exc.detail == (
        f"the SMTP server 127.0.0.1:{smtp.port} refused the mail: 550 5.1.1 <gone@example.org>:"
        " Recipient address rejected: User unknown"
    )


async def test_server_down() -> None:
    secrets = {"smtp_host": "127.0.0.1", "smtp_port": str(closed_port()), "smtp_from": "a@b.c"}
    exc = await refused(outgoing(secrets | {"smtp_security": "none"}))
    assert (exc.code, exc.status, exc.outcome) == ("provider_unreachable", 502, "failed")
    assert exc.detail.startswith("cannot reach the SMTP server 127.0.0.1:")


async def test_stalled_server_is_an_unknown_outcome(smtp: FakeSmtp) -> None:
    smtp.hang_data = True
    exc = await refused(outgoing(smtp.secrets()))
    assert (exc.code, exc.status, exc.outcome) == ("provider_timeout", 504, "unknown")
    assert exc.detail == (
        f"the SMTP server 127.0.0.1:{smtp.port} stopped answering within 0.5 s; the mail may"
        " or may not have been sent"
    )


def test_security_follows_the_port() -> None:
    assert email._security({"smtp_port": "465"}) == "tls"
    assert email._security({}) == "starttls"
    assert email._security({"smtp_port": "465", "smtp_security": "STARTTLS"}) == "starttls"
    assert email._port({"smtp_port": "99999"}) == 587
