"""Web chat: the outbound row is the message; sending wakes the visitor's stream.

Nothing leaves the gateway: store.outbound has already written the row (as `sending`, text
included) before `send` is called, so the push only tells the visitor's open streams (in every
gateway process, see gateway.webchat_push) to read it. A visitor who is not connected reads it
from the history when the widget next opens.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from gateway.outbound.base import Limit, Outgoing, Senders, Sent

KINDS = ("webchat",)
SECRETS: tuple[str | tuple[str, ...], ...] = ()  # none: the visitor reads it from us
LIMITS = {"webchat": Limit(5000)}  # what a visitor may send us, too
WINDOWS: dict[str, timedelta] = {}  # a visitor may be answered at any time


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Wake the visitor's streams; the stored id is ours (`webchat:<uuid>`)."""
    if senders.push is not None:
        await senders.push(out.channel_key, out.external_id)
    return Sent(f"webchat:{uuid.uuid4().hex}")
