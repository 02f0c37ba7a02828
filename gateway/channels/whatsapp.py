"""WhatsApp Cloud API webhook: batches of entry x changes from Meta, signed with the app secret."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from gateway.channels.base import (
    Ack,
    Content,
    Inbound,
    ParseResult,
    PayloadError,
    StatusUpdate,
    WebhookRequest,
    json_object,
    objects,
    optional,
    required,
    timestamp,
)
from gateway.channels.meta_hub import handshake as handshake
from gateway.channels.meta_hub import verify as verify
from store.types import DeliveryStatus

KINDS = ("whatsapp",)
SECRETS = ("app_secret", "verify_token")
GENERATED_SECRETS = ("verify_token",)  # we choose it and type it into the app dashboard
MAX_BODY = 4 * 1024 * 1024  # batches reach 3 MB
ACK = Ack(200, b"ok")
Json = dict[str, Any]

# A revoke is the customer deleting an earlier message: nothing to store.
IGNORED_TYPES = ("revoke",)
MEDIA_FIELDS = ("mime_type", "sha256", "filename", "url")
REPLY_TYPES = ("button_reply", "list_reply")
# Cloud API statuses we track; any other (`deleted`, `warning`) is acknowledged and ignored.
STATUSES: dict[str, DeliveryStatus] = {
    "sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"
}  # fmt: skip


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """Every message of every change of every entry in the batch."""
    payload = json_object(request.body)
    if (product := required(payload, "object", str)) != "whatsapp_business_account":
        raise PayloadError(f"object must be whatsapp_business_account, got {product!r}")
    result = ParseResult()
    for i, entry in enumerate(objects(payload, "entry", must=True)):
        for j, change in enumerate(objects(entry, "changes", f"entry[{i}]", must=True)):
            part = parse_change(change, f"entry[{i}].changes[{j}]")
            result.messages += part.messages
            result.ignored += part.ignored
            result.unsupported += part.unsupported
            result.statuses += part.statuses
    return result


def parse_change(change: Json, where: str) -> ParseResult:
    """One change: the messages field is understood, any other field is unsupported."""
    field = required(change, "field", str, where)
    parser = FIELD_PARSERS.get(field)
    if parser is None:
        return ParseResult(unsupported=[field])
    return parser(required(change, "value", dict, where), f"{where}.value")


def parse_messages(value: Json, where: str) -> ParseResult:
    """Customer messages, and the statuses of the messages we sent."""
    people = [_person(c, f"{where}.contacts[{k}]") for k, c in _each(value, "contacts", where)]
    found = [
        parse_message(m, people, f"{where}.messages[{k}]")
        for k, m in _each(value, "messages", where)
    ]
    messages = [message for message in found if message is not None]
    statuses = [
        parse_status(status, f"{where}.statuses[{k}]")
        for k, status in _each(value, "statuses", where)
    ]
    kept = [status for status in statuses if status is not None]
    ignored = len(found) - len(messages) + len(statuses) - len(kept)
    return ParseResult(messages=messages, ignored=ignored, statuses=kept)


def parse_status(status: Json, where: str) -> StatusUpdate | None:
    """One status of a message we sent: sent, delivered, read, or failed with its first error."""
    name = STATUSES.get(required(status, "status", str, where))
    if name is None:
        return None
    code = title = None
    if name == "failed":
        errors = objects(status, "errors", where)
        first = errors[0] if errors else {}
        code = str(first["code"]) if isinstance(first.get("code"), int | str) else None
        title = optional(first, "title", str, f"{where}.errors[0]") or optional(
            first, "message", str, f"{where}.errors[0]"
        )
    return StatusUpdate(
        name,
        timestamp(status, "timestamp", where),
        provider_message_id=required(status, "id", str, where),
        recipient=optional(status, "recipient_id", str, where),
        error_code=code,
        error_title=title,
    )


FIELD_PARSERS: dict[str, Callable[[Json, str], ParseResult]] = {"messages": parse_messages}


def parse_message(message: Json, people: list[Json], where: str) -> Inbound | None:
    """One message of a customer; None for the ignored types."""
    type_ = required(message, "type", str, where)
    if type_ in IGNORED_TYPES:
        return None
    content = _content(message, type_, where)
    return Inbound(
        **_sender(message, people, where),
        provider_message_id=required(message, "id", str, where),
        type=content.type,
        sent_at=timestamp(message, "timestamp", where),
        text=content.text,
        media=content.media,
        meta={**_context(message, where), **content.meta},
    )


def _each(value: Json, key: str, where: str) -> enumerate[Json]:
    return enumerate(objects(value, key, where))


def _person(contact: Json, where: str) -> Json:
    profile = optional(contact, "profile", dict, where) or {}
    return {
        "wa_id": optional(contact, "wa_id", str, where),
        "user_id": optional(contact, "user_id", str, where),
        "name": optional(profile, "name", str, f"{where}.profile"),
        "username": optional(profile, "username", str, f"{where}.profile"),
    }


def _sender(message: Json, people: list[Json], where: str) -> Json:
    """Who wrote: phone digits (wa_id) when WhatsApp shares them, else the BSUID."""
    wa_id = optional(message, "from", str, where)
    bsuid = optional(message, "from_user_id", str, where)
    person = _match(people, wa_id, bsuid)
    wa_id, bsuid = wa_id or person.get("wa_id"), bsuid or person.get("user_id")
    if not wa_id and not bsuid:
        raise PayloadError(f"missing {where}.from and {where}.from_user_id")
    phone = wa_id if wa_id and wa_id.isascii() and wa_id.isdigit() else None
    return {
        "external_id": phone or bsuid or wa_id,
        "phone": f"+{phone}" if phone else None,
        "scoped_id": bsuid or None,
        "display_name": person.get("name") or None,
        "username": person.get("username") or None,
    }


def _match(people: list[Json], wa_id: str | None, bsuid: str | None) -> Json:
    for person in people:
        if (wa_id and person["wa_id"] == wa_id) or (bsuid and person["user_id"] == bsuid):
            return person
    return people[0] if len(people) == 1 else {}


def _context(message: Json, where: str) -> Json:
    context = optional(message, "context", dict, where) or {}
    meta: Json = {}
    if reply_to := optional(context, "id", str, f"{where}.context"):
        meta["reply_to"] = reply_to
    if context.get("forwarded") is True or context.get("frequently_forwarded") is True:
        meta["forwarded"] = True
    return meta


def _content(message: Json, type_: str, where: str) -> Content:
    return CONTENT_PARSERS.get(type_, parse_unsupported)(message, where)


def parse_text(message: Json, where: str) -> Content:
    """Plain text."""
    text = required(message, "text", dict, where)
    return Content("text", text=required(text, "body", str, f"{where}.text"))


def parse_media(message: Json, where: str, *, type_: str) -> Content:
    """An image, audio (voice note or not), video, document or sticker; caption as text."""
    path = f"{where}.{type_}"
    media = required(message, type_, dict, where)
    item: Json = {"kind": type_, "id": required(media, "id", str, path)}
    for key in MEDIA_FIELDS:
        if (value := optional(media, key, str, path)) is not None:
            item[key] = value
    voice = optional(media, "voice", bool, path)
    meta = {} if voice is None else {"voice": voice}
    return Content(type_, text=optional(media, "caption", str, path), media=[item], meta=meta)


def parse_location(message: Json, where: str) -> Content:
    """A shared location, maybe a named place."""
    path = f"{where}.location"
    place = required(message, "location", dict, where)
    meta: Json = {key: required(place, key, float, path) for key in ("latitude", "longitude")}
    for key in ("name", "address"):
        if value := optional(place, key, str, path):
            meta[key] = value
    return Content("location", meta=meta)


def parse_contacts(message: Json, where: str) -> Content:
    """Shared contact cards, kept as WhatsApp sends them."""
    return Content("contact", meta={"cards": objects(message, "contacts", where, must=True)})


def parse_reaction(message: Json, where: str) -> Content:
    """A reaction to a message; an empty emoji means the reaction was removed."""
    path = f"{where}.reaction"
    reaction = required(message, "reaction", dict, where)
    emoji = optional(reaction, "emoji", str, path) or ""
    reaction_to = required(reaction, "message_id", str, path)
    return Content("reaction", meta={"reaction_to": reaction_to, "emoji": emoji})


def parse_interactive(message: Json, where: str) -> Content:
    """A tap on a reply button or a list row of an interactive message we sent."""
    path = f"{where}.interactive"
    interactive = required(message, "interactive", dict, where)
    kind = required(interactive, "type", str, path)
    if kind not in REPLY_TYPES:
        return Content("unsupported", meta={"kind": f"interactive.{kind}"})
    reply = required(interactive, kind, dict, path)
    meta: Json = {"interactive": kind, "id": required(reply, "id", str, f"{path}.{kind}")}
    if description := optional(reply, "description", str, f"{path}.{kind}"):
        meta["description"] = description
    return Content("interactive", text=required(reply, "title", str, f"{path}.{kind}"), meta=meta)


def parse_button(message: Json, where: str) -> Content:
    """A tap on a quick-reply button of a template message."""
    path = f"{where}.button"
    button = required(message, "button", dict, where)
    meta = {"interactive": "button", "payload": optional(button, "payload", str, path)}
    return Content("interactive", text=required(button, "text", str, path), meta=meta)


def parse_edit(message: Json, where: str) -> Content:
    """A new version of an earlier message, linked to it through meta."""
    # Meta sends edits only to WhatsApp Business app numbers ("Coexistence"), and since June 2026
    # delivers them as type "unsupported" (unsupported.type "edit") until it restores this shape.
    path = f"{where}.edit"
    edit = required(message, "edit", dict, where)
    new = required(edit, "message", dict, path)
    type_ = required(new, "type", str, f"{path}.message")
    if type_ in (*IGNORED_TYPES, "edit"):
        raise PayloadError(f"{path}.message.type cannot be {type_}")
    content = _content(new, type_, f"{path}.message")
    content.meta |= _context(new, f"{path}.message") | {
        "edit_of": required(edit, "original_message_id", str, path),
        "edited_at": timestamp(message, "timestamp", where).isoformat(),
    }
    return content


def parse_unsupported(message: Json, where: str) -> Content:
    """A message Cloud API cannot show us (poll, order, system notice...), kept as a marker."""
    meta: Json = {"kind": required(message, "type", str, where)}
    if errors := objects(message, "errors", where):
        meta["errors"] = errors
    if detail := optional(message, "unsupported", dict, where):
        meta["unsupported_type"] = optional(detail, "type", str, f"{where}.unsupported")
    return Content("unsupported", meta=meta)


CONTENT_PARSERS: dict[str, Callable[[Json, str], Content]] = {
    "text": parse_text,
    "image": partial(parse_media, type_="image"),
    "audio": partial(parse_media, type_="audio"),
    "video": partial(parse_media, type_="video"),
    "document": partial(parse_media, type_="document"),
    "sticker": partial(parse_media, type_="sticker"),
    "location": parse_location,
    "contacts": parse_contacts,
    "reaction": parse_reaction,
    "interactive": parse_interactive,
    "button": parse_button,
    "edit": parse_edit,
}
