"""A message's typed content: what every channel stored in text, media and meta, in one shape.

The API's `content` and the chat cards both read `content_of`; each channel's parser
(gateway/channels/*) writes meta in its own words, and this is the one place that maps them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Json = dict[str, Any]
MEDIA = ("image", "audio", "video", "document", "sticker")
SHARED = ("share", "story_mention", "story_reply")  # Instagram: a post or reel, a story
# The content types of the API's tagged union (`content.type`).
CONTENT_TYPES = (
    *("text", *MEDIA, "location", "reaction", "contact", "interactive", "email", *SHARED),
    "unsupported",
)


def content_of(kind: str, type_: str, text: str | None, media: Any, meta: Json) -> Json:
    """The content of a message of channel kind `kind`, stored type `type_`, text, media, meta."""
    if kind == "email" and type_ != "unsupported":
        return _email(text, media, meta)
    if type_ in MEDIA:
        return {"type": type_, "caption": text, "media": _media(media)}
    if type_ in SHARED:
        return _shared(type_, text, _media(media), meta)
    return BUILDERS.get(type_, _unsupported)(type_, text, meta)


def reply_to(meta: Json) -> str | None:
    """The provider's id of the message this one answers, when it says."""
    value = meta.get("reply_to", meta.get("in_reply_to"))
    return None if value is None or isinstance(value, bool) else str(value)


def _media(media: Any) -> list[Json]:
    return [m for m in media if isinstance(m, dict)] if isinstance(media, list) else []


def _text(_type: str, text: str | None, _meta: Json) -> Json:
    return {"type": "text", "text": text}


def _location(_type: str, _text: str | None, meta: Json) -> Json:
    return {
        "type": "location",
        "latitude": _number(meta.get("latitude")),
        "longitude": _number(meta.get("longitude")),
        "name": _str(meta.get("name") or meta.get("title") or meta.get("label")),
        "address": _str(meta.get("address")),
    }


def _reaction(_type: str, _text: str | None, meta: Json) -> Json:
    emoji = meta.get("emoji")
    if isinstance(emoji, list):  # Telegram: the whole new set of reactions
        emoji = "".join(e for e in emoji if isinstance(e, str))
    return {
        "type": "reaction",
        "emoji": _str(emoji) or "",
        "message_id": _id(meta.get("reaction_to")),
    }


def _contact(_type: str, _text: str | None, meta: Json) -> Json:
    cards = meta.get("cards")
    if not isinstance(cards, list):
        cards = [meta.get("card")] if isinstance(meta.get("card"), dict) else []
    return {"type": "contact", "cards": [_card(card) for card in cards if isinstance(card, dict)]}


def _card(card: Json) -> Json:
    """A Telegram contact (phone_number, first/last name) or a WhatsApp vCard-like object."""
    if "phone_number" in card:
        names = (card.get("first_name"), card.get("last_name"))
        full = " ".join(n for n in names if isinstance(n, str) and n).strip()
        return {"name": full or None, "phones": [str(card["phone_number"])], "emails": []}
    name = card.get("name")
    formatted = name.get("formatted_name") if isinstance(name, dict) else None
    return {
        "name": _str(formatted),
        "phones": _listed(card.get("phones"), "phone"),
        "emails": _listed(card.get("emails"), "email"),
    }


def _listed(items: Any, key: str) -> list[str]:
    found = (i.get(key) for i in items if isinstance(i, dict)) if isinstance(items, list) else ()
    return [str(v) for v in found if isinstance(v, str) and v]


def _interactive(_type: str, text: str | None, meta: Json) -> Json:
    """A button, list row, postback or quick reply: the id we gave it and the title shown."""
    kind = meta.get("interactive")
    if kind is None and "callback_query_id" in meta:  # Telegram: only the button's data
        return {"type": "interactive", "kind": "callback", "id": text, "title": None}
    ident = meta.get("id", meta.get("payload"))
    return {"type": "interactive", "kind": _str(kind), "id": _id(ident), "title": text}


def _email(text: str | None, media: Any, meta: Json) -> Json:
    refs = meta.get("references")
    return {
        "type": "email",
        "subject": _str(meta.get("subject")),
        "text": text,
        "to": _str(meta.get("to")),
        "in_reply_to": _str(meta.get("in_reply_to")),
        "references": [str(r) for r in refs] if isinstance(refs, list) else [],
        "media": _media(media),
    }


def _shared(type_: str, text: str | None, media: list[Json], meta: Json) -> Json:
    """A shared post or reel, a mention in a story, an answer to the business's story: its URL."""
    story = meta.get("reply_to_story")
    source = media[0] if media else story if isinstance(story, dict) else {}
    return {
        "type": type_,
        "text": text,
        "url": _str(source.get("url")),
        "title": _str(source.get("title")),
    }


def _unsupported(type_: str, text: str | None, meta: Json) -> Json:
    kind = meta.get("kind") if type_ == "unsupported" else type_
    return {"type": "unsupported", "kind": _str(kind), "text": text}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: Any) -> str | None:
    return None if value is None or isinstance(value, bool) else str(value)


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


BUILDERS: dict[str, Callable[[str, str | None, Json], Json]] = {
    "text": _text,
    "location": _location,
    "reaction": _reaction,
    "contact": _contact,
    "interactive": _interactive,
}
