"""A local SMTP server (aiosmtpd) on 127.0.0.1 for the email sending tests: it checks AUTH,
refuses chosen recipients with 550, keeps every accepted mail, and can hang on DATA."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "mailer", "smtp-password"


@dataclass
class FakeSmtp:
    """The server; `port` once started, `mails` as received."""

    refuse: set[str] = field(default_factory=set)
    hang_data: bool = False
    mails: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> FakeSmtp:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def secrets(self, **changes: str) -> dict[str, str]:
        """Channel secrets that send through this server."""
        base = {
            "smtp_host": "127.0.0.1",
            "smtp_port": str(self.port),
            "smtp_security": "none",
            "smtp_username": USER,
            "smtp_password": PASSWORD,
            "smtp_from": "Acme Support <help@acme.example>",
        }
        return {**base, **changes}

    def _protocol(self) -> SMTP:
        return SMTP(
            self,
            hostname="fake-smtp",
            authenticator=_authenticate,
            auth_require_tls=False,
            loop=asyncio.get_running_loop(),
        )

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        """Refuse the chosen addresses, accept the rest."""
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the mail (or hang, when told to)."""
        if self.hang_data:
            await self._release.wait()
            return "451 4.3.0 gave up"
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mails.append((str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 OK queued"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 235 or 535 itself
