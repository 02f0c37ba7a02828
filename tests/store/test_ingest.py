"""The batched write on its own: one transaction, many items, exact cap, ordered holds."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from store import db
from store.inbound import BatchWriter, WriteFailed, write_batch
from store.types import ChannelInfo, Inbound, Item
from tests import helpers as h

SENT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def item(channel: ChannelInfo, who: str, mid: str, **extra: object) -> Item:
    return Item(
        channel,
        Inbound(
            external_id=who,
            provider_message_id=mid,
            type="text",
            sent_at=SENT,
            text="hola",
            **extra,
        ),
    )  # type: ignore[arg-type]


async def test_one_batch_splits_new_senders_at_the_cap_in_arrival_order(orm: str) -> None:
    await h.workspace(cap=2)
    tg = await h.channel("telegram")
    batch = [
        item(tg, "a", "1"),
        item(tg, "b", "2"),
        item(tg, "a", "3"),
        item(tg, "c", "4"),
        item(tg, "d", "5"),
        item(tg, "c", "6"),
        item(tg, "a", "1"),
    ]
    async with db.raw_transaction() as tx:
        outcomes = await write_batch(tx, batch)
    assert outcomes == ["stored", "stored", "stored", "held", "held", "held", "duplicate"]
    assert await h.rows(
        "SELECT external_id, provider_message_id FROM held_message ORDER BY id"
    ) == [
        {"external_id": "c", "provider_message_id": "4"},
        {"external_id": "d", "provider_message_id": "5"},
        {"external_id": "c", "provider_message_id": "6"},
    ]
    assert await h.scalar("SELECT used FROM plan_period") == 2


async def test_batch_spanning_two_workspaces_counts_each_against_its_own_cap(orm: str) -> None:
    await h.workspace("acme", cap=1)
    await h.workspace("beta", cap=5)
    acme, beta = await h.channel("telegram", "acme"), await h.channel("telegram", "beta")
    async with db.raw_transaction() as tx:
        outcomes = await write_batch(
            tx,
            [
                item(acme, "x", "1"),
                item(beta, "x", "1"),
                item(acme, "y", "2"),
                item(beta, "y", "2"),
            ],
        )
    assert outcomes == ["stored", "stored", "held", "stored"]
    used = await h.rows(
        "SELECT w.slug, p.used FROM plan_period p JOIN workspace w"
        " ON w.id = p.workspace_id ORDER BY w.slug"
    )
    assert used == [{"slug": "acme", "used": 1}, {"slug": "beta", "used": 2}]


async def test_bsuid_seen_later_is_learned_and_then_resolves_alone(orm: str) -> None:
    await h.workspace(cap=10)
    wa = await h.channel("whatsapp")
    phone_only = item(wa, "593991234567", "w1", phone="+593991234567")
    both = item(wa, "593991234567", "w2", phone="+593991234567", scoped_id="EC.1234567890")
    bsuid_only = item(wa, "EC.1234567890", "w3", scoped_id="EC.1234567890")
    for one in (phone_only, both, bsuid_only):
        async with db.raw_transaction() as tx:
            assert await write_batch(tx, [one]) == ["stored"]
    assert await h.rows("SELECT external_id, scoped_id, phone FROM identity") == [
        {"external_id": "593991234567", "scoped_id": "EC.1234567890", "phone": "+593991234567"}
    ]
    assert await h.scalar("SELECT count(DISTINCT identity_id) AS n FROM message") == 1
    assert await h.scalar("SELECT used FROM plan_period") == 1


async def test_vouched_phone_joins_the_existing_contact(orm: str) -> None:
    await h.workspace(cap=10, region="EC")
    sms, wa = await h.channel("twilio_sms"), await h.channel("whatsapp")
    async with db.raw_transaction() as tx:
        await write_batch(tx, [item(sms, "+593991234567", "s1", phone="0991234567")])
        await write_batch(
            tx, [item(wa, "593991234567", "w1", phone="+593 99 123 4567", display_name="María")]
        )
    assert await h.rows("SELECT name, phone FROM contact") == [
        {"name": "María", "phone": "+593991234567"}
    ]
    assert await h.scalar("SELECT count(*) AS n FROM identity") == 2
    assert await h.scalar("SELECT used FROM plan_period") == 2


async def test_a_failing_request_does_not_sink_the_others_in_its_batch(
    orm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await h.workspace(cap=10)
    tg = await h.channel("telegram")
    writer = BatchWriter()
    real = write_batch

    async def flaky(tx: db.RawTx, items: list[Item]) -> list[str]:
        if any(i.inbound.provider_message_id == "poison" for i in items):
            raise RuntimeError("simulated database failure")
        return await real(tx, items)  # type: ignore[return-value]

    monkeypatch.setattr("store.inbound.writer.write_batch", flaky)
    writer.start()
    try:
        import asyncio

        good, bad = await asyncio.gather(
            writer.submit([item(tg, "a", "ok-1")]),
            writer.submit([item(tg, "b", "poison")]),
            return_exceptions=True,
        )
    finally:
        await writer.stop()
    assert good == ["stored"]
    assert isinstance(bad, WriteFailed)
    assert await h.rows("SELECT provider_message_id FROM message") == [
        {"provider_message_id": "ok-1"}
    ]
    assert await h.scalar("SELECT count(*) AS n FROM identity") == 1


async def test_phone_seen_after_a_bsuid_only_message_is_recorded(orm: str) -> None:
    await h.workspace(cap=10, region="EC")
    wa, sms = await h.channel("whatsapp"), await h.channel("twilio_sms")
    first = item(wa, "EC.998877", "w1", scoped_id="EC.998877")
    later = item(wa, "593991234567", "w2", phone="+593991234567", scoped_id="EC.998877")
    by_sms = item(sms, "+593991234567", "s1", phone="+593991234567")
    for one in (first, later, by_sms):
        async with db.raw_transaction() as tx:
            assert await write_batch(tx, [one]) == ["stored"]
    assert await h.rows("SELECT external_id, scoped_id, phone FROM identity ORDER BY id") == [
        {"external_id": "EC.998877", "scoped_id": "EC.998877", "phone": "+593991234567"},
        {"external_id": "+593991234567", "scoped_id": None, "phone": "+593991234567"},
    ]
    assert await h.rows("SELECT phone FROM contact") == [{"phone": "+593991234567"}]
    assert await h.scalar("SELECT used FROM plan_period") == 2


class Counting:
    """A transaction that records the first words of every statement run on it."""

    def __init__(self, tx: db.RawTx) -> None:
        self.tx, self.dialect, self.seen = tx, tx.dialect, list[str]()
        self.for_update, self.for_share = tx.for_update, tx.for_share

    async def fetch(self, sql: str, params: object = ()) -> list[object]:
        self.seen.append(" ".join(sql.split()[:3]))
        return await self.tx.fetch(sql, params)  # type: ignore[arg-type]

    async def execute(self, sql: str, params: object = ()) -> None:
        self.seen.append(" ".join(sql.split()[:3]))
        await self.tx.execute(sql, params)  # type: ignore[arg-type]


async def test_known_senders_cost_the_same_statements_with_edits_in_the_code(orm: str) -> None:
    """Edits pay for their own lookup; a batch of ordinary messages runs three statements and
    the events-out insert (which writes rows only for subscribed workspaces)."""
    await h.workspace()
    tg = await h.channel("telegram")
    async with db.raw_transaction() as tx:
        await write_batch(tx, [item(tg, "a", "1", meta={"message_id": 7, "chat_id": 70})])
    async with db.raw_transaction() as tx:
        counting = Counting(tx)
        batch = [item(tg, "a", "2"), item(tg, "a", "3")]
        assert await write_batch(counting, batch) == ["stored", "stored"]  # type: ignore[arg-type]
    touch = "WITH v(id, name," if counting.dialect == "sqlite" else "UPDATE contact SET"
    emit = "INSERT INTO outbox_event"  # by reference, one per batch (store.inbound.events_out)
    assert counting.seen == ["SELECT id, contact_id,", "INSERT INTO message", touch, emit]
    edit = item(
        tg, "a", "4", meta={"edit_of": 7, "chat_id": 70, "edited_at": "2026-11-02T12:05:00+00:00"}
    )
    edit.inbound.text = "adiós"
    async with db.raw_transaction() as tx:
        counting = Counting(tx)
        assert await write_batch(counting, [edit]) == ["stored"]  # type: ignore[arg-type]
    assert len(counting.seen) == 4  # lookup, the original, its update, activity (no event)
    assert await h.scalar("SELECT COUNT(*) FROM message") == 3


async def test_edits_out_of_order_leave_the_newest_text(orm: str) -> None:
    await h.workspace()
    wa = await h.channel("whatsapp")
    at = [f"2026-11-02T12:0{n}:00+00:00" for n in range(3)]

    def edit(mid: str, text: str, when: str) -> Item:
        meta = {"edit_of": "wamid.1", "edited_at": when}
        return Item(wa, Inbound(external_id="593991234567", provider_message_id=mid, type="text",
                                sent_at=SENT, text=text, meta=meta))  # fmt: skip

    async with db.raw_transaction() as tx:
        await write_batch(tx, [item(wa, "593991234567", "wamid.1")])
        assert await write_batch(tx, [edit("e2", "third", at[2])]) == ["stored"]
        assert await write_batch(tx, [edit("e1", "second", at[1])]) == ["stored"]
        assert await write_batch(tx, [edit("e1", "second", at[1])]) == ["duplicate"]
    [row] = await h.rows("SELECT text, edited_at, history FROM message")
    history = row["history"] if isinstance(row["history"], list) else orjson.loads(row["history"])
    assert (row["text"], [(v["text"], v["id"]) for v in history]) == (
        "third",
        [("hola", "wamid.1"), ("second", "e1"), ("third", "e2")],
    )


async def test_an_edit_that_keeps_the_text_adds_no_version(orm: str) -> None:
    """Telegram sends each move of a live location as an edited_message without text."""
    await h.workspace()
    tg = await h.channel("telegram")
    place = {"message_id": 9, "chat_id": 7, "latitude": 52.5, "longitude": 13.4}
    moved = {**place, "latitude": 52.6, "edit_of": 9, "edited_at": "2026-11-02T12:01:00+00:00"}
    async with db.raw_transaction() as tx:
        await write_batch(tx, [Item(tg, Inbound("7", "u1", "location", SENT, meta=place))])
        assert await write_batch(
            tx, [Item(tg, Inbound("7", "u2", "location", SENT, meta=moved))]
        ) == ["stored"]
    assert await h.rows("SELECT text, edited_at, history FROM message") == [
        {"text": None, "edited_at": None, "history": None}
    ]


async def test_a_telegram_edit_finds_its_original_in_its_own_chat_only(orm: str) -> None:
    """message_id counts per chat: the same number in a group is another message."""
    await h.workspace()
    tg = await h.channel("telegram")
    when = "2026-11-02T12:05:00+00:00"
    async with db.raw_transaction() as tx:
        await write_batch(tx, [item(tg, "a", "1", meta={"message_id": 7, "chat_id": 70})])
        other = item(tg, "a", "2", meta={"edit_of": 7, "chat_id": -100, "edited_at": when})
        mine = item(tg, "a", "3", meta={"edit_of": 7, "chat_id": 70, "edited_at": when})
        other.inbound.text = mine.inbound.text = "editado"
        assert await write_batch(tx, [other, mine]) == ["stored", "stored"]
    assert await h.rows("SELECT provider_message_id, text FROM message ORDER BY id") == [
        {"provider_message_id": "1", "text": "editado"},
        {"provider_message_id": "2", "text": "editado"},
    ]
