"""Channel registry: kind name -> the module that verifies and parses its webhooks.

A channel module provides:

- ``KINDS``: the channel kinds it serves (``("twilio_sms", "twilio_whatsapp")``);
- ``SECRETS``: the secret names a channel of that kind must be configured with;
- ``MAX_BODY``: the largest body accepted, in bytes;
- ``ACK``: the :class:`~gateway.channels.base.Ack` sent once messages are stored;
- ``verify(secrets, request)``: raises ``SignatureError`` unless the raw request is authentic;
- ``parse(kind, request)``: returns a ``ParseResult`` or raises ``PayloadError``;
- optionally ``GENERATED_SECRETS``: those of ``SECRETS`` the gateway may choose itself
  (`contactgate channel add` makes them up when not given; the others come from the provider);
- optionally ``handshake(secrets, request) -> str`` for a provider's ``GET`` verification;
- optionally ``OFF_LOOP_BYTES`` and ``OFF_PROCESS_BYTES``: bodies at least that large are
  verified and parsed in a worker thread, or in the worker process (gateway.parsing);
- optionally ``admit(request)``, called on the event loop after parse and before the write
  (the email channel refuses a spent Mailgun token there), and ``settle(request, status)``,
  told the status the request was answered with (the token is spent once its mail is stored
  or refused for good).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Protocol, cast

from gateway.channels import bird, email, meta, telegram, twilio, vonage, webchat, whatsapp
from gateway.channels.base import Ack, ParseResult, WebhookRequest


class ChannelModule(Protocol):
    """The static shape of a channel module (see the module docstring)."""

    KINDS: tuple[str, ...]
    SECRETS: tuple[str, ...]
    MAX_BODY: int
    ACK: Ack

    def verify(self, secrets: Mapping[str, str], request: WebhookRequest) -> None: ...

    def parse(self, kind: str, request: WebhookRequest) -> ParseResult: ...


def _register(*modules: ModuleType) -> dict[str, ChannelModule]:
    return {kind: cast(ChannelModule, m) for m in modules for kind in m.KINDS}


CHANNELS: dict[str, ChannelModule] = _register(
    telegram, whatsapp, twilio, meta, bird, vonage, email, webchat
)


def handshake_of(kind: str) -> Callable[[Mapping[str, str], WebhookRequest], str] | None:
    """The GET handshake of a channel kind, if its provider has one."""
    return getattr(CHANNELS[kind], "handshake", None)
