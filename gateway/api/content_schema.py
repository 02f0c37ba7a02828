"""The OpenAPI schemas of a message's typed `content` (store.content): one per type, by `type`."""

from __future__ import annotations

from typing import Any

from store.content import MEDIA, SHARED

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(kind: str = "string") -> Schema:
    return {"type": [kind, "null"]}


def _variant(type_: str | tuple[str, ...], description: str, **props: Schema) -> Schema:
    types = [type_] if isinstance(type_, str) else list(type_)
    return {
        "type": "object",
        "description": description,
        "properties": {"type": {"enum": types}, **props},
        "required": ["type", *props],
        "additionalProperties": False,
    }


STRINGS = {"type": "array", "items": {"type": "string"}}
MEDIA_LIST = {"type": "array", "items": {"type": "object"}}
CARD = {
    "type": "object",
    "properties": {"name": _text(), "phones": STRINGS, "emails": STRINGS},
    "required": ["name", "phones", "emails"],
    "additionalProperties": False,
}
VARIANTS: dict[str, Schema] = {
    "TextContent": _variant("text", "Plain text.", text=_text()),
    "MediaContent": _variant(
        MEDIA,
        "A file: the provider's media references (url or id, mime_type...) and the caption.",
        caption=_text(),
        media=MEDIA_LIST,
    ),
    "LocationContent": _variant(
        "location",
        "A shared location, maybe a named place.",
        latitude=_text("number"),
        longitude=_text("number"),
        name=_text(),
        address=_text(),
    ),
    "ReactionContent": _variant(
        "reaction",
        "A reaction to the message with the provider's id `message_id`; an empty emoji removes it.",
        emoji={"type": "string"},
        message_id=_text(),
    ),
    "SharedContent": _variant(
        SHARED,
        "Instagram: a shared post or reel (`share`), a mention of the business in a story"
        " (`story_mention`), an answer to the business's story (`story_reply`, with its text).",
        text=_text(),
        url=_text(),
        title=_text(),
    ),
    "ContactContent": _variant(
        "contact", "Shared contact cards.", cards={"type": "array", "items": CARD}
    ),
    "InteractiveContent": _variant(
        "interactive",
        "A tap on a button, list row, postback or quick reply: the id we gave it, its title.",
        kind=_text(),
        id=_text(),
        title=_text(),
    ),
    "EmailContent": _variant(
        "email",
        "A mail: subject, text, the address it was sent to, the thread and the attachments.",
        subject=_text(),
        text=_text(),
        to=_text(),
        in_reply_to=_text(),
        references=STRINGS,
        media=MEDIA_LIST,
    ),
    "UnsupportedContent": _variant(
        "unsupported",
        "Something the channel cannot show us; `kind` says what.",
        kind=_text(),
        text=_text(),
    ),
}
CONTENT: Schema = {
    "description": "The message's content, typed by `type`.",
    "oneOf": [_ref(name) for name in VARIANTS],
    "discriminator": {
        "propertyName": "type",
        "mapping": {
            type_: f"#/components/schemas/{name}"
            for name, schema in VARIANTS.items()
            for type_ in schema["properties"]["type"]["enum"]
        },
    },
}
VERSION: Schema = {
    "type": "object",
    "properties": {"text": _text(), "written_at": {"type": "string", "format": "date-time"}},
    "required": ["text", "written_at"],
    "additionalProperties": False,
}
