"""People who wrote on a channel (a contact with an identity), for the outbound message tests:
the channel gets the secrets sending needs, the message goes through the app's writer."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from gateway import keys
from gateway.provision import known_kinds
from store.channels import upsert_channel
from store.types import Inbound, Item
from tests import helpers as h
from tests.fake_providers import (
    BIRD_CHANNEL,
    BIRD_KEY,
    BIRD_WORKSPACE,
    META_TOKEN,
    PHONE_NUMBER_ID,
    TG_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    VONAGE_KEY,
    VONAGE_SECRET,
)
from tests.gateway.api.support import WS, Api

TWILIO = {"auth_token": TWILIO_TOKEN, "account_sid": TWILIO_SID, "from_number": "+15005550006"}
META = {"app_secret": "app-secret", "verify_token": "verify", "access_token": META_TOKEN}
SEND_SECRETS: dict[str, dict[str, str]] = {
    "telegram": {"secret_token": "tg-secret", "bot_token": TG_TOKEN},
    "whatsapp": {**META, "phone_number_id": PHONE_NUMBER_ID},
    "messenger": META,
    "instagram": META,
    "twilio_sms": TWILIO,
    "twilio_whatsapp": TWILIO,
    "email": {"signing_key": "mailgun-key"},
    "vonage_sms": {"signature_secret": "v", "signature_method": "sha256", "api_key": VONAGE_KEY,
                   "api_secret": VONAGE_SECRET, "from_number": "+15005550006"},
    "bird_sms": {"signing_key": "bird-signing-key", "access_key": BIRD_KEY,
                 "workspace_id": BIRD_WORKSPACE, "channel_id": BIRD_CHANNEL},
    "webchat": {"hmac_secret": "w", "allowed_origins": "https://shop.example.com"},
}  # fmt: skip
_mids = itertools.count(1)


async def person(
    api: Api,
    kind: str,
    external_id: str,
    *,
    secrets: dict[str, str] | None = None,
    key: str | None = None,
    **inbound: Any,
) -> int:
    """Store one inbound text from `external_id` on a `kind` channel; the contact's id."""
    channel = await upsert_channel(
        WS,
        kind,
        key or f"{kind}-{WS}-key",
        SEND_SECRETS[kind] if secrets is None else secrets,
        known_kinds=known_kinds(),
    )
    message = Inbound(
        external_id=external_id,
        provider_message_id=inbound.pop("provider_message_id", f"in-{next(_mids)}"),
        type="text",
        sent_at=datetime.now(UTC),
        text="hola",
        **inbound,
    )
    outcome = await api.client.app[keys.WRITER].submit([Item(channel, message)])
    assert outcome == ["stored"], outcome
    return int(
        await h.scalar(
            "SELECT contact_id FROM identity WHERE channel_id = ? AND external_id = ?",
            channel.id,
            external_id,
        )
    )
