"""The `chat` fixture: workspace `acme` with a Telegram owner, admin and agent bound, the bots'
button key set, and helpers to send commands and press buttons through bots.core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bots import core
from gateway.app import create_app
from gateway.resets import ResetRunner
from gateway.settings import Settings
from store.setup import bind_admin
from tests import helpers
from tests.bots.chat import Chat, TelegramChat
from tests.bots.fake_telegram import TOKEN, FakeTelegram
from tests.bots.slack_support import fake_slack, slack, sqlite_settings  # noqa: F401  (Slack fixtures)
from tests.bots.updates import SECRET

KEY = b"test-button-key-0123456789abcdef"


@pytest.fixture
async def chat(orm: str, settings: Settings) -> AsyncIterator[Chat]:
    """Bound users in workspace acme (region EC) and a configured core (with a reset runner)."""
    await helpers.workspace("acme", region="EC")
    for user, role in (("100", "owner"), ("200", "admin"), ("300", "agent")):
        await bind_admin("acme", "telegram", user, role, name=role.title())
    await helpers.english()
    runner = ResetRunner(settings)
    core.configure(key=KEY, resets=runner)
    yield Chat()
    await runner.join()
    await runner.close()


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API the admin bot talks to."""
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def tg(
    aiohttp_client: Any, settings: Settings, fake_telegram: FakeTelegram
) -> AsyncIterator[TelegramChat]:
    """The gateway with the Telegram admin bot mounted, workspace acme and bound users."""
    configured = settings.model_copy(
        update={
            "telegram_admin_bot_token": TOKEN,
            "telegram_admin_webhook_secret": SECRET,
            "telegram_api_url": fake_telegram.url,
        }
    )
    client: TestClient = await aiohttp_client(create_app(configured))
    await helpers.workspace("acme", region="EC")
    for user, role in ((100, "owner"), (200, "admin"), (300, "agent")):
        await bind_admin("acme", "telegram", str(user), role, name=role.title())
    await helpers.english()
    yield TelegramChat(client, fake_telegram)
