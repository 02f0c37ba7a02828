"""The Slack adapter: a slack-bolt AsyncApp served by our aiohttp app at /slack/events.

One slash command (`/contacts <subcommand> …`), the buttons of its replies and the merge dialog
go to bots.core; Bolt checks every request's signature and timestamp first. Requests are
acknowledged at once and the work runs in the background; its replies go back through the
request's `response_url` as Block Kit (bots.slack_blocks), files through files_upload_v2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import replace
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots import core
from bots.commands.files import MAX_IMPORT  # (importing bots.commands registers them all)
from bots.core import ChatUser, Incoming, Reply
from bots.i18n import N_, code_of, lang
from bots.registry import NAMES
from bots.slack_blocks import (
    BUTTON_PATTERN,
    CARD_PATTERN,
    MERGE_INPUT,
    MERGE_VIEW,
    merge_view,
    render,
)
from bots.slack_delivery import Delivery, Target
from bots.slack_files import FileProblem, SlackFiles, find_file
from gateway.http import error_response, guarded, read_body
from gateway.settings import Settings

log = structlog.get_logger("contactgate.slack")
PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # an interaction payload carries its whole message: far below this
SHUTDOWN_SECONDS = 10.0
SORRY = N_("Something went wrong on my side; it has been logged. Please try again.")
MAX_LOCALES = 10_000  # users whose Slack locale is remembered


class SlackBot:
    """The Slack side of the bots: request handling, background work, delivery."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        self._bolt: AsyncApp | None = None
        self._files: SlackFiles | None = None
        self._client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery: Delivery | None = None
        self._locales: dict[str, str | None] = {}  # Slack user id -> locale (`es-LA`), cached

    async def start(self) -> None:
        """Open the HTTP session and build the Bolt app (nothing is called on Slack yet)."""
        settings = self._settings
        token = settings.slack_bot_token or ""
        timeout = settings.outbound_timeout_seconds
        # Per step, not per request: an export of tens of MB takes longer than a message.
        steps = aiohttp.ClientTimeout(
            total=max(120.0, 4 * timeout), sock_connect=timeout, sock_read=timeout
        )
        self._session = aiohttp.ClientSession(timeout=steps)
        self._client = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url + "/",
            session=self._session,
            timeout=int(max(1, timeout)),
        )
        self._files = SlackFiles(
            self._client,
            self._session,
            token,
            settings.slack_api_url,
            min(settings.api_import_max_bytes, MAX_IMPORT),
        )
        self._delivery = Delivery(self._client, self._session, self._files)
        bolt = AsyncApp(
            client=self._client,
            signing_secret=settings.slack_signing_secret,
            name="contactgate",
            logger=logging.getLogger("contactgate.slack.bolt"),
        )
        bolt.command(settings.slack_command)(self._on_command)
        NAMES.slack_command = settings.slack_command
        bolt.action(BUTTON_PATTERN)(self._on_button)
        bolt.action(CARD_PATTERN)(self._on_card)
        bolt.view(MERGE_VIEW)(self._on_merge)
        self._bolt = bolt

    async def close(self) -> None:
        """Let background work finish (for a while), then close the HTTP session."""
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=SHUTDOWN_SECONDS)
            for task in pending:
                task.cancel()
        if self._session is not None:
            await self._session.close()

    async def idle(self) -> None:
        """Wait until no background work is left (replies sent)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """POST /slack/events: Bolt verifies the signature, then routes to a listener."""
        if self._bolt is None:
            return error_response(503, "unavailable", "the Slack bot is starting")
        raw = await read_body(request, MAX_BODY)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return error_response(400, "bad_request", "the body is not UTF-8")
        headers: dict[str, str | Sequence[str]] = {
            name: request.headers.getall(name) for name in request.headers
        }
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=headers)
        return await to_aiohttp_response(await self._bolt.async_dispatch(bolt_request))

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Post a notification in a channel; raises when Slack did not take the message."""
        await self._out().notify(chat_id, reply)

    # Listeners: acknowledge at once, the work goes on in the background.

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        target = Target(
            body.get("channel_id", ""), body.get("user_id", ""), body.get("response_url")
        )
        self._spawn(self._command(body, target), target)

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        target = _action_target(body, pressed=True)
        data = str(body["actions"][0].get("value", ""))
        self._spawn(self._press(_action_user(body), data, target), target)

    async def _on_card(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        target = _action_target(body, pressed=False)
        self._spawn(self._card(body, target), target)

    async def _on_merge(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        block_id, action_id = MERGE_INPUT
        other = str(view["state"]["values"][block_id][action_id].get("value") or "").strip()
        if not other:
            said = await core.language_for(
                _action_user(body), await self._locale(body["user"]["id"])
            )
            await ack(
                response_action="errors", errors={block_id: said._("Say which contact to merge.")}
            )
            return
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        user = _action_user(body)
        target = Target(str(meta.get("chat", "")), body["user"]["id"])
        incoming = Incoming(user, "merge", f"#{int(meta['contact'])} {other}", target.channel)
        self._spawn(self._dispatch(incoming, target), target)

    # The work behind each listener.

    async def _command(self, body: dict[str, Any], target: Target) -> None:
        user = ChatUser(
            "slack",
            f"{body.get('team_id', '')}:{body.get('user_id', '')}",
            body.get("user_name", ""),
        )
        command, text = split_command(str(body.get("text", "")))
        incoming = Incoming(user, command, text, target.channel)
        ref = find_file(text) if command == "import" else None
        if ref is not None and await core.may_run(user, "import"):
            try:
                file = await self._uploads().fetch(ref.file_id)
            except FileProblem as exc:  # Slack's own words about the file (not translated)
                await self._out().deliver([Reply(str(exc))], target)
                return
            incoming = Incoming(user, command, ref.rest, target.channel, file=file)
        await self._dispatch(incoming, target)

    async def _dispatch(self, incoming: Incoming, target: Target) -> None:
        incoming = replace(incoming, language=await self._locale(target.user))
        await self._out().deliver(await core.dispatch(incoming), target)

    async def _press(self, user: ChatUser, data: str, target: Target) -> None:
        said = await self._locale(target.user)
        await self._out().deliver(await core.press(user, data, target.channel, said), target)

    async def _locale(self, user_id: str) -> str | None:
        """The Slack user's locale (`users.info`, `include_locale`), asked once per user; None
        when Slack does not say (the workspace's language is used then)."""
        if user_id in self._locales:
            return self._locales[user_id]
        try:
            found = await self._api().users_info(user=user_id, include_locale=True)
            locale = (found.get("user") or {}).get("locale")
        except SlackApiError as exc:
            log.warning("slack_locale_unknown", user=user_id, error=str(exc))
            locale = None
        if len(self._locales) >= MAX_LOCALES:
            self._locales.clear()
        self._locales[user_id] = locale if isinstance(locale, str) else None
        return self._locales[user_id]

    async def _card(self, body: dict[str, Any], target: Target) -> None:
        action = body["actions"][0]
        kind = CARD_PATTERN.match(action["action_id"])
        contact = str(action.get("value", ""))
        if kind is None or not contact.isdigit():
            said = await core.language_for(_action_user(body), await self._locale(target.user))
            await self._out().deliver([Reply(said._("That button is not one of mine."))], target)
            return
        if kind.group(1) == "merge":
            said = await core.language_for(_action_user(body), await self._locale(target.user))
            view = merge_view(int(contact), target.channel, said)
            await self._api().views_open(trigger_id=body["trigger_id"], view=view)
            return
        incoming = Incoming(_action_user(body), kind.group(1), f"#{contact}", target.channel)
        await self._dispatch(incoming, target)

    def _spawn(self, work: Awaitable[None], target: Target) -> None:
        task = asyncio.create_task(self._guarded(work, target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Awaitable[None], target: Target) -> None:
        """The Slack surface's one top-level error handler: log, and tell the user."""
        try:
            await work
        except Exception:
            log.exception("slack_work_failed", channel=target.channel, user=target.user)
            try:
                said = lang(code_of(self._locales.get(target.user)))
                await self._out().post(render(Reply(said._(SORRY))), target, replace=False)
            except Exception:
                log.exception("slack_sorry_failed", channel=target.channel)

    def _api(self) -> AsyncWebClient:
        assert self._client is not None, "SlackBot.start() first"
        return self._client

    def _uploads(self) -> SlackFiles:
        assert self._files is not None, "SlackBot.start() first"
        return self._files

    def _out(self) -> Delivery:
        assert self._delivery is not None, "SlackBot.start() first"
        return self._delivery


def split_command(text: str) -> tuple[str, str]:
    """`tag #12 vip` -> ("tag", "#12 vip"); an empty line is `help`."""
    parts = re.split(r"\s+", text.strip(), maxsplit=1)
    command = parts[0].lower() or "help"
    return command, parts[1] if len(parts) > 1 else ""


def _action_user(body: dict[str, Any]) -> ChatUser:
    user = body.get("user") or {}
    team = user.get("team_id") or (body.get("team") or {}).get("id", "")
    return ChatUser(
        "slack", f"{team}:{user.get('id', '')}", user.get("username") or user.get("name", "")
    )


def _action_target(body: dict[str, Any], *, pressed: bool) -> Target:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    return Target(channel, body["user"]["id"], body.get("response_url"), pressed)


SLACK_BOT: web.AppKey[SlackBot] = web.AppKey("slack_bot")


def mount(app: web.Application, settings: Settings) -> None:
    """Add the Slack bot's route (/slack/events) and lifecycle to the gateway app."""
    app[SLACK_BOT] = SlackBot(settings)
    app.router.add_post(PATH, guarded(_handle))
    app.cleanup_ctx.append(_lifecycle)


async def _handle(request: web.Request) -> web.StreamResponse:
    return await request.app[SLACK_BOT].handle(request)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    bot = app[SLACK_BOT]
    await bot.start()
    core.register_sender("slack", bot.send)
    yield
    core.unregister_sender("slack")
    await bot.close()
