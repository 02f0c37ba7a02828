"""The bots inside the gateway: the core's button key and reset runner, the Telegram admin bot
when its token is set (the Slack bot mounts itself in gateway/app.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bots import core
from bots.buttons import derive_key
from gateway import keys


def install(app: web.Application) -> None:
    """Configure the core at start; mount the Telegram admin bot when configured."""
    app.cleanup_ctx.append(_core)
    settings = app[keys.SETTINGS]
    if settings.telegram_admin_bot_token:
        from bots import telegram

        telegram.mount(app, settings)


async def _core(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    secrets = (
        (settings.bot_action_secret,)
        if settings.bot_action_secret
        else (settings.telegram_admin_bot_token, settings.slack_signing_secret)
    )
    if any(secrets):
        core.configure(key=derive_key(*secrets), resets=app[keys.RESETS])
    yield
