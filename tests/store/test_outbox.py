"""Events out written to the outbox: each operation's event with its source, in the change's
transaction (a rollback leaves neither), only for subscribed workspaces and wanted types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import time_machine

from store import bulk, contacts, db, events, merge, outbox, outbox_delivery, subscriptions, tags
from store.access import Actor
from store.inbound.ingest import write_batch
from store.setup import get_workspace
from store.types import Inbound, Item
from tests import helpers as h

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STAMP = "2026-11-20T12:00:00Z"


async def _actor(surface: str = "api", slug: str = "acme") -> Actor:
    await h.workspace(slug, region="EC")
    return Actor((await get_workspace(slug)).id, f"{surface}:owner", surface, "owner")


async def _outbox() -> list[dict[str, Any]]:
    """The outbox rows, bodies decoded (a message.received's body is rendered when claimed)."""
    rows = await h.rows(
        "SELECT subscription_id, contact_id, type, payload FROM outbox_event ORDER BY id"
    )
    return [{**r, "payload": r["payload"] and orjson.loads(r["payload"])} for r in rows]


async def _summary() -> list[tuple[str, int | None, str | None]]:
    """(type, contact id, data.source) of every outbox row written with its body, in order."""
    return [
        (r["type"], r["contact_id"], r["payload"]["data"].get("source"))
        for r in await _outbox()
        if r["payload"] is not None
    ]


async def _deliver_all(now: datetime) -> list[Any]:
    """Claim and mark delivered until nothing is due; the bodies in the order claimed."""
    bodies = []
    while due := await outbox_delivery.claim(100, now):
        bodies += [orjson.loads(d.payload) for d in due]
        await outbox_delivery.record([outbox_delivery.Result(d, 204) for d in due], now)
    return bodies


@time_machine.travel(NOW, tick=False)
async def test_each_operation_writes_its_event_with_its_source(orm: str) -> None:
    api = await _actor("api")
    await subscriptions.create(api, "https://crm.example/hook")
    made, _ = await contacts.upsert(api, {"name": "Ana", "email": "ana@example.com"})
    await contacts.upsert(api, {"email": "ana@example.com", "city": "Quito"})
    bot = Actor(api.workspace_id, "telegram:42", "telegram", "admin")
    await tags.add(bot, made.id, ["vip"])
    await tags.remove(bot, made.id, ["vip", "never-had"])
    await tags.remove(bot, made.id, ["vip"])  # nothing to remove: no event
    cli = Actor(api.workspace_id, "cli", "cli", "owner")
    other, _ = await contacts.upsert(cli, {"name": "Ana B", "phone": "0991234567"})
    await merge.merge(api, made.id, other.id)
    await merge.unmerge(api, other.id)
    await contacts.delete(api, other.id)
    async with db.raw_transaction() as tx:
        await events.emit(tx, api.workspace_id, "cap_80", "cap_80:2026-11",
                          {"period": "2026-11", "used": 8, "cap": 10}, NOW)  # fmt: skip
    assert await _summary() == [
        ("contact.created", made.id, "api"),
        ("contact.updated", made.id, "api"),
        ("contact.tagged", made.id, "bot"),
        ("contact.untagged", made.id, "bot"),
        ("contact.created", other.id, "manual"),
        ("contact.merged", made.id, "merge"),
        ("contact.unmerged", made.id, "merge"),
        ("contact.deleted", other.id, "api"),
        ("plan.threshold", None, None),
    ]
    rows = await _outbox()
    assert rows[3]["payload"]["data"]["tags"] == ["vip"]  # only the tag it had
    assert rows[5]["payload"]["data"]["secondary_id"] == other.id
    assert rows[8]["payload"] == {
        "type": "plan.threshold",
        "timestamp": STAMP,
        "data": {"period": "2026-11", "used": 8, "cap": 10, "threshold": 80},
    }
    created = rows[0]["payload"]
    assert created["type"] == "contact.created" and created["timestamp"] == STAMP
    assert created["data"]["contact"] == {
        "id": made.id, "workspace_id": api.workspace_id, "name": "Ana",
        "email": "ana@example.com", "phone": None, "identifier": None, "company": None,
        "city": None, "country": None, "language": None, "avatar_url": None, "custom": {},
        "assignee": None, "source": "api", "last_channel_id": None, "created_at": STAMP,
        "updated_at": STAMP, "last_activity_at": None, "last_incoming_at": None, "tags": [],
        "channels": [], "display_name": "Ana",
    }  # fmt: skip


@time_machine.travel(NOW, tick=False)
async def test_inbound_batch_writes_contact_created_then_message_received(orm: str) -> None:
    api = await _actor()
    sub, _ = await subscriptions.create(api, "https://crm.example/hook")
    tg = await h.channel("telegram")
    batch = [
        Item(tg, Inbound(external_id="u1", provider_message_id="1", type="text", sent_at=NOW,
                         text="hola", display_name="Ana")),
        Item(tg, Inbound(external_id="u1", provider_message_id="2", type="text", sent_at=NOW,
                         text="¿hay alguien?")),
        Item(tg, Inbound(external_id="u1", provider_message_id="1", type="text", sent_at=NOW)),
    ]  # fmt: skip
    async with db.raw_transaction() as tx:
        assert await write_batch(tx, batch) == ["stored", "stored", "duplicate"]
    contact_id = int(await h.scalar("SELECT id FROM contact"))
    ids = [int(r["id"]) for r in await h.rows("SELECT id FROM message ORDER BY id")]
    rows = await _outbox()
    assert [(r["type"], r["contact_id"], r["payload"] is None) for r in rows] == [
        ("contact.created", contact_id, False),
        ("message.received", contact_id, True),  # by reference: rendered when claimed
        ("message.received", contact_id, True),
    ]
    first, second, third = await _deliver_all(NOW)
    assert first["data"]["contact"] == {
        "id": contact_id, "workspace_id": api.workspace_id, "name": "Ana", "email": None,
        "phone": None, "identifier": None, "company": None, "city": None, "country": None,
        "language": None, "avatar_url": None, "custom": {}, "assignee": None,
        "source": "inbound", "last_channel_id": tg.id, "created_at": STAMP,
        "updated_at": STAMP, "last_activity_at": STAMP, "last_incoming_at": STAMP, "tags": [],
        "channels": ["telegram"], "display_name": "Ana",
    }  # fmt: skip
    assert (first["type"], first["data"]["source"]) == ("contact.created", "inbound")
    assert (second["data"]["message"]["text"], second["data"]["source"]) == ("hola", "inbound")
    assert third == {
        "type": "message.received",
        "timestamp": STAMP,
        "data": {
            "message": {
                "id": ids[1], "contact_id": contact_id, "channel_key": tg.key,
                "channel_kind": "telegram", "direction": "in", "type": "text",
                "text": "¿hay alguien?", "media": None, "provider_message_id": "2",
                "sent_at": STAMP, "received_at": STAMP,
            },
            "source": "inbound",
        },
    }  # fmt: skip
    kept = await _outbox()
    assert kept[2]["payload"] == third  # rendered once, kept: every retry sends the same body
    assert {r["subscription_id"] for r in rows} == {sub.id}


async def test_no_subscription_no_rows_and_types_are_filtered(orm: str) -> None:
    api = await _actor()
    other = await _actor(slug="other")
    tg = await h.channel("telegram")
    await subscriptions.create(other, "https://other.example/hook")  # another workspace's
    await contacts.upsert(api, {"name": "Ana"})
    async with db.raw_transaction() as tx:
        await write_batch(tx, [_item(tg, "u1", "1")])
    assert await _outbox() == []
    only_tags, _ = await subscriptions.create(api, "https://crm.example/tags", ["contact.tagged"])
    everything, _ = await subscriptions.create(api, "https://crm.example/all")
    made, _ = await contacts.upsert(api, {"name": "Bea"})
    await tags.add(api, made.id, ["vip"])
    assert [(r["subscription_id"], r["type"]) for r in await _outbox()] == [
        (everything.id, "contact.created"),
        (only_tags.id, "contact.tagged"),
        (everything.id, "contact.tagged"),
    ]
    one, two = await h.rows("SELECT event_id FROM outbox_event WHERE type = 'contact.tagged'")
    assert one == two  # one event, one webhook-id, whoever receives it


def _item(channel: Any, who: str, mid: str) -> Item:
    return Item(channel, Inbound(external_id=who, provider_message_id=mid, type="text",
                                 sent_at=NOW, text="hola"))  # fmt: skip


class Boom(Exception):
    pass


async def test_a_change_rolled_back_leaves_no_event(orm: str) -> None:
    api = await _actor()
    await subscriptions.create(api, "https://crm.example/hook")
    tg = await h.channel("telegram")
    with pytest.raises(Boom):
        async with db.raw_transaction() as tx:
            assert await write_batch(tx, [_item(tg, "u1", "1")]) == ["stored"]
            assert len(await tx.fetch("SELECT id FROM outbox_event")) == 2  # written, inside
            raise Boom
    with pytest.raises(Boom):
        async with db.raw_transaction() as tx:
            cid = await contacts.insert(tx, api.workspace_id, {"name": "Ana"}, "api")
            await outbox.emit(tx, api.workspace_id, "contact.created", {"id": cid}, contact_id=cid)
            raise Boom
    assert await h.rows("SELECT id FROM contact") == []
    assert await h.rows("SELECT id FROM message") == []
    assert await _outbox() == []
    with pytest.raises(ValueError, match="unknown event type"):
        async with db.raw_transaction() as tx:
            await outbox.emit(tx, api.workspace_id, "contact.poked", {}, contact_id=None)


async def test_bulk_tag_and_delete_write_one_event_per_contact_changed(orm: str) -> None:
    api = await _actor()
    ana, _ = await contacts.upsert(api, {"name": "Ana", "company": "Acme"})
    bea, _ = await contacts.upsert(api, {"name": "Bea", "company": "Acme"})
    await contacts.upsert(api, {"name": "Cid", "company": "Other"})
    await tags.add(api, bea.id, ["vip"])
    await bulk.bulk_tag(api, q="Acme", add=["vip", "new"])  # no subscription yet: no events
    assert await _outbox() == []
    await subscriptions.create(api, "https://crm.example/hook")
    await bulk.bulk_tag(api, q="Acme", add=["vip", "late"], remove=["new"])
    assert [(t, c, r["payload"]["data"]["tags"]) for (t, c, _s), r in
            zip(await _summary(), await _outbox(), strict=True)] == [
        ("contact.tagged", ana.id, ["late"]),  # vip: both had it already
        ("contact.tagged", bea.id, ["late"]),
        ("contact.untagged", ana.id, ["new"]),
        ("contact.untagged", bea.id, ["new"]),
    ]  # fmt: skip
    assert (await _outbox())[0]["payload"]["data"]["contact"]["tags"] == ["late", "vip"]
    await bulk.bulk_delete(api, q="Acme", expected=2)
    deleted = [(t, c, s) for t, c, s in await _summary() if t == "contact.deleted"]
    assert deleted == [("contact.deleted", ana.id, "api"), ("contact.deleted", bea.id, "api")]
