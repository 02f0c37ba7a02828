"""Merge and unmerge of contacts: preview, picks, moved rows, chains, order, exact restore."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from store import contacts, merge, notes, refs, tags
from store.access import Actor
from store.db import ClientTx, raw_transaction
from store.errors import Conflict, Forbidden, Invalid, NotFound
from store.inbound import write_batch
from store.merge import FieldDiff, MergeInfo, MergePreview
from store.serial import load_json
from store.setup import get_workspace
from store.types import ChannelInfo, Inbound, Item
from tests import helpers as h

SENT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def actor_for(slug: str = "acme", role: str = "admin") -> Actor:
    """A workspace (region EC) and an actor on it."""
    await h.workspace(slug, region="EC")
    return Actor((await get_workspace(slug)).id, f"token:{role}", "api", role)


async def ingest(channel: ChannelInfo, who: str, mid: str, **extra: Any) -> int:
    """Store one inbound message through the ingest path; returns its contact id."""
    inbound = Inbound(
        external_id=who, provider_message_id=mid, type="text", sent_at=SENT, text="hola", **extra
    )
    async with raw_transaction() as tx:
        assert await write_batch(tx, [Item(channel, inbound)]) == ["stored"]
    rows = await ClientTx().fetch(
        "SELECT contact_id FROM message WHERE channel_id = ? AND provider_message_id = ?",
        [channel.id, mid],
    )
    return int(rows[0][0])


async def state(ws: int, contact_id: int) -> dict[str, Any]:
    """Everything a contact owns: the contact (tags, channels) and its identity/message/note ids."""
    tx = ClientTx()
    out: dict[str, Any] = {"contact": await contacts.load(tx, ws, contact_id)}
    assert out["contact"].id == contact_id, "the contact is merged away"
    for table in ("identity", "message", "note"):
        rows = await tx.fetch(
            f"SELECT id FROM {table} WHERE contact_id = ? ORDER BY id", [contact_id]
        )
        out[table] = [int(r[0]) for r in rows]
    return out


async def table(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query as tuples."""
    return [tuple(r) for r in await ClientTx().fetch(sql, list(params))]


async def two_contacts(actor: Actor) -> tuple[ChannelInfo, int, int]:
    """Ana (primary: Telegram, 1 message, tag vip) and Ana María (secondary: WhatsApp, 2 later
    messages, a note, tags); returns the secondary's channel and both ids."""
    tg, wa = await h.channel("telegram"), await h.channel("whatsapp")
    p = await ingest(tg, "100", "m1", display_name="Ana")
    s = await ingest(wa, "200", "m2", display_name="Ana María")
    await ingest(wa, "200", "m3")
    await contacts.patch(
        actor,
        p,
        {
            "email": "ana@example.com",
            "company": "Acme",
            "city": "Quito",
            "custom": {"plan": "gold", "size": 10},
        },
    )
    await contacts.patch(
        actor,
        s,
        {
            "phone": "0991234567",
            "city": "Guayaquil",
            "identifier": "crm-9",
            "custom": {"plan": "silver", "vip": True},
        },
    )
    await tags.add(actor, p, ["vip"])
    await tags.add(actor, s, ["VIP", "lead"])
    await notes.add(actor, s, "called twice")
    return wa, p, s


async def test_preview_lists_each_differing_field_and_what_moves(orm: str) -> None:
    actor = await actor_for()
    _wa, p, s = await two_contacts(actor)
    got = await merge.preview(actor, p, s)
    assert got == MergePreview(
        primary=await contacts.get(actor, p),
        secondary=await contacts.get(actor, s),
        diffs=[
            FieldDiff("name", "Ana", "Ana María", "primary", True),
            FieldDiff("email", "ana@example.com", None, "primary", False),
            FieldDiff("phone", None, "+593991234567", "secondary", False),
            FieldDiff("identifier", None, "crm-9", "secondary", False),
            FieldDiff("company", "Acme", None, "primary", False),
            FieldDiff("city", "Quito", "Guayaquil", "primary", True),
            FieldDiff("custom.plan", "gold", "silver", "primary", True),
            FieldDiff("custom.size", 10, None, "primary", False),
            FieldDiff("custom.vip", None, True, "secondary", False),
        ],
        identities=1,
        messages=2,
        notes=1,
        tags=["lead"],
        reset_tag=None,
    )
    assert got.secondary.tags == ["lead", "vip"]


async def test_merge_moves_every_row_to_the_primary_and_fills_its_empty_fields(orm: str) -> None:
    actor = await actor_for()
    wa, p, s = await two_contacts(actor)
    before_p, before_s = await contacts.get(actor, p), await contacts.get(actor, s)
    owned = await state(actor.workspace_id, s)
    tag_ids = dict(await table("SELECT key, id FROM tag"))
    done = await merge.merge(actor, p, s)
    assert (done.moved_tags, done.reset_tag_stayed) == (["lead"], None)
    merged = done.contact
    assert merged == dataclasses.replace(
        before_p,
        phone="+593991234567",
        identifier="crm-9",
        custom={"plan": "gold", "size": 10, "vip": True},
        updated_at=merged.updated_at,
        last_activity_at=before_s.last_activity_at,
        last_incoming_at=before_s.last_incoming_at,
        last_channel_id=wa.id,
        tags=["lead", "vip"],
        channels=["telegram", "whatsapp"],
    )
    assert before_p.last_channel_id != wa.id
    assert merged.updated_at > before_p.updated_at
    assert await table("SELECT contact_id FROM identity ORDER BY id") == [(p,), (p,)]
    assert await table("SELECT provider_message_id, contact_id FROM message ORDER BY id") == [
        ("m1", p),
        ("m2", p),
        ("m3", p),
    ]
    assert await table("SELECT contact_id, body FROM note") == [(p, "called twice")]
    assert await table(
        "SELECT ct.contact_id, t.name FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
        " ORDER BY t.key"
    ) == [(p, "lead"), (p, "vip")]
    assert await table(
        "SELECT merged_into_id, email, phone, identifier, name FROM contact WHERE id = ?", s
    ) == [(p, None, None, None, "Ana María")]
    record = await table(
        "SELECT workspace_id, primary_id, secondary_id, merged_by, unmerged_at FROM merge_record"
    )
    assert record == [(actor.workspace_id, p, s, "token:admin", None)]
    snapshot = load_json((await table("SELECT snapshot FROM merge_record"))[0][0])
    assert {k: v for k, v in snapshot.items() if k.endswith("_ids")} == {
        "identity_ids": owned["identity"],
        "message_ids": owned["message"],
        "note_ids": owned["note"],
        "tag_ids": sorted([tag_ids["vip"], tag_ids["lead"]]),
        "primary_tag_ids": [tag_ids["vip"]],
        "moved_tag_ids": [tag_ids["lead"]],
        "repointed_ids": [],
    }
    assert snapshot["max_message_id"] == max(owned["message"])
    assert snapshot["secondary"]["custom"] == {"plan": "silver", "vip": True}
    assert await table("SELECT action, target FROM audit_log WHERE action LIKE 'contact.m%'") == [
        ("contact.merge", f"#{p}")
    ]
    assert (await merge.merges(actor, p))[0].secondary_name == "Ana María"


async def test_the_secondary_id_and_identifiers_keep_resolving_to_the_primary(orm: str) -> None:
    actor = await actor_for()
    tg, wa = await h.channel("telegram"), await h.channel("whatsapp")
    p = await ingest(tg, "100", "m1", display_name="Ana")
    s = await ingest(tg, "200", "m2", display_name="Ana M")
    await contacts.patch(
        actor, p, {"email": "ana@example.com", "identifier": "crm-1", "phone": "0987654321"}
    )
    await contacts.patch(
        actor, s, {"email": "ana.m@example.com", "identifier": "crm-2", "phone": "0991234567"}
    )
    await merge.merge(actor, p, s)
    assert await table("SELECT email, phone, identifier FROM contact WHERE id = ?", s) == [
        ("ana.m@example.com", "+593991234567", "crm-2")
    ]
    for ref in (f"#{s}", "email:ana.m@example.com", "identifier:crm-2", "phone:0991234567"):
        assert (await refs.contact(actor, refs.parse(ref), "EC")).id == p, ref
    assert (await contacts.get(actor, s)).id == p
    # The moved identity, and a new identity vouching for the secondary's phone, find the primary.
    assert await ingest(tg, "200", "m3") == p
    assert await ingest(wa, "593991234567", "w1", phone="+593991234567") == p
    # Upserting the primary with an email the secondary kept moves that email to the primary.
    upserted, created = await contacts.upsert(
        actor, {"identifier": "crm-1", "email": "ana.m@example.com"}
    )
    assert (upserted.id, created, upserted.email) == (p, False, "ana.m@example.com")
    kept_sql = "SELECT id, email, phone, identifier FROM contact ORDER BY id"
    kept = [
        (p, "ana.m@example.com", "+593987654321", "crm-1"),
        (s, None, "+593991234567", "crm-2"),
    ]
    assert await table(kept_sql) == kept
    assert (await refs.contact(actor, refs.parse("email:ana.m@example.com"))).id == p
    # The secondary's own email is now the primary's: the unmerge says so and changes nothing.
    with pytest.raises(
        Conflict,
        match=f"cannot restore #{s}: its email ana.m@example.com now belongs to contact"
        f" #{p}; change that contact first",
    ):
        await merge.unmerge(actor, s)
    assert await table(kept_sql) == kept
    assert (await contacts.get(actor, s)).id == p


async def test_merge_and_unmerge_leave_plan_usage_alone_and_write_no_events(orm: str) -> None:
    actor = await actor_for()
    _wa, p, s = await two_contacts(actor)
    usage_sql = "SELECT period, carried_over, used FROM plan_period ORDER BY period"
    per_channel_sql = "SELECT channel_id, carried_over, created FROM period_channel_usage"
    usage, per_channel = await table(usage_sql), await table(per_channel_sql)
    events = await table("SELECT kind, key FROM event ORDER BY id")
    await merge.merge(actor, p, s)
    await merge.unmerge(actor, s)
    assert await table(usage_sql) == usage and usage[0][1:] == (0, 2)
    assert await table(per_channel_sql) == per_channel
    assert await table("SELECT kind, key FROM event ORDER BY id") == events == []
    assert await table("SELECT period FROM identity ORDER BY id") == [(usage[0][0],)] * 2


async def test_picks_choose_per_field_and_the_secondary_keeps_what_the_primary_left(
    orm: str,
) -> None:
    actor = await actor_for()
    _wa, p, s = await two_contacts(actor)
    await contacts.patch(actor, s, {"email": "maria@example.com"})
    await contacts.patch(actor, p, {"phone": "0987654321"})
    before = (await state(actor.workspace_id, p), await state(actor.workspace_id, s))
    picks = {"name": "secondary", "email": "secondary", "custom.plan": "secondary"}
    merged = (await merge.merge(actor, p, s, picks)).contact
    assert (merged.name, merged.email, merged.phone, merged.identifier, merged.custom) == (
        "Ana María",
        "maria@example.com",
        "+593987654321",
        "crm-9",
        {"plan": "silver", "size": 10, "vip": True},
    )
    assert await table("SELECT email, phone, identifier FROM contact WHERE id = ?", s) == [
        ("ana@example.com", "+593991234567", None)
    ]
    assert (await refs.contact(actor, refs.parse("email:ana@example.com"))).id == p
    assert (await refs.contact(actor, refs.parse("phone:+593991234567"))).id == p
    primary, secondary = await merge.unmerge(actor, p)
    after = (await state(actor.workspace_id, p), await state(actor.workspace_id, s))
    assert after == before
    assert (primary, secondary) == (before[0]["contact"], before[1]["contact"])


async def test_errors_name_what_is_wrong(orm: str) -> None:
    actor = await actor_for()
    other = await actor_for("beta")
    _wa, p, s = await two_contacts(actor)
    elsewhere, _ = await contacts.upsert(other, {"name": "Beto"})
    third, _ = await contacts.upsert(actor, {"name": "Tercero"})
    with pytest.raises(Conflict, match=f"cannot merge contact #{p} with itself"):
        await merge.merge(actor, p, p)
    with pytest.raises(NotFound, match=f"no contact #{elsewhere.id} in this workspace"):
        await merge.merge(actor, p, elsewhere.id)
    with pytest.raises(NotFound, match=f"no contact #{elsewhere.id} in this workspace"):
        await merge.preview(actor, elsewhere.id, p)
    with pytest.raises(Invalid, match="cannot pick 'colour': choose from name, email, phone"):
        await merge.merge(actor, p, s, {"colour": "secondary"})
    with pytest.raises(Invalid, match=r"cannot pick 'custom\.nope'"):
        await merge.merge(actor, p, s, {"custom.nope": "secondary"})
    with pytest.raises(Invalid, match="the pick for city must be 'primary' or 'secondary'"):
        await merge.merge(actor, p, s, {"city": "both"})
    blanks = {
        "email": "cannot pick the secondary's email: it is empty and would blank the primary's"
        " value (a pick never blanks a value)",
        "phone": "cannot pick the primary's phone: it is empty and would blank the secondary's"
        " value (a pick never blanks a value)",
        "custom.size": "cannot pick the secondary's custom.size: it is empty",
        "custom.vip": "cannot pick the primary's custom.vip: it is empty",
    }
    for field, message in blanks.items():
        side = "primary" if "primary's " + field in message else "secondary"
        with pytest.raises(Invalid) as caught:
            await merge.merge(actor, p, s, {field: side})
        assert str(caught.value).startswith(message)
    with pytest.raises(Forbidden, match="this needs the admin role; you are agent"):
        await merge.merge(dataclasses.replace(actor, role="agent"), p, s)
    with pytest.raises(Conflict, match=f"contact #{p} has no merge to undo"):
        await merge.unmerge(actor, p)
    await merge.merge(actor, p, s)
    message = f"contact #{s} was already merged into #{p}; use #{p}, or unmerge #{s} first"
    with pytest.raises(Conflict, match=message):
        await merge.merge(actor, third.id, s)
    with pytest.raises(Conflict, match=message):
        await merge.merge(actor, s, third.id)
    with pytest.raises(Conflict, match=message):
        await merge.preview(actor, third.id, s)
    await merge.unmerge(actor, s)
    with pytest.raises(Conflict, match=f"contact #{s} has no merge to undo"):
        await merge.unmerge(actor, s)
    assert await table("SELECT COUNT(*) FROM merge_record WHERE unmerged_at IS NULL") == [(0,)]


async def test_chains_stay_flat_and_unwind_newest_first(orm: str) -> None:
    actor = await actor_for()
    ws = actor.workspace_id
    tg = await h.channel("telegram")
    a = await ingest(tg, "1", "a1", display_name="A")
    b = await ingest(tg, "2", "b1", display_name="B")
    c = await ingest(tg, "3", "c1", display_name="C")
    await tags.add(actor, c, ["from-c"])
    await notes.add(actor, c, "note on c")
    start = [await state(ws, x) for x in (a, b, c)]
    await merge.merge(actor, b, c)
    await merge.merge(actor, a, b)
    assert await table("SELECT id, merged_into_id FROM contact ORDER BY id") == [
        (a, None),
        (b, a),
        (c, a),
    ]
    assert (await contacts.get(actor, c)).id == a
    assert (await state(ws, a))["message"] == sorted(m for x in start for m in x["message"])
    assert [(m.primary_id, m.secondary_id) for m in await merge.merges(actor, b)] == [
        (b, c),
        (a, b),
    ]
    with pytest.raises(Conflict, match=f"undo the merge of #{b} into #{a} first"):
        await merge.unmerge(actor, c)
    await merge.unmerge(actor, b)
    assert await table("SELECT id, merged_into_id FROM contact ORDER BY id") == [
        (a, None),
        (b, None),
        (c, b),
    ]
    assert await state(ws, a) == start[0]
    assert (await contacts.get(actor, c)).id == b
    assert (await contacts.get(actor, b)).tags == ["from-c"]
    await merge.unmerge(actor, c)
    assert [await state(ws, x) for x in (a, b, c)] == start


async def test_several_merges_into_one_contact_are_undone_newest_first(orm: str) -> None:
    actor = await actor_for()
    ws = actor.workspace_id
    p, _ = await contacts.upsert(actor, {"name": "P"})
    s1, _ = await contacts.upsert(actor, {"name": "S1", "city": "Quito"})
    s2, _ = await contacts.upsert(actor, {"name": "S2", "city": "Lima"})
    start = [await state(ws, x.id) for x in (p, s1, s2)]
    await merge.merge(actor, p.id, s1.id)
    await merge.merge(actor, p.id, s2.id)
    infos = await merge.merges(actor, p.id)
    assert [dataclasses.replace(i, merged_at=SENT) for i in infos] == [
        MergeInfo(infos[0].id, p.id, s1.id, "S1", "token:admin", SENT),
        MergeInfo(infos[1].id, p.id, s2.id, "S2", "token:admin", SENT),
    ]
    with pytest.raises(
        Invalid,
        match=f"contacts #{s1.id}, #{s2.id} were merged into #{p.id}: unmerge one of them by"
        f" its id \\(newest first: #{s2.id}\\)",
    ):
        await merge.unmerge(actor, p.id)
    with pytest.raises(Conflict, match=f"undo the merge of #{s2.id} into #{p.id} first"):
        await merge.unmerge(actor, s1.id)
    await merge.unmerge(actor, s2.id)
    await merge.unmerge(actor, p.id)  # now the only merge into p
    assert [await state(ws, x.id) for x in (p, s1, s2)] == start


async def test_messages_received_after_the_merge_stay_on_the_primary(orm: str) -> None:
    actor = await actor_for()
    ws = actor.workspace_id
    wa, p, s = await two_contacts(actor)
    start = await state(ws, p), await state(ws, s)
    await merge.merge(actor, p, s)
    assert await ingest(wa, "200", "late") == p  # on the secondary's (moved) identity
    primary, secondary = await merge.unmerge(actor, s)
    late = await table("SELECT id, identity_id FROM message WHERE provider_message_id = 'late'")
    after_p, after_s = await state(ws, p), await state(ws, s)
    assert after_s == start[1]  # its own identity, tags, note and pre-merge messages
    assert after_p["message"] == [*start[0]["message"], late[0][0]]
    assert late[0][1] == start[1]["identity"][0]  # the message names the secondary's identity
    # The later message is the primary's latest activity: kept; its other fields are restored.
    assert primary == dataclasses.replace(
        start[0]["contact"],
        last_activity_at=primary.last_activity_at,
        last_incoming_at=primary.last_incoming_at,
        last_channel_id=wa.id,
    )
    assert primary.last_activity_at > start[0]["contact"].last_activity_at
    assert secondary == start[1]["contact"]


async def test_unmerge_keeps_changes_made_to_the_primary_since_the_merge(orm: str) -> None:
    actor = await actor_for()
    ws = actor.workspace_id
    _wa, p, s = await two_contacts(actor)
    start = await state(ws, p), await state(ws, s)
    await merge.merge(actor, p, s)
    await contacts.patch(actor, p, {"city": "Cuenca", "custom": {"vip": False, "new": "x"}})
    await tags.add(actor, p, ["later"])
    note = await notes.add(actor, p, "after the merge")
    primary, secondary = await merge.unmerge(actor, s)
    assert primary == dataclasses.replace(
        start[0]["contact"],
        city="Cuenca",
        custom={"plan": "gold", "size": 10, "vip": False, "new": "x"},
        tags=["later", "vip"],
        updated_at=primary.updated_at,
    )
    assert primary.updated_at > start[0]["contact"].updated_at
    assert (await state(ws, p))["note"] == [note.id]
    assert await state(ws, s) == start[1] and secondary == start[1]["contact"]


async def test_unmerge_refuses_to_restore_an_email_another_contact_took(orm: str) -> None:
    actor = await actor_for()
    _wa, p, s = await two_contacts(actor)
    await contacts.patch(actor, s, {"email": "maria@example.com"})
    await merge.merge(actor, p, s, {"email": "secondary"})
    await contacts.patch(actor, p, {"email": "new@example.com"})
    other, _ = await contacts.upsert(actor, {"name": "Otra", "email": "maria@example.com"})
    with pytest.raises(
        Conflict,
        match=f"cannot restore #{s}: its email maria@example.com now belongs to contact"
        f" #{other.id}; change that contact first",
    ):
        await merge.unmerge(actor, s)
    assert (await contacts.get(actor, s)).id == p  # nothing changed
