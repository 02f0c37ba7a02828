"""Bird (formerly MessageBird) SMS: the Channels API JSON webhook and the legacy SMS callback.

Two signing schemes are accepted, whichever the request carries:

- current Bird: ``messagebird-signature`` = base64 HMAC-SHA256(signing key, timestamp + "\\n" +
  full webhook URL + "\\n" + raw SHA-256 digest of the body), with the Unix timestamp in
  ``messagebird-request-timestamp`` (accepted within five minutes of now);
- legacy MessageBird: ``MessageBird-Signature-JWT``, an HS256 JWT signed with the same key whose
  claims bind the URL (``url_hash``) and the body (``payload_hash``) and bound its life
  (``nbf``/``exp``, one minute of leeway). The ``jti`` is not remembered: replay inside a
  token's life is left to the dedupe on the message id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gateway.channels.base import (
    Ack,
    Content,
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookRequest,
    form_pairs,
    ident,
    json_object,
    objects,
    optional,
    require_secret,
    required,
    same,
    utc_now,
)

KINDS = ("bird_sms",)
SECRETS = ("signing_key",)
MAX_BODY = 1024 * 1024
ACK = Ack(200, b"ok")

SIGNATURE_HEADER = "messagebird-signature"
TIMESTAMP_HEADER = "messagebird-request-timestamp"
JWT_HEADER = "MessageBird-Signature-JWT"
REPLAY_WINDOW = timedelta(minutes=5)
JWT_LEEWAY = timedelta(minutes=1)
JWT_ISSUER = "MessageBird"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
DIGITS = re.compile(r"[1-9][0-9]{1,14}")
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
Json = dict[str, Any]

# Channels API events that report on messages we sent, not messages we received.
STATUS_EVENTS = ("sms.outbound", "sms.interaction")
# Legacy callbacks: a status report carries these; an inbound message never does.
LEGACY_STATUS_FIELDS = ("status", "statusDatetime", "statusReason")
LEGACY_ID_FIELDS = ("id", "mid")
LEGACY_TEXT_FIELDS = ("body", "message")


# --- verify -----------------------------------------------------------------------------------


def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
    """Accept a request signed by either the current Bird scheme or the legacy JWT."""
    key = require_secret(secrets, "signing_key")
    signature = _header(request.headers, SIGNATURE_HEADER)
    if signature is not None:
        _verify_current(key, signature, request)
        return
    token = _header(request.headers, JWT_HEADER)
    if token is not None:
        _verify_jwt(key, token, request)
        return
    raise SignatureError(f"missing {SIGNATURE_HEADER}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's headers are case-insensitive already; plain mappings (tests, tools) may not be.
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def current_signature(key: str, timestamp: str, url: str, body: bytes) -> bytes:
    """The raw HMAC-SHA256 Bird sends base64-encoded in messagebird-signature."""
    data = f"{timestamp}\n{url}\n".encode() + hashlib.sha256(body).digest()
    return hmac.new(key.encode(), data, hashlib.sha256).digest()


def _verify_current(key: str, signature: str, request: WebhookRequest) -> None:
    timestamp = _header(request.headers, TIMESTAMP_HEADER)
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER}")
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"wrong {SIGNATURE_HEADER}") from None
    if not same(given, current_signature(key, timestamp, request.url, request.body)):
        raise SignatureError(f"wrong {SIGNATURE_HEADER}")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError(f"bad {TIMESTAMP_HEADER}")
    sent = datetime.fromtimestamp(int(timestamp), tz=UTC)
    if abs(utc_now() - sent) > REPLAY_WINDOW:
        raise SignatureError(f"stale {TIMESTAMP_HEADER}")


def _b64url(part: str) -> bytes:
    if not BASE64URL.fullmatch(part):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_part(part: str, what: str) -> Json:
    try:
        value = orjson.loads(_b64url(part))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise SignatureError(f"malformed {JWT_HEADER} {what}") from None
    if not isinstance(value, dict):
        raise SignatureError(f"malformed {JWT_HEADER} {what}")
    return value


def _verify_jwt(key: str, token: str, request: WebhookRequest) -> None:
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise SignatureError(f"malformed {JWT_HEADER}")
    header = _jwt_part(parts[0], "header")
    if header.get("alg") != "HS256":
        raise SignatureError(f"{JWT_HEADER} must be signed with HS256")
    try:
        given = _b64url(parts[2])
    except (ValueError, binascii.Error):
        raise SignatureError(f"wrong {JWT_HEADER}") from None
    signed = f"{parts[0]}.{parts[1]}".encode()
    if not same(given, hmac.new(key.encode(), signed, hashlib.sha256).digest()):
        raise SignatureError(f"wrong {JWT_HEADER}")
    claims = _jwt_part(parts[1], "claims")
    _check_claims(claims, request)


def _claim_time(claims: Json, name: str) -> datetime:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SignatureError(f"{JWT_HEADER} has no valid {name}")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureError(f"{JWT_HEADER} has no valid {name}") from None


def _check_claims(claims: Json, request: WebhookRequest) -> None:
    if claims.get("iss") != JWT_ISSUER:
        raise SignatureError(f"{JWT_HEADER} was not issued by {JWT_ISSUER}")
    now = utc_now()
    if now + JWT_LEEWAY < _claim_time(claims, "nbf"):
        raise SignatureError(f"{JWT_HEADER} is not valid yet")
    if now - JWT_LEEWAY >= _claim_time(claims, "exp"):
        raise SignatureError(f"{JWT_HEADER} has expired")
    url_hash = claims.get("url_hash")
    if not isinstance(url_hash, str):
        raise SignatureError(f"{JWT_HEADER} has no url_hash")
    if not same(url_hash, hashlib.sha256(request.url.encode()).hexdigest()):
        raise SignatureError(f"{JWT_HEADER} url_hash does not match the URL")
    payload_hash = claims.get("payload_hash")
    if not request.body:
        if payload_hash is not None:
            raise SignatureError(f"{JWT_HEADER} payload_hash is set but the body is empty")
        return
    if not isinstance(payload_hash, str):
        raise SignatureError(f"{JWT_HEADER} has no payload_hash for a body")
    if not same(payload_hash, hashlib.sha256(request.body).hexdigest()):
        raise SignatureError(f"{JWT_HEADER} payload_hash does not match the body")


# --- parse ------------------------------------------------------------------------------------


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """A Channels API event (JSON) or a legacy MessageBird callback (form body or query)."""
    if request.body.lstrip()[:1] in (b"{", b"["):
        return parse_event(json_object(request.body))
    return parse_legacy(_legacy_params(request))


def parse_event(event: Json) -> ParseResult:
    """One Channels API webhook: sms.inbound is a message, statuses are ignored."""
    service = optional(event, "service", str)
    name = required(event, "event", str)
    if service not in (None, "channels"):
        return ParseResult(unsupported=[f"{service}:{name}"])
    if name in STATUS_EVENTS:
        return ParseResult(ignored=1)
    if name != "sms.inbound":
        return ParseResult(unsupported=[name])
    payload = required(event, "payload", dict)
    if optional(payload, "direction", str, "payload") == "outgoing":
        return ParseResult(ignored=1)
    return ParseResult(messages=[parse_message(payload, "payload")])


def parse_message(message: Json, where: str) -> Inbound:
    """An incoming Channels API message from an SMS channel."""
    sender = required(message, "sender", dict, where)
    contact = required(sender, "contact", dict, f"{where}.sender")
    number = required(contact, "identifierValue", str, f"{where}.sender.contact")
    if not number:
        raise PayloadError(f"missing {where}.sender.contact.identifierValue")
    content = _content(required(message, "body", dict, where), f"{where}.body")
    created = optional(message, "createdAt", str, where)
    return Inbound(
        external_id=number,
        provider_message_id=ident(message, "id", where),
        type=content.type,
        sent_at=_iso(created, f"{where}.createdAt") if created else utc_now(),
        text=content.text,
        media=content.media,
        phone=number if E164.fullmatch(number) else None,
        meta=content.meta,
    )


def _content(body: Json, where: str) -> Content:
    kind = required(body, "type", str, where)
    if kind == "text":
        return Content("text", text=required(_sub(body, kind, where), "text", str, f"{where}.text"))
    if kind == "image":
        image = _sub(body, kind, where)
        items = objects(image, "images", f"{where}.image", must=True)
        media = [
            _media(item, "image", f"{where}.image.images[{i}]") for i, item in enumerate(items)
        ]
        return Content("image", text=optional(image, "text", str, f"{where}.image"), media=media)
    if kind == "file":
        files = objects(_sub(body, kind, where), "files", f"{where}.file", must=True)
        media = [
            _media(item, "document", f"{where}.file.files[{i}]") for i, item in enumerate(files)
        ]
        return Content("document", media=media)
    return Content("unsupported", meta={"kind": kind})


def _sub(body: Json, kind: str, where: str) -> Json:
    return required(body, kind, dict, where)


def _media(item: Json, kind: str, where: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "url": required(item, "mediaUrl", str, where),
        "mime_type": optional(item, "contentType", str, where) or None,
    }


def _iso(value: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{where} must be an ISO 8601 time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _legacy_params(request: WebhookRequest) -> dict[str, str]:
    if not request.body:
        return dict(request.query)
    return dict(form_pairs(request.body))


def parse_legacy(params: Mapping[str, str]) -> ParseResult:
    """A legacy MessageBird SMS forward, or an ignored status report."""
    if any(name in params for name in LEGACY_STATUS_FIELDS):
        return ParseResult(ignored=1)
    originator = params.get("originator")
    if not originator:
        raise PayloadError("missing originator")
    # MessageBird sends numbers as bare digits (31612345678); the contact key is E.164.
    sender = "+" + originator if DIGITS.fullmatch(originator) else originator
    message_id = next((params[n] for n in LEGACY_ID_FIELDS if params.get(n)), None)
    if message_id is None:
        raise PayloadError("missing id")
    text = next((params[n] for n in LEGACY_TEXT_FIELDS if n in params), None)
    if text is None:
        raise PayloadError("missing body")
    meta: Json = {}
    if recipient := params.get("recipient") or params.get("shortcode"):
        meta["to"] = recipient
    return ParseResult(
        messages=[
            Inbound(
                external_id=sender,
                provider_message_id=message_id,
                type="text",
                sent_at=_legacy_time(params),
                text=text,
                phone=sender if E164.fullmatch(sender) else None,
                meta=meta,
            )
        ]
    )


def _legacy_time(params: Mapping[str, str]) -> datetime:
    if created := params.get("createdDatetime"):
        return _iso(created, "createdDatetime")
    if received := params.get("receive_datetime"):  # the oldest forwards: yyyyMMddHHmmss
        try:
            return datetime.strptime(received, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            raise PayloadError(
                f"receive_datetime must be yyyyMMddHHmmss, got {received!r}"
            ) from None
    return utc_now()
