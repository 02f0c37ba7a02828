"""Property: merging two random contacts and unmerging leaves both exactly as they were, whether
or not the reset tag was picked to move; a pick that would blank a value changes nothing."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from store import contacts, db, merge, notes, tags
from store.access import Actor
from store.contacts import Contact
from store.db import raw_transaction
from store.errors import Invalid
from store.inbound import write_batch
from store.merge.operations import SIDES
from store.setup import get_workspace
from store.types import ChannelInfo, Inbound, Item
from tests import helpers as h
from tests.store.test_merge import state

TIMES = [None, datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 11, 5, 18, tzinfo=UTC)]
PHONES = {"p": "+593991111111", "s": "+593992222222"}
WORDS = st.sampled_from([None, "Ana", "José", "Quito", "x"])
CUSTOM_KEYS = ("plan", "size", "vip")
CUSTOM_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2), st.text(alphabet="aé ", max_size=3)
)
_workspaces = itertools.count()


@dataclass(frozen=True)
class Side:
    """One contact of the scenario: fields, custom, tags, notes, identities (message counts)."""

    fields: dict[str, Any]
    custom: dict[str, Any]
    tags: list[str]
    notes: int
    identities: list[int]
    activity: datetime | None


@st.composite
def sides(draw: st.DrawFn, who: str) -> Side:
    fields = {f: draw(WORDS) for f in ("name", "company", "city", "assignee")}
    fields |= {
        "email": draw(st.sampled_from([None, f"{who}@example.com"])),
        "phone": draw(st.sampled_from([None, PHONES[who]])),
        "identifier": draw(st.sampled_from([None, "crm-1", "crm-2"])),
        "country": draw(st.sampled_from([None, "EC", "PE"])),
        "language": draw(st.sampled_from([None, "es"])),
        "avatar_url": draw(st.sampled_from([None, f"https://a.example/{who}.png"])),
    }
    return Side(
        fields={k: v for k, v in fields.items() if v is not None},
        custom=draw(st.dictionaries(st.sampled_from(CUSTOM_KEYS), CUSTOM_VALUES, max_size=3)),
        tags=[
            *draw(st.lists(st.sampled_from(["vip", "lead"]), unique=True, max_size=2)),
            *draw(st.sampled_from([[], ["Borrar"], ["bórrar"]])),  # the reset tag, two spellings
        ],
        notes=draw(st.integers(0, 2)),
        identities=draw(st.lists(st.integers(0, 2), max_size=2)),
        activity=draw(st.sampled_from(TIMES)),
    )


# The case, always run: a kept VIP and a duplicate of it tagged for the reset.
KEY_CASE: dict[str, Any] = {
    "p": Side({"name": "Vera"}, {}, ["vip"], 1, [1], TIMES[1]),
    "s": Side({"name": "Vera D.", "city": "Quito"}, {}, ["bórrar", "lead"], 0, [2], TIMES[2]),
    "picks": {"name": "secondary", "city": "primary"},  # the city pick would blank: refused
    "chain": False,
    "cycle": False,
}
PICKS = st.dictionaries(
    st.sampled_from([*merge.FIELDS, *(f"custom.{k}" for k in CUSTOM_KEYS)]),
    st.sampled_from(SIDES),
    max_size=5,
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(**KEY_CASE, move_reset=False)
@example(**KEY_CASE, move_reset=True)
@given(
    p=sides("p"),
    s=sides("s"),
    picks=PICKS,
    chain=st.booleans(),
    cycle=st.booleans(),
    move_reset=st.booleans(),
)
def test_merge_then_unmerge_restores_both_contacts(
    db_url: str,
    p: Side,
    s: Side,
    picks: dict[str, str],
    chain: bool,
    cycle: bool,
    move_reset: bool,
) -> None:
    asyncio.run(_scenario(db_url, p, s, picks, (chain, cycle, move_reset)))


async def _scenario(
    url: str, p: Side, s: Side, picks: dict[str, str], flags: tuple[bool, bool, bool]
) -> None:
    chain, cycle, move_reset = flags
    await db.init(url)
    try:
        slug = f"prop{next(_workspaces)}"
        await h.workspace(slug, region="EC")
        actor = Actor((await get_workspace(slug)).id, "prop", "api", "admin")
        channel = await h.channel("telegram", slug)
        p_id = await _build(actor, channel, p, "p")
        s_id = await _build(actor, channel, s, "s")
        if chain:  # a contact merged into the secondary earlier: it must follow it back
            c_id = await _build(actor, channel, Side({"name": "C"}, {}, ["c"], 1, [1], None), "c")
            await merge.merge(actor, s_id, c_id)
        if cycle:  # an earlier merge and unmerge leave a later message on the primary
            await _merge_receive_unmerge(actor, channel, p_id, s_id)
        known = {*p.custom, *s.custom}
        chosen = {k: v for k, v in picks.items() if not k.startswith("custom.") or k[7:] in known}
        before = [await state(actor.workspace_id, i) for i in (p_id, s_id)]
        first, second = (b["contact"] for b in before)
        blanking = {k: v for k, v in chosen.items() if _blanks(k, v, first, second)}
        if blanking:  # refused, and nothing changes
            with pytest.raises(Invalid, match="a pick never blanks a value"):
                await merge.merge(actor, p_id, s_id, chosen, move_reset_tag=move_reset)
            assert [await state(actor.workspace_id, i) for i in (p_id, s_id)] == before
        chosen = {k: v for k, v in chosen.items() if k not in blanking}
        done = await merge.merge(actor, p_id, s_id, chosen, move_reset_tag=move_reset)
        had = [RESET in {tags.key(t) for t in c.tags} for c in (first, second)]
        has = RESET in {tags.key(t) for t in done.contact.tags}
        assert has == (had[0] or (had[1] and move_reset))
        assert (done.reset_tag_stayed is not None) == (had[1] and not had[0] and not move_reset)
        assert sorted(done.moved_tags) == sorted(set(done.contact.tags) - set(first.tags))
        primary, secondary = await merge.unmerge(actor, s_id)
        after = [await state(actor.workspace_id, i) for i in (p_id, s_id)]
        assert after == before
        assert [primary, secondary] == [b["contact"] for b in before]
        if chain:
            assert (await contacts.get(actor, c_id)).id == s_id
    finally:
        await db.close()


RESET = "borrar"  # the folded key of the workspace's reset tag (default `Borrar`)


def _blanks(field: str, side: str, primary: Contact, secondary: Contact) -> bool:
    """Whether picking `side` for `field` would put an empty value over a present one."""
    values = [
        c.custom.get(field[7:]) if field.startswith("custom.") else getattr(c, field)
        for c in (primary, secondary)
    ]
    mine, theirs = values if side == "primary" else values[::-1]
    return mine in (None, "") and theirs not in (None, "")


async def _build(actor: Actor, channel: ChannelInfo, side: Side, who: str) -> int:
    """Insert a contact with its identities and messages, then tag it and add its notes."""
    async with raw_transaction() as tx:
        fields = contacts.clean_fields({**side.fields, "custom": side.custom}, "EC")
        cid = await contacts.insert(tx, actor.workspace_id, fields, "manual")
        await tx.execute(
            "UPDATE contact SET last_activity_at = ?, last_incoming_at = ?, last_channel_id = ?"
            " WHERE id = ?",
            [side.activity, side.activity, channel.id if side.activity else None, cid],
        )
        for n, messages in enumerate(side.identities):
            await _identity(tx, actor.workspace_id, channel.id, cid, f"{who}{cid}-{n}", messages)
    if side.tags:
        await tags.add(actor, cid, side.tags)
    for n in range(side.notes):
        await notes.add(actor, cid, f"note {n} of {who}")
    return cid


async def _identity(tx: Any, ws: int, channel_id: int, cid: int, ext: str, messages: int) -> None:
    rows = await tx.fetch(
        "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, period,"
        " created_at) VALUES (?,?,?,?,?,?) RETURNING id",
        [ws, channel_id, cid, ext, "2026-11", TIMES[1]],
    )
    for n in range(messages):
        await tx.execute(
            "INSERT INTO message (workspace_id, channel_id, identity_id, contact_id, direction,"
            " provider_message_id, type, text, sent_at, received_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            [ws, channel_id, rows[0][0], cid, "in", f"{ext}-m{n}", "text", "hola", *TIMES[1:2] * 2],
        )


async def _merge_receive_unmerge(actor: Actor, channel: ChannelInfo, p_id: int, s_id: int) -> None:
    await merge.merge(actor, p_id, s_id)
    idents = await h.rows("SELECT external_id FROM identity WHERE contact_id = ? ORDER BY id", p_id)
    if idents:
        inbound = Inbound(
            external_id=idents[-1]["external_id"],
            provider_message_id=f"late-{p_id}",
            type="text",
            sent_at=TIMES[2] or datetime.now(UTC),
        )
        async with raw_transaction() as tx:
            await write_batch(tx, [Item(channel, inbound)])
    await merge.unmerge(actor, s_id)
