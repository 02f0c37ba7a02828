"""Slack test support: requests signed exactly as Slack signs them, built from the captured
payloads in tests/fixtures/slack/, and the gateway with the Slack bot talking to a FakeSlack."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bots import slack as slack_bot
from gateway.app import create_app
from gateway.settings import Settings, load_settings
from store.setup import bind_admin, upsert_workspace
from tests import helpers
from tests.bots.fake_slack import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack
from tests.conftest import OFFLINE
from tests.signing import FIXTURES

USER = "U0ANA0001"
CHANNEL = "C0ADMINS1"


def slack_headers(
    body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    """X-Slack-Request-Timestamp and X-Slack-Signature: v0=hex HMAC-SHA256 of v0:ts:body."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def command_body(text: str, response_url: str, **fields: str) -> bytes:
    """The captured slash-command body with this text, response_url and other fields."""
    raw = (FIXTURES / "slack" / "slash_command.txt").read_text().strip()
    form = dict(parse_qsl(raw, keep_blank_values=True))
    form.update(text=text, response_url=response_url, **fields)
    return urlencode(form).encode()


def payload_body(fixture: str, **changes: Any) -> bytes:
    """An interaction payload (form field `payload=`) from a captured fixture, changed."""
    payload = orjson.loads((FIXTURES / "slack" / fixture).read_bytes())
    payload.update(changes)
    return urlencode({"payload": orjson.dumps(payload).decode()}).encode()


def button_body(action_id: str, value: str, response_url: str, **changes: Any) -> bytes:
    """A block_actions payload: `action_id` pressed with `value`."""
    payload = orjson.loads((FIXTURES / "slack" / "block_actions__button.json").read_bytes())
    payload["actions"][0].update(action_id=action_id, value=value)
    payload.update(response_url=response_url, **changes)
    return urlencode({"payload": orjson.dumps(payload).decode()}).encode()


@dataclass
class SlackHarness:
    """The gateway with the Slack bot, its fake Slack, and helpers to talk as Slack does."""

    fake: FakeSlack
    client: TestClient
    bot: slack_bot.SlackBot

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> ClientResponse:
        """POST /slack/events signed now, unless other headers are given."""
        return await self.client.post(
            slack_bot.PATH, data=body, headers=headers or slack_headers(body)
        )

    async def command(self, text: str, hook: str = "cmd", **fields: str) -> ClientResponse:
        """`/contacts <text>` from Ana in #contact-admins; answers land on hook `hook`."""
        return await self.post(command_body(text, self.fake.hook(hook), **fields))

    async def press(
        self, action_id: str, value: str, hook: str = "act", **changes: Any
    ) -> ClientResponse:
        """Press a button of a bot message."""
        return await self.post(button_body(action_id, value, self.fake.hook(hook), **changes))

    async def bind(
        self, role: str, user: str = USER, workspace: str = "acme", *, english: bool = True
    ) -> None:
        """Bind a Slack user of the fake team to a workspace (created if needed) with a role;
        the workspace and its people speak English unless `english=False`."""
        await upsert_workspace(workspace, default_region="EC")
        await bind_admin(workspace, "slack", f"{TEAM}:{user}", role, name=user.lower())
        if english:
            await helpers.english(workspace)

    async def settle(self) -> None:
        """Wait for the background work the requests started."""
        await self.bot.idle()

    def answers(self, hook: str = "cmd") -> list[dict[str, Any]]:
        """What the bot posted to one response_url, in order (without the raw bytes)."""
        return [
            {k: v for k, v in c.body.items() if k != "_raw"}
            for c in self.fake.of("response_url")
            if c.path.endswith("/" + hook)
        ]


def slack_settings(base: Settings, fake: FakeSlack, **changes: Any) -> Settings:
    """`base` with the Slack bot configured against the fake."""
    return base.model_copy(
        update={
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake.api_url,
            "outbound_timeout_seconds": 2.0,
            **changes,
        }
    )


@pytest.fixture
def sqlite_settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    """Settings on a fresh SQLite copy (the adapter does not depend on the database kind)."""
    path = tmp_path / "cg.db"
    shutil.copy(sqlite_template, path)
    return load_settings(
        database_url=f"sqlite://{path}",
        channel_cache_seconds=0,
        log_level="WARNING",
        reset_export_dir=tmp_path / "reset-exports",
        **OFFLINE,
    )


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack on 127.0.0.1."""
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def slack(
    aiohttp_client: Any, sqlite_settings: Settings, fake_slack: FakeSlack
) -> AsyncIterator[SlackHarness]:
    """The gateway with the Slack bot mounted, against the fake Slack."""
    settings = slack_settings(sqlite_settings, fake_slack)
    app = create_app(settings)
    client: TestClient = await aiohttp_client(app)
    harness = SlackHarness(fake_slack, client, app[slack_bot.SLACK_BOT])
    yield harness
    await harness.settle()
