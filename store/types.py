"""Plain data shared by the gateway and the store: what a channel hands to the ingest path."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Outcome = Literal["stored", "duplicate", "held", "part"]  # part: kept until its set is whole
# What a provider says became of a message we sent; `queued` only joins the history.
DeliveryStatus = Literal["queued", "sent", "delivered", "read", "failed"]


@dataclass(frozen=True, slots=True)
class Part:
    """Where one piece of a multipart message belongs: its set's reference, number and size."""

    ref: str  # shared by every part of one message from one sender
    number: int  # 1-based
    total: int


@dataclass(slots=True)
class Inbound:
    """One customer message, normalised; the ingest pipeline turns it into rows."""

    external_id: str  # the person's id on this channel (Telegram user id, wa_id, phone…)
    provider_message_id: str  # dedupe key, unique per channel
    type: str  # one of gateway.channels.base.MESSAGE_TYPES
    sent_at: datetime
    text: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    username: str | None = None
    display_name: str | None = None
    phone: str | None = None  # only when the channel vouches for it (WhatsApp, SMS)
    email: str | None = None  # only when the channel vouches for it (email)
    scoped_id: str | None = None  # a second stable id for the same person (WhatsApp BSUID)
    identifier: str | None = None  # the business's own id of the person, when vouched (web chat)
    language: str | None = None  # the person's language tag as the channel reports it (Telegram)
    meta: dict[str, Any] = field(default_factory=dict)  # location, card, reaction, edit, reply…
    part: Part | None = None  # one piece of a multipart message (SMS concat): store.inbound.concat


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel with what the ingest path needs of its workspace."""

    id: int
    key: str
    kind: str
    workspace_id: int
    workspace_slug: str
    timezone: str
    region: str
    secrets: dict[str, str]
    active: bool


@dataclass(frozen=True, slots=True)
class Item:
    """One inbound message addressed to one channel, as queued for the writer."""

    channel: ChannelInfo
    inbound: Inbound


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A provider's word on outbound messages: the one it names, or (Messenger's watermarks)
    every message to `recipient` sent up to `at`."""

    status: DeliveryStatus
    at: datetime
    provider_message_id: str | None = None
    recipient: str | None = None  # the person's id on the channel, for a watermark
    watermark: bool = False  # applies to every outbound message to `recipient` up to `at`
    error_code: str | None = None  # failed only: the provider's code and title
    error_title: str | None = None
