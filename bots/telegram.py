"""The Telegram admin bot: python-telegram-bot's Application inside the gateway's aiohttp app.

Our route at `telegram_admin_path` checks Telegram's secret token, builds the Update and has the
Application process it (no polling, no Updater). Commands come as `/search ana` or
`/contacts search ana`; a command sent as a reply to a contact card, a forwarded customer
message or a shared contact is about that contact; a CSV document starts an import dry run;
button presses are callback queries. Every handler only translates: bots.core does the work.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import structlog
from aiohttp import web
from telegram import BotCommand, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bots import core, render, telegram_send
from bots.core import COMMANDS, ChatUser, Incoming, InFile, Reply, listed
from bots.i18n import DEFAULT, LANGUAGES, N_, code_of, lang
from bots.refs import hinted_contact
from gateway.http import error_response, guarded, read_body
from gateway.settings import Settings

log = structlog.get_logger("contactgate.telegram_admin")
TELEGRAM_BOT: web.AppKey[TelegramAdmin] = web.AppKey("telegram_admin")
ACK_SECONDS = 8.0  # answer Telegram by then; longer work finishes in the background
MAX_UPDATE = 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves bots files up to 20 MB
CSV_NAME = re.compile(r"\.(csv|txt|tsv)$", re.IGNORECASE)
Context = ContextTypes.DEFAULT_TYPE


def menu(code: str) -> list[BotCommand]:
    """The menu in one language: each top-level command once, by its name in that language,
    with its one-line brief (`/buscar` — Buscar contactos por cualquier campo…)."""
    found = {c.name: c for c in listed() if " " not in c.name}  # a subcommand's parent stands
    shown = {found[name].local_name(code).split()[0]: found[name] for name in found}
    t = lang(code)
    return [
        BotCommand(name.replace("-", "_"), t._(cmd.brief)[:256])
        for name, cmd in sorted(shown.items())
        if re.fullmatch(r"[a-z0-9_]{1,32}", name.replace("-", "_"))
    ]


def command_names() -> list[str]:
    """Every command name Telegram accepts (`tag-all` is `/tag_all`), plus `contacts`."""
    import bots.commands  # noqa: F401  (registers them)

    names = {key.split()[0].replace("-", "_") for key in COMMANDS} | {"contacts"}
    return sorted(n for n in names if re.fullmatch(r"[a-z0-9_]{1,32}", n))


class TelegramAdmin:
    """The Application and its lifecycle; ready once getMe answered."""

    def __init__(self, settings: Settings) -> None:
        token = settings.telegram_admin_bot_token or ""
        api = settings.telegram_api_url
        self.secret = settings.telegram_admin_webhook_secret or ""
        self.app = (
            Application.builder().token(token).base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot").updater(None).build()
        )  # fmt: skip
        self.app.add_handler(
            CommandHandler(command_names(), on_command, filters.UpdateType.MESSAGE)
        )
        self.app.add_handler(MessageHandler(filters.Document.ALL, on_document))
        self.app.add_handler(
            MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, on_command)
        )
        self.app.add_handler(CallbackQueryHandler(on_button))
        self.app.add_error_handler(on_error)
        self._lock = asyncio.Lock()

    async def ready(self) -> bool:
        """Initialise and start the Application once (getMe); False while Telegram is away."""
        async with self._lock:
            if self.app.running:
                return True
            try:
                await self.app.initialize()
                await self.app.start()
            except TelegramError as exc:
                log.error("telegram_admin_unavailable", error=str(exc))
                return False
            await self._menus()
        core.register_sender("telegram", self.send)
        return True

    async def _menus(self) -> None:
        """Telegram's command menu, one per language (`language_code`), and without a language
        in the product's default one (a failure only costs the menu)."""
        try:
            for code in LANGUAGES:
                await self.app.bot.set_my_commands(menu(code), language_code=code)
            await self.app.bot.set_my_commands(menu(DEFAULT))
        except TelegramError as exc:
            log.warning("telegram_admin_menu_failed", error=str(exc))

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Deliver a notification; raises when Telegram refuses (the caller retries)."""
        await telegram_send.send(self.app.bot, chat_id, reply)

    async def close(self) -> None:
        """Stop taking updates and wait for the ones in progress."""
        core.unregister_sender("telegram")
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()


async def webhook(request: web.Request) -> web.StreamResponse:
    """POST from Telegram: check the secret token, then process the update (acked within
    ACK_SECONDS; slower work answers in the chat when done)."""
    bot = request.app[TELEGRAM_BOT]
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), bot.secret.encode()):
        return error_response(401, "unauthorized", "bad X-Telegram-Bot-Api-Secret-Token")
    try:
        data = orjson.loads(await read_body(request, MAX_UPDATE))
    except orjson.JSONDecodeError:
        return error_response(400, "bad_request", "the body is not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return error_response(400, "bad_request", "not a Telegram update")
    if not await bot.ready():
        return error_response(503, "unavailable", "the Telegram Bot API is not reachable")
    update = Update.de_json(data, bot.app.bot)
    task = bot.app.create_task(bot.app.process_update(update), update=update)
    await asyncio.wait({task}, timeout=ACK_SECONDS)
    return web.json_response({"ok": True})


def mount(app: web.Application, settings: Settings) -> None:
    """Add the admin bot's route and lifecycle to the gateway app."""
    app[TELEGRAM_BOT] = TelegramAdmin(settings)
    app.router.add_post(settings.telegram_admin_path, guarded(webhook))
    app.cleanup_ctx.append(_lifecycle)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[TELEGRAM_BOT].ready()
    yield
    await app[TELEGRAM_BOT].close()


# --- handlers: an update in, an Incoming or a press out, replies sent back -------------------


def _user(update: Update) -> ChatUser:
    who = update.effective_user
    assert who is not None
    return ChatUser("telegram", str(who.id), who.full_name)


async def on_command(update: Update, context: Context) -> None:
    """`/search ana`, `/contacts tag #12 vip`, `/borrar` as a reply to a contact."""
    message = update.effective_message
    if message is None or not message.text or not message.entities:
        return
    head = message.entities[0]
    end = _command_end(message.text, head.offset + head.length)
    command, _, addressee = message.text[head.offset + 1 : end].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # a command for another bot in a group
    rest = message.text[end:].strip()
    user = _user(update)
    upload = await _upload(message.reply_to_message) if command.startswith("import") else None
    incoming = Incoming(
        user, command, rest, str(message.chat_id), await _replied(user, message, context), upload,
        _language(update),
    )  # fmt: skip
    await _answer(context, message.chat_id, await core.dispatch(incoming))


def _command_end(text: str, end: int) -> int:
    """Where a command ends: Telegram's entity stops at a hyphen (`/tag-all` is `/tag` and
    `-all`), so a hyphenated name typed as on Slack is read whole."""
    typed = re.match(r"(?:-[a-z0-9]+)+(?:@\w+)?", text[end:], re.IGNORECASE)
    return end + typed.end() if typed else end


def _language(update: Update) -> str | None:
    who = update.effective_user
    return who.language_code if who is not None else None


async def on_document(update: Update, context: Context) -> None:
    """A file sent to the bot: a CSV starts an import dry run."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    user = _user(update)
    upload = await _upload(message)
    if upload is None:
        said = await core.language_for(user, _language(update))
        await _answer(context, message.chat_id, [Reply(said._(_NOT_CSV))])
        return
    incoming = Incoming(user, "import", "", str(message.chat_id), None, upload, _language(update))
    await _answer(context, message.chat_id, await core.dispatch(incoming))


_NOT_CSV = N_("I import CSV files (up to 20 MB): send a .csv file as a document.")


async def on_button(update: Update, context: Context) -> None:
    """A press on an inline keyboard button."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    chat_id = query.message.chat.id if query.message else _user(update).user_id
    replies = await core.press(_user(update), query.data, str(chat_id), _language(update))
    await query.answer()
    message = query.message if isinstance(query.message, Message) else None
    if message is not None and replies and replies[0].replace:
        await telegram_send.edit(context.bot, message, replies[0])
        replies = replies[1:]
    await _answer(context, chat_id, replies)


async def on_error(update: object, context: Context) -> None:
    """The one error handler: log, and tell the chat when there is one."""
    log.error("telegram_admin_error", error=repr(context.error), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            said = lang(code_of(_language(update)))
            await context.bot.send_message(
                update.effective_chat.id,
                said._("Something went wrong on our side; try again later."),
            )
        except TelegramError:
            log.warning("telegram_admin_error_reply_failed")


async def _answer(context: Context, chat_id: int | str, replies: list[Reply]) -> None:
    for reply in replies:
        await telegram_send.send(context.bot, chat_id, reply)


async def _replied(user: ChatUser, message: Message, context: Context) -> int | None:
    """The contact a command replying to another message is about, if any."""
    target = message.reply_to_message
    if target is None:
        return None
    if target.from_user is not None and target.from_user.id == context.bot.id:
        return render.card_id(target.text or target.caption)
    origin: Any = target.forward_origin
    sender = getattr(origin, "sender_user", None)
    if sender is not None:
        return await hinted_contact(user, telegram_user=str(sender.id))
    if target.contact is not None:
        shared = target.contact
        telegram_user = str(shared.user_id) if shared.user_id else None
        return await hinted_contact(user, telegram_user=telegram_user, phone=shared.phone_number)
    return None


async def _upload(message: Message | None) -> InFile | None:
    """The CSV document of a message, downloaded; None when it carries no CSV."""
    document = message.document if message is not None else None
    if document is None:
        return None
    name = document.file_name or "upload.csv"
    is_csv = CSV_NAME.search(name) or (document.mime_type or "").startswith("text/")
    if not is_csv or (document.file_size or 0) > MAX_DOWNLOAD:
        return None
    file = await document.get_file()
    return InFile(name, bytes(await file.download_as_bytearray()))
