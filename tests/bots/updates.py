"""Telegram updates as the Bot API posts them to the admin bot's webhook: commands (with their
`bot_command` entity), replies, forwards, shared contacts, documents, button presses."""

from __future__ import annotations

import itertools
from typing import Any

from tests.bots.fake_telegram import BOT_ID, DATE

_ids = itertools.count(10_000)
PATH = "/telegram/admin"
SECRET = "admin-webhook-secret_42"


def person(user_id: int) -> dict[str, Any]:
    """A Telegram user object."""
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "es"}


def message(user_id: int, chat_id: int | None = None, **fields: Any) -> dict[str, Any]:
    """A message in a private chat (or in `chat_id`, a group when negative)."""
    chat = chat_id if chat_id is not None else user_id
    kind = "private" if chat > 0 else "supergroup"
    title = {"title": "Support"} if chat < 0 else {}
    body = {"message_id": next(_ids), "date": DATE, "from": person(user_id),
            "chat": {"id": chat, "type": kind, **title}}  # fmt: skip
    return {**body, **fields}


def command(text: str, user_id: int, chat_id: int | None = None, **fields: Any) -> dict[str, Any]:
    """An update with a command message: `/search ana` with its bot_command entity."""
    length = len(text.split(" ", 1)[0].split("\n", 1)[0])
    entity = {"type": "bot_command", "offset": 0, "length": length}
    msg = message(user_id, chat_id, text=text, entities=[entity], **fields)
    return {"update_id": next(_ids), "message": msg}


def bot_message(text: str, chat_id: int) -> dict[str, Any]:
    """A message the admin bot sent (what a reply points at)."""
    return {"message_id": next(_ids), "date": DATE, "text": text,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Contacts"},
            "chat": {"id": chat_id, "type": "private"}}  # fmt: skip


def forwarded(from_user: int, chat_id: int, text: str = "hola") -> dict[str, Any]:
    """A customer's message forwarded into the admin chat."""
    origin = {"type": "user", "date": DATE - 60, "sender_user": person(from_user)}
    return message(chat_id, chat_id, text=text, forward_origin=origin)


def document(user_id: int, file_id: str, name: str, size: int, caption: str = "") -> dict[str, Any]:
    """An update with a document (a CSV sent to the bot)."""
    doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name,
           "mime_type": "text/csv", "file_size": size}  # fmt: skip
    msg = message(user_id, document=doc)
    if caption:
        msg["caption"] = caption
    return {"update_id": next(_ids), "message": msg}


def press(data: str, user_id: int, on: dict[str, Any]) -> dict[str, Any]:
    """An update with a callback query: `user_id` pressed a button of message `on`."""
    query = {"id": str(next(_ids)), "from": person(user_id), "chat_instance": "-7", "data": data,
             "message": on}  # fmt: skip
    return {"update_id": next(_ids), "callback_query": query}
