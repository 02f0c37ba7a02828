"""Messenger and Instagram Messaging webhooks: batches of entry x messaging events from Meta.

Both products share one format and one signature (X-Hub-Signature-256 under the app secret).
Timestamps are milliseconds; ids are Page-scoped (PSID) or Instagram-scoped (IGSID).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.channels.base import (
    Ack,
    Content,
    Inbound,
    ParseResult,
    PayloadError,
    StatusUpdate,
    WebhookRequest,
    ident,
    json_object,
    json_type,
    objects,
    optional,
    required,
)
from gateway.channels.meta_hub import handshake as handshake
from gateway.channels.meta_hub import verify as verify
from store.types import DeliveryStatus

KINDS = ("messenger", "instagram")
SECRETS = ("app_secret", "verify_token")
GENERATED_SECRETS = ("verify_token",)  # we choose it and type it into the app dashboard
MAX_BODY = 1024 * 1024  # Meta documents no limit; batches of messaging events stay far below
ACK = Ack(200, b"EVENT_RECEIVED")
Json = dict[str, Any]

# The "object" of the payload for each kind.
OBJECTS = {"messenger": "page", "instagram": "instagram"}
# Lists of events in an entry: "standby" holds what arrives while another app controls the thread.
EVENT_LISTS = ("messaging", "standby")
# Events acknowledged with nothing to store (receipts have their parsers below).
IGNORED_EVENTS: tuple[str, ...] = ()
ENVELOPE = ("sender", "recipient", "timestamp")
# Attachment types that are media of ours; any other type is kept as an unsupported marker.
ATTACHMENT_TYPES = {
    "image": "image",
    "audio": "audio",
    "video": "video",
    "file": "document",
    "sticker": "sticker",
    # Instagram: a shared post (`share`, since November 2025 beside `ig_post`) or reel, and a
    # mention of the business in the customer's story; each keeps its URL.
    "share": "share",
    "ig_post": "share",
    "ig_reel": "share",
    "reel": "share",
    "story_mention": "story_mention",
}
MEDIA_TYPES = (*ATTACHMENT_TYPES.values(), "location")
# What else a shared post or reel says about it, kept beside its URL and caption (title).
SHARE_IDS = ("ig_post_media_id", "reel_video_id")
# A value this small is not a timestamp in milliseconds (that would be before 1973): seconds.
SECONDS_BELOW = 10**11


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """Every messaging event of every entry in the batch."""
    expected = OBJECTS.get(kind)
    if expected is None:
        raise PayloadError(f"unknown channel kind {kind!r}")
    payload = json_object(request.body)
    if (product := required(payload, "object", str)) != expected:
        raise PayloadError(f"object must be {expected} for {kind}, got {product!r}")
    result = ParseResult()
    for i, entry in enumerate(objects(payload, "entry", must=True)):
        where = f"entry[{i}]"
        if not any(key in entry for key in (*EVENT_LISTS, "changes")):
            raise PayloadError(f"missing {where}.messaging")
        for key in EVENT_LISTS:
            for j, event in enumerate(objects(entry, key, where)):
                part = parse_event(event, f"{where}.{key}[{j}]")
                result.messages += part.messages
                result.ignored += part.ignored
                result.unsupported += part.unsupported
                result.statuses += part.statuses
        for j, change in enumerate(objects(entry, "changes", where)):
            result.unsupported.append(required(change, "field", str, f"{where}.changes[{j}]"))
    return result


def parse_event(event: Json, where: str) -> ParseResult:
    """One messaging event: a message, an edit, a reaction, a postback, a receipt, or other."""
    name = next((key for key in EVENT_PARSERS if key in event), None)
    if name is None:
        if any(key in event for key in IGNORED_EVENTS):
            return ParseResult(ignored=1)
        other = [key for key in event if key not in ENVELOPE]
        return ParseResult(unsupported=[other[0] if other else "unknown"])
    return EVENT_PARSERS[name](event, where)


def parse_message(event: Json, where: str) -> ParseResult:
    """A customer's message; echoes of our own and deleted (unsent) messages are ignored."""
    path = f"{where}.message"
    message = required(event, "message", dict, where)
    if _flag(message, "is_echo", path) or _flag(message, "is_deleted", path):
        return ParseResult(ignored=1)
    content = _message_content(message, path)
    content.meta = _context(message, path) | content.meta
    if "reply_to_story" in content.meta and content.type == "text":
        content.type = "story_reply"  # an answer to the business's story, its URL in meta
    return _one(event, where, required(message, "mid", str, path), content)


def parse_edit(event: Json, where: str) -> ParseResult:
    """A new text for an earlier message; each edit gets its own id."""
    path = f"{where}.message_edit"
    edit = required(event, "message_edit", dict, where)
    mid = required(edit, "mid", str, path)
    number = ident(edit, "num_edit", path)
    sent_at, _ = _millis(event, "timestamp", where)
    meta = {"edit_of": mid, "edited_at": sent_at.isoformat()}
    content = Content("text", text=required(edit, "text", str, path), meta=meta)
    return _one(event, where, f"{mid}:edit:{number}", content)


def parse_reaction(event: Json, where: str) -> ParseResult:
    """A reaction to a message, or its removal (action unreact, emoji then empty)."""
    path = f"{where}.reaction"
    reaction = required(event, "reaction", dict, where)
    mid = required(reaction, "mid", str, path)
    action = required(reaction, "action", str, path)
    if action not in ("react", "unreact"):
        raise PayloadError(f"{path}.action must be react or unreact, got {action!r}")
    emoji = optional(reaction, "emoji", str, path) or ""
    meta: Json = {"reaction_to": mid, "emoji": emoji if action == "react" else "", "action": action}
    if name := optional(reaction, "reaction", str, path):
        meta["reaction"] = name
    sender = _sender(event, where)["external_id"]
    _, millis = _millis(event, "timestamp", where)
    return _one(event, where, f"reaction:{mid}:{sender}:{millis}", Content("reaction", meta=meta))


def parse_postback(event: Json, where: str) -> ParseResult:
    """A tap on a postback button, Get Started, a persistent menu item or an ice breaker."""
    path = f"{where}.postback"
    postback = required(event, "postback", dict, where)
    meta: Json = {"interactive": "postback", "payload": optional(postback, "payload", str, path)}
    if referral := optional(postback, "referral", dict, path):
        meta["referral"] = referral
    mid = optional(postback, "mid", str, path)
    if not mid:
        _, millis = _millis(event, "timestamp", where)
        mid = f"postback:{_sender(event, where)['external_id']}:{millis}"
    content = Content("interactive", text=optional(postback, "title", str, path), meta=meta)
    return _one(event, where, mid, content)


def parse_delivery(event: Json, where: str) -> ParseResult:
    """Our messages reached the person: those named in `mids`, or (no mids) every one sent to
    them up to the watermark."""
    path = f"{where}.delivery"
    delivery = required(event, "delivery", dict, where)
    at, _ = _millis(delivery, "watermark", path)
    mids = optional(delivery, "mids", list, path) or []
    if not all(isinstance(mid, str) and mid for mid in mids):
        raise PayloadError(f"{path}.mids must be a list of message ids")
    if mids:
        return ParseResult(statuses=[StatusUpdate("delivered", at, mid) for mid in mids])
    return ParseResult(statuses=[_watermark("delivered", event, where, at)])


def parse_read(event: Json, where: str) -> ParseResult:
    """The person read every message we sent them up to the watermark (Instagram: up to `mid`)."""
    path = f"{where}.read"
    read = required(event, "read", dict, where)
    if mid := optional(read, "mid", str, path):
        at, _ = _millis(event, "timestamp", where)
        return ParseResult(statuses=[StatusUpdate("read", at, mid)])
    at, _ = _millis(read, "watermark", path)
    return ParseResult(statuses=[_watermark("read", event, where, at)])


def _watermark(status: DeliveryStatus, event: Json, where: str, at: datetime) -> StatusUpdate:
    recipient = _sender(event, where)["external_id"]
    return StatusUpdate(status, at, recipient=recipient, watermark=True)


EVENT_PARSERS: dict[str, Callable[[Json, str], ParseResult]] = {
    "message": parse_message,
    "message_edit": parse_edit,
    "reaction": parse_reaction,
    "postback": parse_postback,
    "delivery": parse_delivery,
    "read": parse_read,
}


def _one(event: Json, where: str, message_id: str, content: Content) -> ParseResult:
    sent_at, _ = _millis(event, "timestamp", where)
    recipient = required(event, "recipient", dict, where)
    meta = {"recipient": ident(recipient, "id", f"{where}.recipient"), **content.meta}
    inbound = Inbound(
        **_sender(event, where),
        provider_message_id=message_id,
        type=content.type,
        sent_at=sent_at,
        text=content.text,
        media=content.media,
        meta=meta,
    )
    return ParseResult(messages=[inbound])


def _sender(event: Json, where: str) -> Json:
    """The PSID or IGSID; a person met through a plugin has only a user_ref."""
    sender = required(event, "sender", dict, where)
    if sender.get("id") is None and sender.get("user_ref") is not None:
        return {"external_id": "user_ref:" + ident(sender, "user_ref", f"{where}.sender")}
    return {"external_id": ident(sender, "id", f"{where}.sender")}


def _millis(parent: Json, key: str, where: str) -> tuple[datetime, int]:
    """A Unix timestamp in milliseconds (seconds when too small to be milliseconds)."""
    value = parent.get(key)
    if value is None:
        raise PayloadError(f"missing {where}.{key}")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(f"{where}.{key} must be a Unix timestamp, got {json_type(value)}")
    try:
        millis = int(value)
        if 0 <= millis < SECONDS_BELOW:
            millis *= 1000
        seconds, rest = divmod(millis, 1000)
        return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest * 1000), millis
    except (ValueError, OverflowError, OSError) as exc:
        raise PayloadError(f"{where}.{key}: bad timestamp {value!r}") from exc


def _flag(parent: Json, key: str, where: str) -> bool:
    return optional(parent, key, bool, where) is True


def _context(message: Json, where: str) -> Json:
    """What the message answers: an earlier message, or one of our Instagram stories."""
    path = f"{where}.reply_to"
    reply = optional(message, "reply_to", dict, where) or {}
    meta: Json = {}
    if mid := optional(reply, "mid", str, path):
        meta["reply_to"] = mid
    if story := optional(reply, "story", dict, path):
        meta["reply_to_story"] = {
            key: value
            for key in ("id", "url")
            if (value := optional(story, key, str, f"{path}.story")) is not None
        }
    return meta


def _message_content(message: Json, where: str) -> Content:
    text = optional(message, "text", str, where)
    attachments = objects(message, "attachments", where)
    if _flag(message, "is_unsupported", where):
        return Content("unsupported", text=text, meta={"kind": "unsupported"})
    if attachments:
        content = _attachments(attachments, f"{where}.attachments")
        content.text = text
    elif text is not None:
        content = Content("text", text=text)
    else:
        content = Content("unsupported", meta={"kind": "empty"})
    if quick := optional(message, "quick_reply", dict, where):
        payload = optional(quick, "payload", str, f"{where}.quick_reply")
        content.type = "interactive" if content.type == "text" else content.type
        content.meta |= {"interactive": "quick_reply", "payload": payload}
    if referral := optional(message, "referral", dict, where):
        content.meta["referral"] = referral
    return content


def _attachments(attachments: list[Json], where: str) -> Content:
    """The media of a message; its type is that of the first attachment we understand."""
    items = [_attachment(a, f"{where}[{k}]") for k, a in enumerate(attachments)]
    # Until August 30, 2026 Messenger sends a sticker twice: as a sticker and as an image.
    if any(raw == "sticker" for raw, _ in items):
        items = [(raw, item) for raw, item in items if raw != "image"]
    # Until February 2026 Instagram sends a shared post twice: as share and as ig_post.
    if any(raw == "ig_post" for raw, _ in items):
        items = [(raw, item) for raw, item in items if raw != "share"]
    media: list[Json] = []
    meta: Json = {}
    for raw, item in items:
        if raw == "location":
            meta |= item  # a shared place is no media: its coordinates go to meta
        else:
            media.append(item)
    kinds = [item.get("kind", "location") for _, item in items]
    type_ = next((kind for kind in kinds if kind in MEDIA_TYPES), "unsupported")
    if type_ == "unsupported":
        meta["kind"] = kinds[0]
    return Content(type_, media=media, meta=meta)


def _attachment(attachment: Json, where: str) -> tuple[str, Json]:
    """The attachment's type as sent, and what we keep of it."""
    raw = required(attachment, "type", str, where)
    path = f"{where}.payload"
    if raw == "location":
        payload = required(attachment, "payload", dict, where)
        return raw, _place(payload, path, optional(attachment, "title", str, where))
    payload = optional(attachment, "payload", dict, where) or {}
    sticker = payload.get("sticker_id") is not None
    item: Json = {"kind": "sticker" if sticker else ATTACHMENT_TYPES.get(raw, raw)}
    if item["kind"] == "share":
        item["source"] = raw
    for key in ("url", "title"):
        if (value := optional(payload, key, str, path)) is not None:
            item[key] = value
    for key in SHARE_IDS:
        if payload.get(key) is not None:
            item[key] = ident(payload, key, path)
    if sticker:
        item["sticker_id"] = ident(payload, "sticker_id", path)
    return raw, item


def _place(payload: Json, where: str, title: str | None) -> Json:
    path = f"{where}.coordinates"
    coordinates = required(payload, "coordinates", dict, where)
    place: Json = {
        "latitude": required(coordinates, "lat", float, path),
        "longitude": required(coordinates, "long", float, path),
    }
    if title:
        place["name"] = title
    return place
