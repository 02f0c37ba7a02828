"""Outbound messages: send a text to a contact on one of its channels and record the attempt.

``PROVIDERS`` maps a channel kind to the module that sends on it (see gateway.outbound.base for
the module shape). A new provider, web chat for instance, is one more module registered here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Protocol, cast

import aiohttp
import structlog
from aiohttp import web

from gateway import keys
from gateway.outbound import bird, email, meta, telegram, twilio, vonage, webchat, whatsapp
from gateway.outbound.base import Limit, Outgoing, SendError, Senders, Sent, Template
from store import outbound as records
from store.access import Actor
from store.errors import Conflict, Invalid
from store.messages import MessageInfo

log = structlog.get_logger("contactgate.outbound")


@dataclass(frozen=True, slots=True)
class Delivery:
    """A send's message as stored; `recorded` is False when the provider answered but the
    database failed to complete the row, which then still says `sending`."""

    message: MessageInfo
    recorded: bool = True


class Provider(Protocol):
    """The static shape of a provider module."""

    KINDS: tuple[str, ...]
    SECRETS: tuple[str | tuple[str, ...], ...]
    LIMITS: Mapping[str, Limit]
    WINDOWS: Mapping[str, timedelta]

    async def send(self, senders: Senders, out: Outgoing) -> Sent: ...


def _register(*modules: ModuleType) -> dict[str, Provider]:
    return {kind: cast(Provider, m) for m in modules for kind in m.KINDS}


PROVIDERS: dict[str, Provider] = _register(
    telegram, whatsapp, meta, twilio, email, vonage, bird, webchat
)


async def send_message(
    senders: Senders,
    actor: Actor,
    contact_id: int,
    text: str | None,
    *,
    channel: str | None = None,
    subject: str | None = None,
    template: Template | None = None,
) -> Delivery:
    """Send `text` (or an approved `template`) to the contact: its row is written as `sending`
    first, then the provider is asked, then the row is completed. SendError (after recording
    the failed attempt) when the provider refused or could not be reached; a Delivery with
    `recorded=False` when the provider answered but the database then failed (the row stays
    `sending`)."""
    to = await records.target(actor, contact_id, channel)
    provider = provider_for(to.channel_kind)
    if template is None:
        clean = check_text(provider, to.channel_kind, text or "")
        check_ready(provider, to)
        check_window(provider, to)
    else:
        clean = check_template(provider, to.channel_kind, template)
        check_ready(provider, to)
    out = Outgoing(
        to.channel_kind, to.channel_key, to.channel_name, to.secrets, to.external_id,
        to.scoped_id, clean, subject, to.last_inbound_id, to.last_inbound_meta,
        to.last_inbound_at, template,
    )  # fmt: skip
    meta = {"template": asdict(template)} if template else {}
    pending = await records.begin(actor, to, clean, meta)
    started = time.perf_counter()
    try:
        sent = await provider.send(senders, out)
    except SendError as exc:
        attempt = records.Attempt(exc.outcome, error=exc.code, detail=exc.detail)
        done = await _complete(senders, actor, to, pending, attempt, started)
        exc.detail += (
            f" (recorded as {exc.outcome} message #{done.message.id})"
            if done.recorded
            else f" (message #{done.message.id} stays sending: the outcome could not be stored)"
        )
        raise
    attempt = records.Attempt("sent", sent.provider_message_id, meta=sent.meta)
    return await _complete(senders, actor, to, pending, attempt, started)


async def _complete(
    senders: Senders,
    actor: Actor,
    to: records.Target,
    pending: MessageInfo,
    attempt: records.Attempt,
    started: float,
) -> Delivery:
    outcome = attempt.status
    try:
        return Delivery(await records.complete(actor, to, pending.id, attempt))
    except records.NotRecorded as exc:
        outcome = "not_recorded"
        log.error("outbound not recorded", channel=to.channel_key, message=pending.id,
                  status=attempt.status, provider_message_id=attempt.provider_message_id,
                  cause=repr(exc.__cause__))  # fmt: skip
        return Delivery(pending, recorded=False)
    finally:
        _log(to, outcome, started, attempt.error)
        if senders.count is not None:
            senders.count(to.channel_kind, outcome)


def provider_for(kind: str) -> Provider:
    """The provider module of a channel kind (Invalid when sending on it is not supported)."""
    provider = PROVIDERS.get(kind)
    if provider is None:
        known = ", ".join(sorted(PROVIDERS))
        raise Invalid(f"sending on {kind} channels is not supported; it is on {known}")
    return provider


def check_text(provider: Provider, kind: str, text: str) -> str:
    """The text without surrounding blank lines; Invalid when empty or over the provider limit."""
    clean = text.strip("\r\n")
    if not clean.strip():
        raise Invalid("text must not be empty")
    limit = provider.LIMITS[kind]
    size = limit.measure(clean)
    if size > limit.size:
        raise Invalid(f"text is {size} {limit.unit} long; {kind} takes at most {limit.size}")
    return clean


def check_template(provider: Provider, kind: str, template: Template) -> str:
    """The text a template send is recorded with; Invalid where templates are not sent."""
    if kind not in getattr(provider, "TEMPLATES", ()):
        raise Invalid(
            f"templates are sent on WhatsApp Cloud API channels only, not on {kind}; send a"
            " text instead"
        )
    return template.summary()


def check_ready(provider: Provider, to: records.Target) -> None:
    """Conflict unless the channel has the secrets sending needs."""
    missing = [
        " or ".join(need) if isinstance(need, tuple) else need
        for need in provider.SECRETS
        if not any(to.secrets.get(name) for name in (need if isinstance(need, tuple) else (need,)))
    ]
    if missing:
        raise Conflict(
            f"channel {to.channel_key} ({to.channel_kind}) cannot send: its secrets lack"
            f" {', '.join(missing)} (set them with `contactgate channel add` or in the config file)"
        )


def check_window(provider: Provider, to: records.Target) -> None:
    """SendError window_closed when the provider allows free-form replies only for a while after
    the person's last message and that time has passed (nothing is sent or recorded)."""
    window = provider.WINDOWS.get(to.channel_kind)
    if window is None:
        return
    last = to.last_inbound_at
    if last is None or datetime.now(UTC) - last > window:
        when = f"last wrote at {last.isoformat(timespec='minutes')}" if last else "never wrote"
        hint = getattr(provider, "WINDOW_HINTS", {}).get(to.channel_kind)
        raise SendError(
            "window_closed",
            f"the person {when} on {to.channel_key} ({to.channel_kind}); free-form replies are"
            f" allowed only within {window.total_seconds() / 3600:g} hours of their last message"
            + (f"; {hint}" if hint else ""),
        )


def _log(to: records.Target, status: str, started: float, error: str | None) -> None:
    log.info(
        "outbound",
        channel=to.channel_key,
        kind=to.channel_kind,
        status=status,
        error=error,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def senders_ctx(app: web.Application) -> AsyncIterator[None]:
    """The app's one HTTP client session for provider APIs, closed on shutdown."""
    senders = app[keys.SENDERS]
    senders.session = aiohttp.ClientSession(raise_for_status=False)
    try:
        yield
    finally:
        await senders.session.close()
        senders.session = None
