"""Telegram Bot API webhook: one Update per request from the customer-facing bot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from gateway.channels.base import (
    Ack,
    Content,
    Inbound,
    ParseResult,
    SignatureError,
    WebhookRequest,
    ident,
    json_object,
    objects,
    optional,
    require_secret,
    required,
    same,
    timestamp,
    utc_now,
)

KINDS = ("telegram",)
SECRETS = ("secret_token",)
GENERATED_SECRETS = ("secret_token",)  # we choose it and hand it to setWebhook
MAX_BODY = 1024 * 1024
ACK = Ack(200, b"ok")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Chats whose messages are a customer's: a private chat with the bot, or a group it is in.
MESSAGE_CHATS = ("private", "group", "supergroup")
Json = dict[str, Any]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Updates that never carry a customer's message to the bot.
IGNORED_UPDATES = _words(
    "channel_post edited_channel_post business_connection business_message "
    "edited_business_message deleted_business_messages message_reaction_count inline_query "
    "chosen_inline_result shipping_query pre_checkout_query purchased_paid_media poll poll_answer "
    "my_chat_member chat_member chat_join_request chat_boost removed_chat_boost"
)

# Service messages: Telegram reports an event, the customer wrote nothing.
SERVICE_KEYS = _words(
    "new_chat_members left_chat_member new_chat_title new_chat_photo delete_chat_photo "
    "group_chat_created supergroup_chat_created channel_chat_created "
    "message_auto_delete_timer_changed migrate_to_chat_id migrate_from_chat_id pinned_message "
    "successful_payment refunded_payment users_shared chat_shared gift unique_gift "
    "connected_website write_access_allowed passport_data proximity_alert_triggered boost_added "
    "chat_background_set checklist_tasks_done checklist_tasks_added direct_message_price_changed "
    "paid_message_price_changed forum_topic_created forum_topic_edited forum_topic_closed "
    "forum_topic_reopened general_forum_topic_hidden general_forum_topic_unhidden "
    "giveaway_created giveaway_completed video_chat_scheduled video_chat_started video_chat_ended "
    "video_chat_participants_invited web_app_data"
)

# Message fields that describe the envelope, not the content.
ENVELOPE_KEYS = _words(
    "message_id message_thread_id direct_messages_topic from sender_chat sender_boost_count "
    "sender_business_bot date business_connection_id chat forward_origin is_topic_message "
    "is_automatic_forward reply_to_message external_reply quote reply_to_story "
    "reply_to_checklist_task_id via_bot edit_date has_protected_content is_from_offline "
    "is_paid_post media_group_id author_signature paid_star_count entities caption "
    "caption_entities link_preview_options suggested_post_info effect_id show_caption_above_media "
    "has_media_spoiler reply_markup"
)


def verify(secrets: Mapping[str, str], request: WebhookRequest) -> None:
    """Check the secret token Telegram echoes in a header on every webhook call."""
    expected = require_secret(secrets, "secret_token")
    given = request.headers.get(SECRET_HEADER)
    if given is None:
        raise SignatureError(f"missing {SECRET_HEADER}")
    if not same(given, expected):
        raise SignatureError(f"wrong {SECRET_HEADER}")


def parse(kind: str, request: WebhookRequest) -> ParseResult:
    """The one Update of the request as at most one Inbound."""
    update = json_object(request.body)
    update_id = ident(update, "update_id")
    key = next((k for k in update if k != "update_id"), "empty")
    if key in IGNORED_UPDATES:
        return ParseResult(ignored=1)
    parser = UPDATE_PARSERS.get(key)
    if parser is None:
        return ParseResult(unsupported=[key])
    inbound = parser(update_id, required(update, key, dict))
    return ParseResult(messages=[inbound]) if inbound else ParseResult(ignored=1)


def parse_message(update_id: str, message: Json, where: str = "message") -> Inbound | None:
    """A new message in a private chat or a group; None for channels and service messages.

    In a group the sender is the contact and the group goes to meta (chat_title, chat_type).
    """
    if _chat_type(message, where) not in MESSAGE_CHATS:
        return None
    if "sender_chat" in message:  # posted as a chat (an anonymous admin, a linked channel)
        return None
    content = _content(message, where)
    if content is None:
        return None
    person = _person(required(message, "from", dict, where), f"{where}.from")
    return Inbound(
        **person,
        provider_message_id=update_id,
        type=content.type,
        sent_at=timestamp(message, "date", where),
        text=content.text,
        media=content.media,
        phone=_own_phone(content, person["external_id"]),
        meta={**_message_meta(message, where), **content.meta},
    )


def _own_phone(content: Content, sender_id: str) -> str | None:
    """The phone of a contact card the sender shared of themselves (Telegram's own button)."""
    card = content.meta.get("card") if content.type == "contact" else None
    if card and str(card.get("user_id")) == sender_id:
        return str(card["phone_number"])
    return None


def parse_edited_message(update_id: str, message: Json) -> Inbound | None:
    """A new version of an earlier message, linked to it through meta."""
    inbound = parse_message(update_id, message, "edited_message")
    if inbound is not None:
        edited_at = timestamp(message, "edit_date", "edited_message").isoformat()
        inbound.meta |= {"edit_of": inbound.meta["message_id"], "edited_at": edited_at}
    return inbound


def parse_message_reaction(update_id: str, reaction: Json) -> Inbound | None:
    """A customer's reactions on a message changed; None when sent anonymously as a chat."""
    where = "message_reaction"
    user = optional(reaction, "user", dict, where)
    if not _is_private(reaction, where) or user is None:
        return None
    return Inbound(
        **_person(user, f"{where}.user"),
        provider_message_id=update_id,
        type="reaction",
        sent_at=timestamp(reaction, "date", where),
        meta={
            "reaction_to": required(reaction, "message_id", int, where),
            "chat_id": _chat_id(reaction, where),
            "emoji": _emojis(reaction, where),
        },
    )


def parse_callback_query(update_id: str, query: Json) -> Inbound | None:
    """A tap on an inline keyboard button; None when the keyboard is in a group."""
    where = "callback_query"
    message = optional(query, "message", dict, where)
    if message is not None and not _is_private(message, f"{where}.message"):
        return None
    meta: Json = {"callback_query_id": ident(query, "id", where)}
    if message is not None:
        meta["message_id"] = required(message, "message_id", int, f"{where}.message")
        meta["chat_id"] = _chat_id(message, f"{where}.message")
    if inline_id := optional(query, "inline_message_id", str, where):
        meta["inline_message_id"] = inline_id
    return Inbound(
        **_person(required(query, "from", dict, where), f"{where}.from"),
        provider_message_id=update_id,
        type="interactive",
        sent_at=utc_now(),  # a callback query carries no date
        text=optional(query, "data", str, where),
        meta=meta,
    )


UPDATE_PARSERS: dict[str, Callable[[str, Json], Inbound | None]] = {
    "message": parse_message,
    "edited_message": parse_edited_message,
    "message_reaction": parse_message_reaction,
    "callback_query": parse_callback_query,
}


def _chat_type(holder: Json, where: str) -> str:
    chat = required(holder, "chat", dict, where)
    return required(chat, "type", str, f"{where}.chat")


def _is_private(holder: Json, where: str) -> bool:
    return _chat_type(holder, where) == "private"


def _chat_id(holder: Json, where: str) -> int:
    return required(required(holder, "chat", dict, where), "id", int, f"{where}.chat")


def _person(user: Json, where: str) -> Json:
    names = (optional(user, key, str, where) for key in ("first_name", "last_name"))
    display_name = " ".join(name for name in names if name).strip()
    return {
        "external_id": ident(user, "id", where),
        "username": optional(user, "username", str, where),
        "display_name": display_name or None,
        "language": optional(user, "language_code", str, where) or None,
    }


def _message_meta(message: Json, where: str) -> Json:
    meta: Json = {
        "message_id": required(message, "message_id", int, where),
        "chat_id": _chat_id(message, where),
    }
    chat = required(message, "chat", dict, where)
    if (kind := _chat_type(message, where)) != "private":
        meta |= {"chat_type": kind, "chat_title": optional(chat, "title", str, f"{where}.chat")}
    if (reply := optional(message, "reply_to_message", dict, where)) is not None:
        meta["reply_to"] = required(reply, "message_id", int, f"{where}.reply_to_message")
    return meta


def _emojis(reaction: Json, where: str) -> list[str]:
    path = f"{where}.new_reaction"
    types = objects(reaction, "new_reaction", where, must=True)
    return [required(t, "emoji", str, path) for t in types if t.get("type") == "emoji"]


def _content(message: Json, where: str) -> Content | None:
    for key, parser in CONTENT_PARSERS.items():
        if key in message:
            return parser(message, where)
    kind = next((k for k in message if k not in ENVELOPE_KEYS), "unknown")
    if kind in SERVICE_KEYS:
        return None
    return Content(
        "unsupported", text=optional(message, "caption", str, where), meta={"kind": kind}
    )


def _media(kind: str, file: Json, where: str) -> Json:
    item: Json = {"kind": kind, "file_id": required(file, "file_id", str, where)}
    for key in ("mime_type", "file_name", "file_size"):
        if (value := optional(file, key, int if key == "file_size" else str, where)) is not None:
            item[key] = value
    return item


def parse_file(message: Json, where: str, *, key: str, type_: str) -> Content:
    """A file: audio, voice note, video, round video, GIF, document or sticker."""
    media = _media(key, required(message, key, dict, where), f"{where}.{key}")
    return Content(type_, text=optional(message, "caption", str, where), media=[media])


def parse_sticker(message: Json, where: str) -> Content:
    """A sticker; its emoji is its text."""
    content = parse_file(message, where, key="sticker", type_="sticker")
    sticker = required(message, "sticker", dict, where)
    content.text = optional(sticker, "emoji", str, f"{where}.sticker")
    return content


def parse_text(message: Json, where: str) -> Content:
    """Plain text."""
    return Content("text", text=required(message, "text", str, where))


def parse_photo(message: Json, where: str) -> Content:
    """A photo, sent in several sizes: keep the largest."""
    sizes = objects(message, "photo", where, must=True)
    if not sizes:
        return Content("unsupported", meta={"kind": "photo"})
    largest = max(sizes, key=lambda size: _number(size, "width") * _number(size, "height"))
    media = _media("photo", largest, f"{where}.photo[{sizes.index(largest)}]")
    return Content("image", text=optional(message, "caption", str, where), media=[media])


def _number(holder: Json, key: str) -> int:
    value = holder.get(key)
    return value if isinstance(value, int) else 0


def _point(place: Json, where: str) -> Json:
    return {key: required(place, key, float, where) for key in ("latitude", "longitude")}


def parse_location(message: Json, where: str) -> Content:
    """A shared location."""
    place = required(message, "location", dict, where)
    return Content("location", meta=_point(place, f"{where}.location"))


def parse_venue(message: Json, where: str) -> Content:
    """A named place: a location with a title and an address."""
    venue = required(message, "venue", dict, where)
    path = f"{where}.venue"
    point = _point(required(venue, "location", dict, path), f"{path}.location")
    names = {key: required(venue, key, str, path) for key in ("title", "address")}
    return Content("location", meta=point | names)


def parse_contact(message: Json, where: str) -> Content:
    """A shared phone contact."""
    contact = required(message, "contact", dict, where)
    path = f"{where}.contact"
    card: Json = {"phone_number": required(contact, "phone_number", str, path)}
    for key, kind in (("first_name", str), ("last_name", str), ("user_id", int)):
        if (value := optional(contact, key, kind, path)) is not None:
            card[key] = value
    return Content("contact", meta={"card": card})


# Order matters: venues also carry "location", animations also carry "document".
CONTENT_PARSERS: dict[str, Callable[[Json, str], Content]] = {
    "text": parse_text,
    "photo": parse_photo,
    "venue": parse_venue,
    "location": parse_location,
    "contact": parse_contact,
    "animation": partial(parse_file, key="animation", type_="video"),
    "audio": partial(parse_file, key="audio", type_="audio"),
    "voice": partial(parse_file, key="voice", type_="audio"),
    "video": partial(parse_file, key="video", type_="video"),
    "video_note": partial(parse_file, key="video_note", type_="video"),
    "document": partial(parse_file, key="document", type_="document"),
    "sticker": parse_sticker,
}
