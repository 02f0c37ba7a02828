"""Talking to bots.core as a chat user: send a command, press a button of a reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bots import core
from bots.core import ChatUser, Incoming, InFile, Reply
from tests.bots import updates
from tests.bots.fake_telegram import Call, FakeTelegram
from tests.bots.updates import PATH, SECRET

OWNER, ADMIN, AGENT, STRANGER = "100", "200", "300", "999"
CHAT_ID = "-1001"


def user(user_id: str) -> ChatUser:
    """A Telegram chat user."""
    return ChatUser("telegram", user_id, f"User {user_id}")


@dataclass
class Chat:
    """Sends commands and presses buttons as one of the bound users."""

    async def say(
        self,
        text: str,
        as_user: str = OWNER,
        *,
        contact: int | None = None,
        file: InFile | None = None,
    ) -> list[Reply]:
        """`text` as typed after the slash: `search ana`."""
        command, _, rest = text.partition(" ")
        incoming = Incoming(user(as_user), command, rest, CHAT_ID, contact, file)
        return await core.dispatch(incoming)

    async def one(
        self,
        text: str,
        as_user: str = OWNER,
        *,
        contact: int | None = None,
        file: InFile | None = None,
    ) -> Reply:
        """The single reply to a command."""
        replies = await self.say(text, as_user, contact=contact, file=file)
        assert len(replies) == 1, replies
        return replies[0]

    async def press(self, reply: Reply, label: str, as_user: str = OWNER) -> list[Reply]:
        """Press the button labelled `label` (its start) under `reply`."""
        return await core.press(user(as_user), button(reply, label), CHAT_ID)


def button(reply: Reply, label: str) -> str:
    """The data of the button whose label starts with `label`."""
    found = [b.data for b in reply.buttons if b.label.startswith(label)]
    assert len(found) == 1, (label, [b.label for b in reply.buttons])
    return found[0]


def labels(reply: Reply) -> list[str]:
    """The labels of a reply's buttons."""
    return [b.label for b in reply.buttons]


@dataclass
class TelegramChat:
    """Posts updates to the admin bot's webhook and reads what it sent to the fake Bot API."""

    client: TestClient
    fake: FakeTelegram

    async def post(self, update: dict[str, Any], secret: str = SECRET) -> ClientResponse:
        """POST an update with the secret token header, as Telegram does."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
        return await self.client.post(PATH, data=orjson.dumps(update), headers=headers)

    async def send(self, update: dict[str, Any]) -> list[Call]:
        """Post an update; the messages, documents and edits the bot made for it."""
        before = len(self.fake.calls)
        response = await self.post(update)
        assert response.status == 200, await response.text()
        assert await response.json() == {"ok": True}
        kept = ("sendMessage", "sendDocument", "editMessageText", "editMessageReplyMarkup")
        return [c for c in self.fake.calls[before:] if c.method in kept]

    async def command(self, text: str, user_id: int = 100, **fields: Any) -> list[Call]:
        """`/search ana` from a user (in their private chat unless chat_id= is given)."""
        chat_id = fields.pop("chat_id", None)
        return await self.send(updates.command(text, user_id, chat_id, **fields))

    async def texts(self, text: str, user_id: int = 100, **fields: Any) -> list[str]:
        """The texts the bot sent back for a command."""
        return [c.params.get("text", "") for c in await self.command(text, user_id, **fields)]

    async def press(self, on: Call, label: str, user_id: int = 100) -> list[Call]:
        """Press the button labelled `label` (its start) under a message the bot sent."""
        found = [data for text, data in on.buttons() if text.startswith(label)]
        assert len(found) == 1, (label, on.buttons())
        return await self.send(updates.press(found[0], user_id, on.result))
