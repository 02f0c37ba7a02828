"""Twilio Programmable Messaging: `POST {base}/2010-04-01/Accounts/<sid>/Messages.json`.

Form-encoded, HTTP Basic auth with the account SID and auth token. The sender is the channel's
`from_number` (or its `messaging_service_sid`); WhatsApp numbers go with a `whatsapp:` prefix.
A created message answers 201 with its `sid` and a status such as `queued`. With the gateway's
`public_url` set, each send asks for its status callbacks at the channel's webhook URL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from gateway.outbound.base import (
    Answer,
    Limit,
    Outgoing,
    SendError,
    Senders,
    Sent,
    clip,
    post,
    retry_after,
    unexpected,
)

KINDS = ("twilio_sms", "twilio_whatsapp")
SECRETS = ("account_sid", "auth_token", ("from_number", "messaging_service_sid"))
LIMITS = {"twilio_sms": Limit(1600), "twilio_whatsapp": Limit(1600)}
WINDOWS = {"twilio_whatsapp": timedelta(hours=24)}
PROVIDER = "Twilio"
WHATSAPP = "whatsapp:"

AUTH_CODES = frozenset({20003, 20005})  # authenticate; account not active
INVALID_CODES = frozenset({21211, 21214, 21407, 21408, 21612, 21614, 63024})
UNAVAILABLE_CODES = frozenset({21610})  # the person replied STOP
WINDOW_CODES = frozenset({63016})  # WhatsApp free-form message outside the 24-hour window


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Send the text; the stored id is the Message SID (`SM…`)."""
    sid = out.secrets["account_sid"]
    url = f"{senders.config.twilio_url}/2010-04-01/Accounts/{sid}/Messages.json"
    auth = {"Authorization": aiohttp.encode_basic_auth(sid, out.secrets["auth_token"])}
    fields = form(out)
    if senders.config.public_url:  # status callbacks come back to the channel's webhook
        fields["StatusCallback"] = f"{senders.config.public_url}/webhooks/{out.channel_key}"
    answer = await post(senders, PROVIDER, url, form=fields, headers=auth)
    body = answer.body if isinstance(answer.body, dict) else {}
    message_sid = body.get("sid")
    if answer.status in (200, 201) and isinstance(message_sid, str) and message_sid:
        status = body.get("status")
        return Sent(message_sid, {"provider_status": status} if isinstance(status, str) else {})
    if answer.status in (200, 201):
        raise unexpected(PROVIDER, answer)
    raise error(answer, body)


def form(out: Outgoing) -> dict[str, str]:
    """The form fields: To, From or MessagingServiceSid, Body."""
    prefix = WHATSAPP if out.kind == "twilio_whatsapp" else ""
    fields = {"To": prefix + out.external_id.removeprefix(WHATSAPP)}
    sender = out.secrets.get("from_number")
    if sender:
        fields["From"] = prefix + sender.removeprefix(WHATSAPP)
    else:
        fields["MessagingServiceSid"] = out.secrets["messaging_service_sid"]
    fields["Body"] = out.text
    return fields


def error(answer: Answer, body: dict[str, Any]) -> SendError:
    """The SendError of a refused create (`{"code", "message", "more_info", "status"}`)."""
    code = body.get("code")
    message = clip(body.get("message") or f"HTTP {answer.status}")
    shown = str(code) if code is not None else str(answer.status)
    said = f"Twilio refused the message: {message} (code {shown})"
    if answer.status == 401 or code in AUTH_CODES:
        return SendError(
            "provider_auth",
            f"Twilio refused the channel's account_sid/auth_token: {message}",
            provider_code=shown,
        )
    if answer.status == 429 or code == 20429:
        wait = retry_after(answer.headers)
        return SendError("rate_limited", said, retry_after=wait, provider_code=shown)
    if code in WINDOW_CODES:
        return SendError("window_closed", said, provider_code=shown)
    if code in UNAVAILABLE_CODES:
        return SendError("recipient_unavailable", said, provider_code=shown)
    if code in INVALID_CODES:
        return SendError("invalid_recipient", said, provider_code=shown)
    return SendError("provider_error", said, provider_code=shown)
