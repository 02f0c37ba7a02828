"""Vonage SMS API (the API the inbound side speaks): `POST {base}/sms/json`.

Form-encoded with the account's `api_key` and `api_secret`; the sender is the channel's
`from_number` (an E.164 number or an alphanumeric sender id); `to` is the person's number in
digits. Vonage answers HTTP 200 even when it refuses: each message part carries a `status`, "0"
for accepted, else a code and `error-text`. A long text goes as several parts; the first part's
`message-id` is the stored id (delivery receipts come per part).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.outbound.base import (
    Answer,
    Limit,
    Outgoing,
    SendError,
    Senders,
    Sent,
    clip,
    post,
    unexpected,
)

KINDS = ("vonage_sms",)
SECRETS = ("api_key", "api_secret", "from_number")
LIMITS = {"vonage_sms": Limit(1600)}  # our cap: about ten parts (Vonage splits long texts)
WINDOWS: dict[str, timedelta] = {}
PROVIDER = "Vonage"
# GSM 03.38 basic set: texts outside it go as `type=unicode` (UCS-2, shorter parts).
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)

THROTTLED = frozenset({"1"})
AUTH = frozenset({"4", "8", "9", "11", "14", "32"})  # credentials, barred or unfunded account
INVALID = frozenset({"3", "6", "15", "22", "29"})  # bad number, sender or not whitelisted
UNAVAILABLE = frozenset({"7", "33"})  # number barred, de-activated


async def send(senders: Senders, out: Outgoing) -> Sent:
    """Send the text; the stored id is the first part's message-id."""
    url = f"{senders.config.vonage_url}/sms/json"
    answer = await post(senders, PROVIDER, url, form=form(out))
    parts = _parts(answer)
    if parts is None:
        raise unexpected(PROVIDER, answer)
    refused = next((p for p in parts if str(p.get("status")) != "0"), None)
    if refused is not None:
        raise error(refused)
    ids = [str(p["message-id"]) for p in parts if p.get("message-id")]
    if not ids:
        raise unexpected(PROVIDER, answer)
    return Sent(ids[0], {"parts": ids} if len(ids) > 1 else {})


def form(out: Outgoing) -> dict[str, str]:
    """api_key, api_secret, from, to (digits), text, and type=unicode when not GSM-7."""
    fields = {
        "api_key": out.secrets["api_key"],
        "api_secret": out.secrets["api_secret"],
        "from": out.secrets["from_number"].removeprefix("+"),
        "to": out.external_id.removeprefix("+"),
        "text": out.text,
    }
    if not set(out.text) <= GSM7:
        fields["type"] = "unicode"
    return fields


def _parts(answer: Answer) -> list[dict[str, Any]] | None:
    body = answer.body if isinstance(answer.body, dict) else {}
    parts = body.get("messages")
    if answer.status != 200 or not isinstance(parts, list) or not parts:
        return None
    return [p for p in parts if isinstance(p, dict)] or None


def error(part: dict[str, Any]) -> SendError:
    """The SendError of a refused part: `{"status", "error-text"}`."""
    code = str(part.get("status"))
    said = (
        f"Vonage refused the message: {clip(part.get('error-text') or 'no reason')} (status {code})"
    )
    if code in THROTTLED:
        return SendError("rate_limited", said, provider_code=code)
    if code in AUTH:
        return SendError(
            "provider_auth",
            f"Vonage refused the channel's api_key/api_secret: {clip(part.get('error-text'))}",
            provider_code=code,
        )
    if code in INVALID:
        return SendError("invalid_recipient", said, provider_code=code)
    if code in UNAVAILABLE:
        return SendError("recipient_unavailable", said, provider_code=code)
    return SendError("provider_error", said, provider_code=code)
