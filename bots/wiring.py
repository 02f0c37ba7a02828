"""The bots inside the gateway: the core's button key and reset runner, and each admin bot
(Telegram, Slack) mounted the same way when its settings are set."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bots import core
from bots.buttons import derive_key
from gateway import keys, outbound
from gateway.outbound.base import SendError, Senders
from store import outbound as records
from store.access import Actor


def install(app: web.Application) -> None:
    """Configure the core at start; mount each admin bot whose settings are set (Telegram: its
    token; Slack: its token and signing secret). A platform's SDK is imported only then."""
    app.cleanup_ctx.append(_core)
    settings = app[keys.SETTINGS]
    if settings.telegram_admin_bot_token:
        from bots import telegram

        telegram.mount(app, settings)
    if settings.slack_bot_token and settings.slack_signing_secret:
        from bots import slack

        slack.mount(app, settings)


async def _core(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    secrets = (
        (settings.bot_action_secret,)
        if settings.bot_action_secret
        else (settings.telegram_admin_bot_token, settings.slack_signing_secret)
    )
    if any(secrets):
        core.configure(key=derive_key(*secrets), resets=app[keys.RESETS])
    core.RUNTIME.outbound = Outbound(app[keys.SENDERS])
    yield
    core.RUNTIME.outbound = None


class Outbound:
    """`/send` from chat: the API's outbound path (gateway.outbound.send_message), its
    refusals turned into a core.Sent the command words in the person's language."""

    def __init__(self, senders: Senders) -> None:
        self.senders = senders

    async def __call__(self, actor: Actor, contact_id: int, text: str) -> core.Sent:
        try:
            done = await outbound.send_message(self.senders, actor, contact_id, text)
        except SendError as exc:
            to = await records.target(actor, contact_id)
            window = outbound.provider_for(to.channel_kind).WINDOWS.get(to.channel_kind)
            hours = window.total_seconds() / 3600 if window else None
            return core.Sent(None, to.channel_kind, exc.code, hours, exc.retry_after)
        return core.Sent(done.message.id, done.message.channel_kind)
