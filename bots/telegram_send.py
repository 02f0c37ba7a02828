"""Replies as Telegram messages: light markdown as HTML, buttons as an inline keyboard, files
as documents, and the 4096-character limit (split on lines; a very long text becomes a file)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bots.core import Button, OutFile, Reply, split_text

LIMIT = 4096  # characters of a message after entity parsing (UTF-16 units)
CAPTION = 1024
MAX_PARTS = 3  # a text needing more messages than this is sent as a file
ROW = 3  # buttons per keyboard row
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def to_html(text: str) -> str:
    """Our light markdown (*bold*, `code`) as Telegram HTML; everything else escaped."""
    codes: list[str] = []

    def keep(match: re.Match[str]) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\ue000{len(codes) - 1}\ue000"

    escaped = _CODE.sub(keep, html.escape(text, quote=False))
    bold = _BOLD.sub(r"<b>\1</b>", escaped)
    return re.sub("\ue000(\\d+)\ue000", lambda m: codes[int(m.group(1))], bold)


def keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    """The buttons as an inline keyboard, ROW per row."""
    if not buttons:
        return None
    keys = [InlineKeyboardButton(b.label, callback_data=b.data) for b in buttons]
    return InlineKeyboardMarkup([keys[i : i + ROW] for i in range(0, len(keys), ROW)])


def parts(text: str) -> list[str]:
    """The messages a text takes: split on lines within the limit."""
    astral = any(ord(ch) > 0xFFFF for ch in text)  # those count twice in Telegram's limit
    return split_text(text, LIMIT // 2 if astral else LIMIT)


async def send(bot: Bot, chat_id: str | int, reply: Reply) -> list[Message]:
    """Send one reply: its text (split, or as a file when very long), then its file."""
    if reply.file is not None and reply.text and len(reply.text) <= CAPTION and not reply.buttons:
        return [await _document(bot, chat_id, reply.file, reply.text)]
    sent: list[Message] = []
    markup = keyboard(reply.buttons)
    chunks = parts(reply.text) if reply.text else []
    if len(chunks) > MAX_PARTS:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        long_file = OutFile(f"reply-{stamp}.txt", reply.text.encode(), "text/plain")
        first = chunks[0].split("\n", 1)[0]
        sent.append(await _document(bot, chat_id, long_file, f"{first} (the list is in the file)"))
        chunks = []
        if markup:
            sent.append(await _text(bot, chat_id, "More:", markup))
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent.append(await _text(bot, chat_id, chunk, markup if last else None))
    if reply.file is not None:
        sent.append(await _document(bot, chat_id, reply.file, reply.file.title))
    return sent


async def edit(bot: Bot, message: Message, reply: Reply) -> None:
    """Replace a message's text and keyboard with a reply (what a button press changed)."""
    chunks = parts(reply.text) if reply.text else [""]
    if len(chunks) > 1 or reply.file is not None or not chunks[0]:
        await bot.edit_message_reply_markup(message.chat_id, message.message_id)
        await send(bot, message.chat_id, reply)
        return
    try:
        await bot.edit_message_text(
            to_html(chunks[0]),
            chat_id=message.chat_id,
            message_id=message.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(reply.buttons),
        )
    except BadRequest:  # too old to edit, or deleted: say it in a new message
        await send(bot, message.chat_id, reply)


async def _text(
    bot: Bot, chat_id: str | int, text: str, markup: InlineKeyboardMarkup | None
) -> Message:
    return await bot.send_message(
        chat_id, to_html(text), parse_mode=ParseMode.HTML, reply_markup=markup
    )


async def _document(bot: Bot, chat_id: str | int, file: OutFile, caption: str) -> Message:
    shown = caption[:CAPTION] if caption else None
    return await bot.send_document(
        chat_id,
        InputFile(file.content, filename=file.name),
        caption=to_html(shown) if shown else None,
        parse_mode=ParseMode.HTML if shown else None,
    )
