"""Web chat: our own JSON endpoint for a website widget (one POST per visitor message).

The widget posts ``application/json`` to ``/webhooks/{key}``, the channel key being public
(it is in the page). Authenticity of the *visitor* is optional and Chatwoot-like: the
business's server computes ``identifier_hash`` = hex HMAC-SHA256(channel ``hmac_secret``,
``visitor.identifier``) for a signed-in user. A valid hash vouches for the identifier, email
and phone sent with it (they then join the workspace's existing contact, as a phone vouched
for by WhatsApp does); a wrong hash is refused (401). Without a hash those details are kept on
the message as unverified (``meta.visitor``) and join nothing.

- Identity = ``visitor_id`` (the widget keeps it, e.g. in localStorage); with a valid hash the
  identifier is its second stable id (``scoped_id`` ``id:<identifier>``), so the same signed-in
  user on another browser is the same identity.
- Dedupe key = ``<visitor_id>:<message.id>``: a retry with the same client message id is stored
  once.
- ``event: "typing"`` is acknowledged and not stored; any other event name is refused (400).

CORS (allowed origins) and the per-visitor / per-IP rate limits are HTTP concerns, handled in
gateway.webchat before and after this module's verify/parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from gateway.channels.base import (
    Ack,
    Inbound,
    ParseResult,
    PayloadError,
    SignatureError,
    WebhookRequest,
    hmac_hex,
    json_object,
    optional,
    require_secret,
    required,
    same,
    utc_now,
)

KINDS = ("webchat",)
SECRETS = ("hmac_secret", "allowed_origins")  # optional: prechat = "true" (the widget's form)
GENERATED_SECRETS = ("hmac_secret",)  # our site signs visitor identities with it
MAX_BODY = 64 * 1024
ACK = Ack(200, b'{"ok":true}', "application/json")  # gateway.webchat answers with more detail

MAX_TEXT = 5000
MAX_NAME = 255
MAX_EMAIL = 320
MAX_IDENTIFIER = 120  # "id:" + identifier fits the 128-character scoped_id column
MAX_URL = 2048
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PHONE = re.compile(r"\+?[0-9 ()./-]{4,32}")
HEX64 = re.compile(r"[0-9a-fA-F]{64}")
IGNORED_EVENTS = frozenset({"typing"})
EVENTS = ("message", *sorted(IGNORED_EVENTS))
Json = dict[str, Any]


class UnsupportedMediaType(PayloadError):
    """A body that is not declared as JSON."""

    status = 415
    error = "unsupported_media_type"


@dataclass(frozen=True, slots=True)
class Visit:
    """One widget request, parsed: who sent it, and what to store."""

    visitor_id: str
    event: str
    result: ParseResult
    message_id: str | None = None  # the widget's client message id


# --- verify -----------------------------------------------------------------------------------


def identifier_hash(secret: str, identifier: str) -> str:
    """What the business's server computes for a signed-in user: hex HMAC-SHA256."""
    return hmac_hex(secret, identifier.encode())


def visitor_token(secret: str, channel_key: str, visitor_id: str) -> str:
    """The token that opens a visitor's stream: `<visitor id>.<hex HMAC-SHA256>` of the channel
    key and visitor id with the channel's `hmac_secret` (stateless: no table to keep)."""
    return f"{visitor_id}.{hmac_hex(secret, f'stream:{channel_key}:{visitor_id}'.encode())}"


def token_visitor(secret: str, channel_key: str, token: str) -> str | None:
    """The visitor id a token was issued to, or None when it is not one of ours."""
    visitor_id, _, _mac = token.rpartition(".")
    if not VISITOR_ID.fullmatch(visitor_id):
        return None
    expected = visitor_token(secret, channel_key, visitor_id)
    return visitor_id if same(token, expected) else None


def prechat_on(secrets: Mapping[str, str]) -> bool:
    """Whether the channel's widget asks name, email and phone first (`prechat = "true"`)."""
    return secrets.get("prechat", "").strip().lower() in ("1", "true", "yes", "on")


def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
    """Refuse a request whose `visitor.identifier_hash` does not match its identifier.

    The request itself is unsigned (a browser cannot keep a secret); only the optional identity
    claim is checked, before anything is parsed into messages.
    """
    visitor = _visitor(_document(request))
    given = optional(visitor, "identifier_hash", str, "visitor")
    if not given:  # absent or empty: an anonymous visitor
        return
    identifier = optional(visitor, "identifier", str, "visitor")
    if not identifier:
        raise PayloadError("visitor.identifier_hash needs visitor.identifier")
    expected = identifier_hash(require_secret(secrets, "hmac_secret"), identifier)
    if not same(given.lower(), expected):
        raise SignatureError("wrong visitor.identifier_hash")


def _document(request: WebhookRequest) -> Json:
    content_type = request.headers.get("Content-Type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    return json_object(request.body)


def _visitor(doc: Json) -> Json:
    return optional(doc, "visitor", dict) or {}


# --- CORS allow-list ----------------------------------------------------------------------------


def origin_allowed(secrets: Mapping[str, str], origin: str) -> bool:
    """Whether a browser page at `origin` may call this channel (the `allowed_origins` secret).

    The list is separated by commas or spaces; `*` allows any origin and `https://*.example.com`
    any subdomain of example.com. Entries are compared as normalised origins.
    """
    allowed = _allow_list(secrets.get("allowed_origins", ""))
    if "*" in allowed:
        return True
    given = normalise_origin(origin)
    if given is None:  # e.g. "null" from a sandboxed frame or a file:// page
        return False
    scheme, host = given.split("://", 1)
    for entry in allowed:
        if entry == given:
            return True
        if entry.startswith(f"{scheme}://*.") and host.endswith(entry[len(scheme) + 4 :]):
            return True
    return False


@lru_cache(maxsize=256)
def _allow_list(text: str) -> tuple[str, ...]:
    entries = []
    for raw in text.replace(",", " ").split():
        wildcard = "://*." in raw  # checked with a stand-in label, then put back
        origin = normalise_origin(raw.replace("://*.", "://x.", 1)) if raw != "*" else raw
        if origin is not None:
            entries.append(origin.replace("://x.", "://*.", 1) if wildcard else origin)
    return tuple(entries)


def normalise_origin(text: str) -> str | None:
    """`scheme://host[:port]` lower-cased, default port dropped; None when not an origin."""
    try:
        parts = urlsplit(text.strip().rstrip("/"))
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
        return None
    if parts.query or parts.fragment or parts.username is not None:
        return None
    default = 443 if parts.scheme == "https" else 80
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{parts.hostname}{suffix}"


# --- parse ------------------------------------------------------------------------------------


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """The message a widget request carries (none for an ignored event); the whole Visit is
    kept in `request.memo["visit"]` for gateway.webchat's visitor limit and answer."""
    visit = parse_visit(request)
    request.memo["visit"] = visit
    return visit.result


def parse_visit(request: WebhookRequest) -> Visit:
    """The visitor and what to store; PayloadError names the field that is wrong."""
    doc = _document(request)
    visitor_id = _matching(doc, "visitor_id", VISITOR_ID, "16-64 characters of A-Z a-z 0-9 _ -")
    event = optional(doc, "event", str) or "message"
    if event in IGNORED_EVENTS:
        return Visit(visitor_id, event, ParseResult(ignored=1))
    if event != "message":
        raise PayloadError(f"unknown event {event[:40]!r}; known: {', '.join(EVENTS)}")
    message = required(doc, "message", dict)
    client_id = _matching(
        message, "id", MESSAGE_ID, "1-64 characters of A-Z a-z 0-9 _ . : -", "message"
    )
    inbound = _message(doc, message, visitor_id, client_id)
    return Visit(visitor_id, event, ParseResult([inbound]), client_id)


def _message(doc: Json, message: Json, visitor_id: str, client_id: str) -> Inbound:
    text = required(message, "text", str, "message").strip()
    if not text:
        raise PayloadError("message.text is empty")
    if len(text) > MAX_TEXT:
        raise PayloadError(f"message.text must be at most {MAX_TEXT} characters")
    details = _details(_visitor(doc))
    verified = bool(details.get("identifier_hash"))  # verify() has checked it already
    details.pop("identifier_hash", None)
    meta: Json = {}
    if details:
        meta["visitor"] = {**details, "verified": verified}
    if page := _bounded(doc, "page_url", MAX_URL, ""):
        meta["page_url"] = page
    vouched = details if verified else {}
    identifier = vouched.get("identifier")
    return Inbound(
        external_id=visitor_id,
        provider_message_id=f"{visitor_id}:{client_id}",
        type="text",
        sent_at=utc_now(),
        text=text,
        display_name=details.get("name"),
        phone=vouched.get("phone"),
        email=vouched.get("email"),
        identifier=identifier,
        scoped_id=f"id:{identifier}" if identifier else None,
        meta=meta,
    )


def _details(visitor: Json) -> dict[str, str]:
    """The visitor's name, email, phone and identifier, checked; empty values left out."""
    found = {
        "name": _bounded(visitor, "name", MAX_NAME),
        "email": _email(visitor),
        "phone": _phone(visitor),
        "identifier": _bounded(visitor, "identifier", MAX_IDENTIFIER, strip=False),  # as hashed
        "identifier_hash": optional(visitor, "identifier_hash", str, "visitor"),
    }
    if found["identifier_hash"] and not HEX64.fullmatch(found["identifier_hash"]):
        raise PayloadError("visitor.identifier_hash must be 64 hex digits")
    return {key: value for key, value in found.items() if value}


def _bounded(
    parent: Json, key: str, limit: int, where: str = "visitor", *, strip: bool = True
) -> str | None:
    value = optional(parent, key, str, where)
    if value is None:
        return None
    value = value.strip() if strip else value
    name = f"{where}.{key}" if where else key
    if len(value) > limit or not value.isprintable():
        raise PayloadError(f"{name} must be printable and at most {limit} characters")
    return value or None


def _email(visitor: Json) -> str | None:
    value = _bounded(visitor, "email", MAX_EMAIL)
    if value is None:
        return None
    local, at, domain = value.lower().partition("@")
    if not at or not local or "." not in domain or " " in value:
        raise PayloadError("visitor.email is not an email address")
    return value.lower()


def _phone(visitor: Json) -> str | None:
    value = _bounded(visitor, "phone", 32)
    if value is not None and not PHONE.fullmatch(value):
        raise PayloadError("visitor.phone is not a phone number")
    return value


def _matching(parent: Json, key: str, pattern: re.Pattern[str], rule: str, where: str = "") -> str:
    value = required(parent, key, str, where)
    if not pattern.fullmatch(value):
        raise PayloadError(f"{f'{where}.{key}' if where else key} must be {rule}")
    return value
