"""Web chat both ways, through the app, on both backends: the visitor's token comes with the
answer to a message, opens the stream (SSE) and the long-poll; an agent's reply sent through
`POST /api/v1/contacts/{ref}/messages` reaches them, history and Last-Event-ID resume keep the
conversation; on PostgreSQL a reply sent through one gateway app reaches a stream held by
another through LISTEN/NOTIFY. The browser: tests/gateway/test_widget_browser.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway import webchat_stream
from gateway.app import create_app
from gateway.channels import webchat
from gateway.provision import known_kinds
from gateway.settings import Settings
from store.channels import upsert_channel
from store.db import ClientTx
from store.serial import dump_json
from tests import helpers as h
from tests.gateway.api.support import tokens

ORIGIN = "https://shop.example.com"
KEY = "wc-acme-stream-01"
SECRET = "wc-stream-secret-9a8b7c"
SECRETS = {"hmac_secret": SECRET, "allowed_origins": ORIGIN}
VISITOR = "5f0e4c1a-2b7d-4c55-9a61-0c8f3e2d1b7a"
WAIT = 5.0  # seconds a test waits for what must arrive (a heartbeat is 15 s: not the way in)


async def channel(cap: int = 1000) -> None:
    await h.workspace(cap=cap)
    await upsert_channel("acme", "webchat", KEY, SECRETS, known_kinds=known_kinds())


async def visitor_writes(client: TestClient, text: str, client_id: str, **fields: Any) -> Any:
    body = {"visitor_id": VISITOR, "message": {"id": client_id, "text": text}, **fields}
    resp = await client.post(
        f"/webhooks/{KEY}",
        data=orjson.dumps(body),
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def agent_replies(client: TestClient, token: str, text: str) -> dict[str, Any]:
    cid = await h.scalar("SELECT contact_id FROM identity WHERE external_id = ?", VISITOR)
    resp = await client.post(
        f"/api/v1/contacts/{cid}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = await resp.json()
    assert resp.status == 201, body
    return body


async def events(resp: ClientResponse, count: int) -> list[tuple[int, dict[str, Any]]]:
    """The next `count` message events of an SSE response: (id, data without its time)."""
    found: list[tuple[int, dict[str, Any]]] = []
    fields: dict[str, str] = {}
    while len(found) < count:
        raw = await asyncio.wait_for(resp.content.readline(), WAIT)
        line = raw.decode().rstrip("\n")
        if line == "" and fields.get("event") == "message":
            data = orjson.loads(fields["data"])
            data.pop("at")
            assert data.pop("id") == int(fields["id"])  # the event id is the message id
            found.append((int(fields["id"]), data))
            fields = {}
        elif line and not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return found


def said(direction: str, text: str, client_id: str | None = None) -> dict[str, Any]:
    return {"direction": direction, "text": text, "client_id": client_id}


@pytest.fixture
async def agent(client: TestClient) -> str:
    return (await tokens())["agent"]


# --- the token --------------------------------------------------------------------------------


async def test_the_answer_carries_the_token_of_this_visitor(client: TestClient) -> None:
    await channel()
    answer = await visitor_writes(client, "hola", "m1")
    assert answer == {
        "ok": True,
        "status": "accepted",
        "id": "m1",
        "token": webchat.visitor_token(SECRET, KEY, VISITOR),
    }
    assert webchat.token_visitor(SECRET, KEY, answer["token"]) == VISITOR


@pytest.mark.parametrize(
    "token",
    [
        "",
        VISITOR,
        webchat.visitor_token(SECRET, "another-key", VISITOR),
        webchat.visitor_token("another-secret", KEY, VISITOR),
        webchat.visitor_token(SECRET, KEY, VISITOR)[:-1] + "0",
        webchat.visitor_token(SECRET, KEY, VISITOR).replace(VISITOR, "x" * 36),
    ],
)
def test_a_token_of_another_channel_visitor_or_secret_is_refused(token: str) -> None:
    assert webchat.token_visitor(SECRET, KEY, token) is None


async def test_stream_and_poll_refuse_a_wrong_token_or_origin(client: TestClient) -> None:
    await channel()
    for path in ("stream", "poll"):
        resp = await client.get(f"/webchat/{KEY}/{path}?token=nope", headers={"Origin": ORIGIN})
        assert resp.status == 401
        assert await resp.json() == {"error": "rejected", "detail": "missing or wrong token"}
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        evil = await client.get(f"/webchat/{KEY}/{path}", headers={"Origin": "https://evil.test"})
        assert (evil.status, await evil.json()) == (
            403,
            {"error": "forbidden", "detail": "origin not allowed"},
        )
    assert (await client.get("/webchat/nope/stream?token=x")).status == 404


# --- the stream -------------------------------------------------------------------------------


async def test_the_stream_sends_the_history_then_the_agents_reply(
    client: TestClient, agent: str
) -> None:
    await channel()
    token = (await visitor_writes(client, "Has order #1001 shipped?", "m1"))["token"]
    resp = await client.get(f"/webchat/{KEY}/stream", params={"token": token},
                            headers={"Origin": ORIGIN})  # fmt: skip
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/event-stream"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    [(first, history)] = await events(resp, 1)
    assert history == said("in", "Has order #1001 shipped?", "m1")
    sent = await agent_replies(client, agent, "Yes, today.")
    [(reply_id, reply)] = await events(resp, 1)
    assert (reply_id, reply) == (sent["id"], said("out", "Yes, today."))
    assert reply_id > first
    resp.close()


async def test_last_event_id_resumes_after_that_message(client: TestClient, agent: str) -> None:
    await channel()
    token = (await visitor_writes(client, "one", "m1"))["token"]
    first = await agent_replies(client, agent, "two")
    await visitor_writes(client, "three", "m3")
    resp = await client.get(f"/webchat/{KEY}/stream?token={token}",
                            headers={"Last-Event-ID": str(first["id"])})  # fmt: skip
    assert [data for _id, data in await events(resp, 1)] == [said("in", "three", "m3")]
    resp.close()


async def test_a_failed_send_never_reaches_the_visitor(client: TestClient) -> None:
    await channel()
    token = (await visitor_writes(client, "hola", "m1"))["token"]
    await ClientTx().execute(
        "INSERT INTO message (workspace_id, channel_id, identity_id, contact_id, direction,"
        " provider_message_id, type, text, meta, sent_at, received_at)"
        " SELECT workspace_id, channel_id, identity_id, contact_id, 'out', 'failed:1', 'text',"
        " 'lost', ?, sent_at, received_at FROM message WHERE id = 1",
        [dump_json({"status": "failed"})],
    )
    resp = await client.get(f"/webchat/{KEY}/poll?token={token}")
    assert [m["text"] for m in (await resp.json())["messages"]] == ["hola"]


# --- the long-poll ----------------------------------------------------------------------------


async def test_the_long_poll_waits_for_the_reply(client: TestClient, agent: str) -> None:
    await channel()
    answer = await visitor_writes(client, "hola", "m1")
    url = f"/webchat/{KEY}/poll?token={answer['token']}&after="
    history = await (await client.get(url)).json()
    [mine] = history["messages"]
    waiting = asyncio.ensure_future(client.get(f"{url}{mine['id']}", headers={"Origin": ORIGIN}))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    sent = await agent_replies(client, agent, "¿En qué le ayudo?")
    resp = await asyncio.wait_for(waiting, WAIT)
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    [reply] = (await resp.json())["messages"]
    assert (reply["id"], reply["direction"], reply["text"]) == (
        sent["id"],
        "out",
        "¿En qué le ayudo?",
    )


async def test_the_long_poll_ends_empty_after_its_wait(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webchat_stream, "POLL_WAIT", 0.05)
    await channel()
    answer = await visitor_writes(client, "hola", "m1")
    resp = await client.get(f"/webchat/{KEY}/poll?token={answer['token']}&after=1")
    assert (resp.status, await resp.json()) == (200, {"messages": []})
    bad = await client.get(f"/webchat/{KEY}/poll?token={answer['token']}&after=x")
    assert (bad.status, (await bad.json())["detail"]) == (
        400,
        "after / Last-Event-ID must be a message id",
    )


# --- widget and its settings ------------------------------------------------------------------


async def test_the_widget_and_its_settings_are_served(client: TestClient) -> None:
    await channel()
    script = await client.get("/webchat/widget.js")
    assert script.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert "EventSource" in await script.text()
    config = await client.get(f"/webchat/{KEY}/config", headers={"Origin": ORIGIN})
    assert await config.json() == {"prechat": False}
    await upsert_channel("acme", "webchat", KEY, {**SECRETS, "prechat": "true"},
                         known_kinds=known_kinds())  # fmt: skip
    assert await (await client.get(f"/webchat/{KEY}/config")).json() == {"prechat": True}


# --- two gateway processes on PostgreSQL ------------------------------------------------------


@pytest.fixture
async def second_app(aiohttp_client: Any, settings: Settings) -> AsyncIterator[TestClient]:
    if not settings.database_url.startswith(("postgres", "asyncpg")):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite there is one process")
    yield await aiohttp_client(create_app(settings))


async def test_a_reply_sent_through_one_app_reaches_a_stream_on_another(
    client: TestClient, second_app: TestClient, agent: str
) -> None:
    await channel()
    token = (await visitor_writes(client, "hola", "m1"))["token"]
    resp = await second_app.get(f"/webchat/{KEY}/stream?token={token}&after=1")
    assert resp.status == 200
    sent = await agent_replies(client, agent, "from app A")
    # within WAIT (5 s) while the heartbeat re-read is 15 s away: only NOTIFY can have woken it
    assert await events(resp, 1) == [(sent["id"], said("out", "from app A"))]
    resp.close()
