"""Test helpers: workspace/channel set-up, signed webhook senders, database read-backs."""

from __future__ import annotations

import itertools
import os
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.provision import known_kinds
from store import db
from store.access import Actor
from store.channels import upsert_channel
from store.setup import get_workspace, upsert_workspace
from store.types import ChannelInfo
from tests.signing import meta_signature, telegram_headers, twilio_signature

TG_SECRET = "tg-secret-token"
WA_SECRET = "wa-app-secret"
WA_VERIFY = "wa-verify-token"
TWILIO_TOKEN = "twilio-auth-token"
SECRETS = {
    "telegram": {"secret_token": TG_SECRET},
    "whatsapp": {"app_secret": WA_SECRET, "verify_token": WA_VERIFY},
    "twilio_sms": {"auth_token": TWILIO_TOKEN},
    "twilio_whatsapp": {"auth_token": TWILIO_TOKEN},
}
_ids = itertools.count(1_000_000)


TEST_ZONE = os.environ.get("CONTACTGATE_TEST_ZONE", "UTC")


async def workspace(
    slug: str = "acme", cap: int = 1000, tz: str = TEST_ZONE, region: str = "EC"
) -> None:
    """Create a workspace (in UTC, or CONTACTGATE_TEST_ZONE where a run moves the zone)."""
    await upsert_workspace(slug, plan_cap=cap, timezone=tz, default_region=region)


async def owner(slug: str = "acme") -> Actor:
    """The workspace's owner, as the tests act."""
    return Actor((await get_workspace(slug)).id, "test", "test", "owner")


async def channel(kind: str, ws: str = "acme", key: str | None = None) -> ChannelInfo:
    """Create a channel of `kind` with the test secrets."""
    return await upsert_channel(
        ws, kind, key or f"{kind}-{ws}-key", SECRETS[kind], known_kinds=known_kinds()
    )


def telegram_update(user_id: int, text: str = "hola", update_id: int | None = None) -> bytes:
    """A Telegram private text message update."""
    uid = update_id if update_id is not None else next(_ids)
    return orjson.dumps(
        {
            "update_id": uid,
            "message": {
                "message_id": uid,
                "date": 1795000000,
                "text": text,
                "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"},
                "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id}"},
            },
        }
    )


def whatsapp_text(wa_id: str, wamid: str | None = None, name: str = "Cliente") -> bytes:
    """A WhatsApp Cloud API text message notification."""
    return orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": wamid or f"wamid.{next(_ids)}",
                                        "timestamp": "1795000000",
                                        "type": "text",
                                        "text": {"body": "hola"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    )


async def send_telegram(
    client: TestClient, key: str, body: bytes, secret: str = TG_SECRET
) -> ClientResponse:
    """POST a Telegram update signed with `secret`."""
    return await client.post(f"/webhooks/{key}", data=body, headers=telegram_headers(secret))


async def send_whatsapp(
    client: TestClient, key: str, body: bytes, secret: str = WA_SECRET
) -> ClientResponse:
    """POST a WhatsApp notification signed with `secret`."""
    return await client.post(
        f"/webhooks/{key}",
        data=body,
        headers={
            "X-Hub-Signature-256": meta_signature(secret, body),
            "Content-Type": "application/json",
        },
    )


async def send_twilio(
    client: TestClient, key: str, params: list[tuple[str, str]], token: str = TWILIO_TOKEN
) -> ClientResponse:
    """POST a Twilio form signed over the URL the test client calls."""
    url = str(client.make_url(f"/webhooks/{key}"))
    return await client.post(
        f"/webhooks/{key}",
        data=urlencode(params),
        headers={
            "X-Twilio-Signature": twilio_signature(token, url, params),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


async def rows(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of a query written with `?` placeholders, on either backend."""
    if db.dialect() == "postgres":
        sql = db.to_pg(sql)
    return await db.client().execute_query_dict(sql, list(params))


async def scalar(sql: str, *params: Any) -> Any:
    """The first column of the first row."""
    result = await rows(sql, *params)
    return next(iter(result[0].values()))


async def english(workspace: str = "acme") -> None:
    """Workspace `workspace` and everyone bound to it so far speak English to the bots (tests
    written before the bots spoke Spanish; tests/bots/test_languages.py covers both)."""
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE workspace SET language = 'en' WHERE slug = ?", [workspace])
        await tx.execute(
            "UPDATE admin_binding SET language = 'en' WHERE workspace_id IN"
            " (SELECT id FROM workspace WHERE slug = ?)",
            [workspace],
        )
