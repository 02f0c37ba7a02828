"""Events out delivered to local fake receivers, on SQLite and PostgreSQL: signatures checked
with the `standardwebhooks` library itself, retries with the same webhook-id, order per contact,
a receiver down for a while, rotation, giving up and disabling, two deliverers at once."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import orjson
import pytest
import time_machine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gateway import events_out
from store import contacts, db, outbox, subscriptions
from store.access import Actor
from store.outbox_delivery import BACKOFF
from store.setup import get_workspace
from tests import helpers as h
from tests.fake_receiver import FakeReceiver
from tests.fake_server import Recorded

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CLOSED = "http://127.0.0.1:9/hook"  # nothing listens on the discard port


@pytest.fixture
async def receiver() -> AsyncIterator[FakeReceiver]:
    async with FakeReceiver() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with events_out.session(2.0) as client:
        yield client


@pytest.fixture
def clock() -> AsyncIterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


async def _owner() -> Actor:
    await h.workspace()
    return Actor((await get_workspace("acme")).id, "api:owner", "api", "owner")


async def _emit(actor: Actor, contact_id: int, n: int) -> None:
    async with db.raw_transaction() as tx:
        await outbox.emit(tx, actor.workspace_id, "contact.updated", {"n": n},
                          contact_id=contact_id)  # fmt: skip


def _verified(call: Recorded, secret: str) -> dict[str, object]:
    """The body, verified as a receiver verifies it (the library reads the clock: frozen)."""
    return dict(Webhook(secret).verify(call.raw, call.headers))


async def _state() -> list[tuple[str, int, int | None]]:
    rows = await h.rows("SELECT state, attempts, last_status FROM outbox_event ORDER BY id")
    return [(r["state"], r["attempts"], r["last_status"]) for r in rows]


async def test_delivery_is_signed_as_standard_webhooks_say(
    orm: str, receiver: FakeReceiver, session: aiohttp.ClientSession, clock: object
) -> None:
    owner = await _owner()
    sub, secret = await subscriptions.create(owner, receiver.hook())
    assert secret.startswith("whsec_") and len(Webhook(secret)._whsecret) == 32
    made, _ = await contacts.upsert(owner, {"name": "Ana"})
    assert await events_out.deliver_once(session) == 1
    (call,) = receiver.calls
    body = _verified(call, secret)
    assert body["type"] == "contact.created" and body["timestamp"] == "2026-11-20T12:00:00Z"
    assert body["data"]["contact"]["id"] == made.id  # type: ignore[index]
    assert call.headers["webhook-id"].startswith("msg_") and len(call.headers["webhook-id"]) == 36
    assert call.headers["webhook-timestamp"] == str(int(T0.timestamp()))
    assert call.headers["Content-Type"] == "application/json"
    with pytest.raises(WebhookVerificationError):  # another secret does not verify it
        _verified(call, subscriptions.new_secret())
    assert await _state() == [("delivered", 1, 204)]
    listed = await subscriptions.deliveries(owner, sub.id)
    assert [(d.type, d.state, d.attempts, d.last_status) for d in listed] == [
        ("contact.created", "delivered", 1, 204)
    ]
    assert await events_out.deliver_once(session) == 0  # delivered once


async def test_a_failed_delivery_is_retried_with_the_same_id_after_the_backoff(
    orm: str,
    receiver: FakeReceiver,
    session: aiohttp.ClientSession,
    clock: time_machine.Coordinates,
) -> None:
    owner = await _owner()
    _, secret = await subscriptions.create(owner, receiver.hook())
    await contacts.upsert(owner, {"name": "Ana"})
    receiver.fail_next(503, times=2)
    assert await events_out.deliver_once(session) == 1
    assert await _state() == [("pending", 1, 503)]
    clock.shift(BACKOFF[0] - 1)
    assert await events_out.deliver_once(session) == 0  # not yet
    clock.shift(1)
    assert await events_out.deliver_once(session) == 1
    assert await _state() == [("pending", 2, 503)]
    clock.shift(BACKOFF[1])
    assert await events_out.deliver_once(session) == 1
    assert await _state() == [("delivered", 3, 204)]
    ids = {c.headers["webhook-id"] for c in receiver.calls}
    stamps = [int(c.headers["webhook-timestamp"]) for c in receiver.calls]
    assert len(ids) == 1 and len(receiver.calls) == 3
    assert stamps == [int(T0.timestamp()) + s for s in (0, BACKOFF[0], BACKOFF[0] + BACKOFF[1])]
    bodies = {c.raw for c in receiver.calls}
    assert len(bodies) == 1  # the same body each time, signed anew with its timestamp
    _verified(receiver.calls[-1], secret)


async def test_events_of_one_contact_arrive_in_order_even_across_a_failure(
    orm: str,
    receiver: FakeReceiver,
    session: aiohttp.ClientSession,
    clock: time_machine.Coordinates,
) -> None:
    owner = await _owner()
    await subscriptions.create(owner, receiver.hook())
    for n in range(3):
        await _emit(owner, 1, n)
    await _emit(owner, 2, 0)
    receiver.fail_next(500)  # contact 1's first event fails once
    assert await events_out.deliver_once(session) == 2  # contact 1's first, contact 2's first
    clock.shift(BACKOFF[0])
    for _ in range(3):
        await events_out.deliver_once(session)
    assert len(receiver.calls) == 5  # contact 1's first twice, the others once
    rows = await h.rows("SELECT contact_id, event_id, delivered_at FROM outbox_event ORDER BY id")
    order = [c.headers["webhook-id"] for c in receiver.calls]
    ones = [r["event_id"] for r in rows if r["contact_id"] == 1]
    delivered = [i for i in order if i in ones]
    assert delivered == [ones[0], ones[0], ones[1], ones[2]]  # never 2 before 1 succeeded


async def test_a_receiver_down_for_a_while_gets_everything_once_it_is_back(
    orm: str,
    receiver: FakeReceiver,
    session: aiohttp.ClientSession,
    clock: time_machine.Coordinates,
) -> None:
    owner = await _owner()
    sub, secret = await subscriptions.create(owner, CLOSED)
    for n in range(3):
        await _emit(owner, 10 + n, n)
    assert await events_out.deliver_once(session) == 3
    rows = await h.rows("SELECT state, last_status, last_error FROM outbox_event")
    assert {(r["state"], r["last_status"]) for r in rows} == {("pending", None)}
    assert all(r["last_error"].startswith("ClientConnectorError") for r in rows)
    assert (await subscriptions.get(owner, sub.id)).failing_since == T0
    await h.rows("UPDATE event_subscription SET url = ? WHERE id = ?", receiver.hook(), sub.id)
    clock.shift(BACKOFF[0])
    assert await events_out.deliver_once(session) == 3
    assert sorted(_verified(c, secret)["data"]["n"] for c in receiver.calls) == [0, 1, 2]  # type: ignore[index]
    assert (await subscriptions.get(owner, sub.id)).failing_since is None


async def test_a_subscription_failing_for_three_days_is_disabled_and_admins_are_told(
    orm: str, session: aiohttp.ClientSession, clock: time_machine.Coordinates
) -> None:
    owner = await _owner()
    sub, _ = await subscriptions.create(owner, CLOSED)
    await _emit(owner, 1, 0)
    rounds = 0
    while await events_out.deliver_once(session):
        rounds += 1
        due = await h.scalar("SELECT MIN(next_try_at) FROM outbox_event WHERE state = 'pending'")
        if due is None:
            break
        clock.move_to(db_time(due))
    assert await _state() == [("failed", rounds, None)]
    # at 0, 5 s, 5 min, 30 min, 2 h, 5 h after each other, then every 10 h: the last try
    # before 3 days is the 12th (67.6 h), and waiting 10 h more would pass 3 days
    assert rounds == 12
    found = await subscriptions.get(owner, sub.id)
    assert not found.active and found.disabled_at is not None
    notes = await h.rows("SELECT kind, payload FROM event")
    assert [(n["kind"], orjson.loads(n["payload"])["url"]) for n in notes] == [
        ("subscription_disabled", CLOSED)
    ]
    await _emit(owner, 1, 1)  # a disabled subscription gets no new events
    assert await h.scalar("SELECT COUNT(*) FROM outbox_event") == 1


def db_time(value: object) -> datetime:
    return contacts.stamp(value)


async def test_rotation_signs_with_both_secrets_for_a_day(
    orm: str,
    receiver: FakeReceiver,
    session: aiohttp.ClientSession,
    clock: time_machine.Coordinates,
) -> None:
    owner = await _owner()
    sub, old = await subscriptions.create(owner, receiver.hook())
    new, until = await subscriptions.rotate(owner, sub.id)
    assert until == T0 + timedelta(hours=24) and new != old
    await _emit(owner, 1, 0)
    await events_out.deliver_once(session)
    call = receiver.calls[-1]
    assert len(call.headers["webhook-signature"].split(" ")) == 2
    _verified(call, old)
    _verified(call, new)
    clock.shift(24 * 3600 + 1)
    await _emit(owner, 1, 1)
    await events_out.deliver_once(session)
    call = receiver.calls[-1]
    assert len(call.headers["webhook-signature"].split(" ")) == 1
    _verified(call, new)
    with pytest.raises(WebhookVerificationError):
        _verified(call, old)


@pytest.mark.parametrize("db_url", [pytest.param("pg", marks=pytest.mark.pg)], indirect=True)
async def test_two_deliverers_at_once_deliver_each_event_once_in_order(
    orm: str, receiver: FakeReceiver
) -> None:
    owner = await _owner()
    await subscriptions.create(owner, receiver.hook())
    async with db.raw_transaction() as tx:
        for n in range(300):
            await outbox.emit(tx, owner.workspace_id, "contact.updated", {"n": n},
                              contact_id=n % 20)  # fmt: skip

    async def deliverer() -> None:
        async with events_out.session(5.0) as client:
            while await events_out.deliver_once(client, batch=25):
                pass

    await asyncio.wait_for(asyncio.gather(deliverer(), deliverer()), 60)
    while await h.scalar("SELECT COUNT(*) FROM outbox_event WHERE state = 'pending'"):
        await asyncio.wait_for(asyncio.gather(deliverer(), deliverer()), 60)
    ids = [c.headers["webhook-id"] for c in receiver.calls]
    assert len(ids) == 300 == len(set(ids))
    by_contact: dict[int, list[int]] = defaultdict(list)
    for call in receiver.calls:
        n = orjson.loads(call.raw)["data"]["n"]
        by_contact[n % 20].append(n)
    assert all(ns == sorted(ns) for ns in by_contact.values())
