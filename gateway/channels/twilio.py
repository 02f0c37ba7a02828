"""Twilio Programmable Messaging: inbound SMS, MMS and WhatsApp as signed form posts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gateway.channels.base import (
    Ack,
    Content,
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    StatusUpdate,
    WebhookRequest,
    form_pairs,
    require_secret,
    required_param,
    same,
    utc_now,
)
from store.types import DeliveryStatus

KINDS = ("twilio_sms", "twilio_whatsapp")
SECRETS = ("auth_token",)
MAX_BODY = 1024 * 1024
ACK = Ack(200, b'<?xml version="1.0" encoding="UTF-8"?><Response/>', "text/xml")
SIGNATURE_HEADER = "X-Twilio-Signature"
Params = Mapping[str, str]

# Anything else in MessageStatus/SmsStatus is a status callback for a message we sent.
INBOUND_STATUSES = ("received",)
# Status callbacks: Twilio's MessageStatus -> ours (before `sent` only the history hears of it).
STATUSES: dict[str, DeliveryStatus] = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "read",
    "undelivered": "failed", "failed": "failed", "canceled": "failed",
}  # fmt: skip
# Titles of the error codes status callbacks carry most (https://www.twilio.com/docs/api/errors);
# a callback with ErrorMessage uses that instead.
ERROR_TITLES = {
    "30001": "Queue overflow",
    "30002": "Account suspended",
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered",
    "30008": "Unknown error",
    "63016": "Failed to send freeform message because you are outside the allowed window",
    "63024": "Invalid message recipient",
}
SID_FIELDS = ("MessageSid", "SmsSid", "SmsMessageSid")
WHATSAPP_PREFIX = "whatsapp:"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# WhatsApp's business-scoped user id (BSUID), sent beside From (or instead of a phone in From).
SCOPED_ID_FIELD = "ExternalUserId"
MEDIA_KINDS = ("image", "audio", "video")  # by MIME major type; anything else is a document
DEFAULT_PORTS = {"https": "443", "http": "80"}


def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
    """Check Twilio's HMAC-SHA1 over the public URL and the sorted POST parameters."""
    token = require_secret(secrets, "auth_token")
    given = request.headers.get(SIGNATURE_HEADER)
    if given is None:
        raise SignatureError(f"missing {SIGNATURE_HEADER}")
    try:
        params = form_pairs(request.body)
    except PayloadError as exc:
        raise SignatureError(f"cannot check {SIGNATURE_HEADER}: {exc.reason}") from None
    candidates = (signature(token, url, params) for url in _url_variants(request.url))
    if not any(same(given, expected) for expected in candidates):
        raise SignatureError(f"wrong {SIGNATURE_HEADER}")


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Base64 HMAC-SHA1 of the URL then each name+value, by name then value (repeats included)."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> tuple[str, ...]:
    # Twilio's own validators accept the URL with and without the port: its signer varies.
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return (url,)
    if port is not None:
        netloc = parts.netloc.rsplit(":", 1)[0]
    elif parts.scheme in DEFAULT_PORTS:
        netloc = f"{parts.netloc}:{DEFAULT_PORTS[parts.scheme]}"
    else:
        return (url,)
    return url, urlunsplit(parts._replace(netloc=netloc))


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """One inbound message, or one status callback of a message we sent."""
    params = dict(form_pairs(request.body))
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if status and status not in INBOUND_STATUSES:
        update = parse_status(status, params)
        return ParseResult(statuses=[update]) if update else ParseResult(ignored=1)
    return ParseResult(messages=[parse_inbound(kind, params)])


def parse_status(status: str, params: Params) -> StatusUpdate | None:
    """A status callback; failed and undelivered carry ErrorCode. Twilio sends no timestamp
    (RawDlrDoneDate is the carrier's, and only for SMS), so it is stamped now."""
    name = STATUSES.get(status)
    if name is None:
        return None
    code = (params.get("ErrorCode") or None) if name == "failed" else None
    title = None
    if code:
        title = params.get("ErrorMessage") or ERROR_TITLES.get(code) or f"Twilio error {code}"
    return StatusUpdate(
        name,
        utc_now(),
        provider_message_id=_sid(params),
        recipient=params.get("To", "").removeprefix(WHATSAPP_PREFIX) or None,
        error_code=code,
        error_title=title,
    )


def parse_inbound(kind: str, params: Params) -> Inbound:
    """An SMS, MMS or WhatsApp message; Twilio sends no timestamp, so it is stamped now."""
    sender = required_param(params, "From")
    scoped_id = None
    if kind == "twilio_whatsapp":
        sender = sender.removeprefix(WHATSAPP_PREFIX)
        scoped_id = params.get(SCOPED_ID_FIELD) or None
    phone = sender if E164.fullmatch(sender) else None
    content = _content(params)
    if reply_to := params.get("OriginalRepliedMessageSid"):
        content.meta["reply_to"] = reply_to
    return Inbound(
        # the phone while there is one (identities first seen by phone keep it), else the BSUID
        external_id=phone or scoped_id or sender,
        provider_message_id=_sid(params),
        type=content.type,
        sent_at=utc_now(),
        text=content.text,
        media=content.media,
        phone=phone,
        scoped_id=scoped_id,
        display_name=params.get("ProfileName") or None,
        meta=content.meta,
    )


def _sid(params: Params) -> str:
    sid = next((params[name] for name in SID_FIELDS if params.get(name)), None)
    if sid is None:
        raise PayloadError("missing MessageSid")
    return sid


def _content(params: Params) -> Content:
    media = parse_media(params)
    if media:
        return Content(media[0]["kind"], text=params.get("Body") or None, media=media)
    if "Latitude" in params or "Longitude" in params:
        return parse_location(params)
    if params.get("ButtonText") or params.get("ButtonPayload"):
        return parse_button(params)
    if "Body" not in params:
        raise PayloadError("missing Body")
    return Content("text", text=params["Body"])


def parse_media(params: Params) -> list[dict[str, Any]]:
    """MMS or WhatsApp attachments: NumMedia times MediaUrl{i} and MediaContentType{i}."""
    try:
        count = int(params.get("NumMedia") or 0)
    except ValueError:
        raise PayloadError(f"NumMedia must be a count, got {params['NumMedia']!r}") from None
    if count < 0:
        raise PayloadError(f"NumMedia must be a count, got {count}")
    return [_media_item(params, index) for index in range(count)]


def _media_item(params: Params, index: int) -> dict[str, Any]:
    url = required_param(params, f"MediaUrl{index}")
    mime_type = params.get(f"MediaContentType{index}") or None
    major = (mime_type or "").partition("/")[0]
    kind = major if major in MEDIA_KINDS else "document"
    return {"kind": kind, "url": url, "mime_type": mime_type}


def parse_location(params: Params) -> Content:
    """A WhatsApp location pin, maybe with the place's address and label."""
    meta: dict[str, Any] = {
        name.lower(): _coordinate(params, name) for name in ("Latitude", "Longitude")
    }
    for name in ("Address", "Label"):
        if value := params.get(name):
            meta[name.lower()] = value
    return Content("location", meta=meta)


def _coordinate(params: Params, name: str) -> float:
    value = required_param(params, name)
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise PayloadError(f"{name} must be a finite number, got {value!r}")
    return number


def parse_button(params: Params) -> Content:
    """A tap on a WhatsApp quick-reply button."""
    meta = {"interactive": "button", "payload": params.get("ButtonPayload") or None}
    return Content("interactive", text=params.get("ButtonText") or None, meta=meta)
