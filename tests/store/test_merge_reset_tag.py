"""Merge and the reset tag: it moves onto the primary only when picked; unmerge restores both."""

from __future__ import annotations

import dataclasses

from store import contacts, merge, reset, tags
from store.access import Actor
from store.db import raw_transaction
from store.merge import MergeResult
from store.serial import dump_json, load_json
from tests import helpers as h
from tests.store.test_merge import actor_for, state, table


async def vip_and_doomed(actor: Actor) -> tuple[int, int]:
    """Vera (kept, tagged vip) and a duplicate of her tagged `bórrar` (the reset tag, another
    spelling) and `lead`."""
    p, _ = await contacts.upsert(actor, {"name": "Vera", "email": "vera@example.com"})
    s, _ = await contacts.upsert(actor, {"name": "Vera D.", "city": "Quito"})
    await tags.add(actor, p.id, ["vip"])
    await tags.add(actor, s.id, ["Borrar", "lead"])
    async with raw_transaction() as tx:  # as support staff type it
        await tx.execute("UPDATE tag SET name = 'bórrar' WHERE key = 'borrar'")
    return p.id, s.id


async def doomed(actor: Actor) -> list[int]:
    """The contacts a tagged reset would delete now."""
    shown = await reset.preview(dataclasses.replace(actor, role="owner"), "tagged")
    return [int(s["id"]) for s in shown.sample]


async def test_the_preview_names_the_moving_tags_and_the_reset_tag_apart(orm: str) -> None:
    actor = await actor_for()
    p, s = await vip_and_doomed(actor)
    got = await merge.preview(actor, p, s)
    assert (got.tags, got.reset_tag) == (["lead"], "bórrar")
    await tags.add(actor, p, ["BORRAR"])  # the primary has it already: nothing to decide
    got = await merge.preview(actor, p, s)
    assert (got.tags, got.reset_tag) == (["lead"], None)


async def test_without_a_pick_the_reset_tag_stays_behind_and_unmerge_restores(orm: str) -> None:
    actor = await actor_for()
    p, s = await vip_and_doomed(actor)
    before = [await state(actor.workspace_id, i) for i in (p, s)]
    assert await doomed(actor) == [s]
    done = await merge.merge(actor, p, s)
    assert done == MergeResult(await contacts.get(actor, p), ["lead"], "bórrar")
    assert done.contact.tags == ["lead", "vip"]
    assert await doomed(actor) == []
    [(detail,)] = await table("SELECT detail FROM audit_log WHERE action = 'contact.merge'")
    assert load_json(detail) == {
        "secondary": s,
        "picks": {},
        "moved_tags": ["lead"],
        "reset_tag_stayed": "bórrar",
    }
    await merge.unmerge(actor, s)
    assert [await state(actor.workspace_id, i) for i in (p, s)] == before
    assert await doomed(actor) == [s]


async def test_a_pick_moves_the_reset_tag_and_unmerge_takes_it_off_again(orm: str) -> None:
    actor = await actor_for()
    p, s = await vip_and_doomed(actor)
    before = [await state(actor.workspace_id, i) for i in (p, s)]
    done = await merge.merge(actor, p, s, move_reset_tag=True)
    assert (done.moved_tags, done.reset_tag_stayed) == (["bórrar", "lead"], None)
    assert done.contact.tags == ["bórrar", "lead", "vip"]
    assert await doomed(actor) == [p]
    await merge.unmerge(actor, s)
    assert [await state(actor.workspace_id, i) for i in (p, s)] == before


async def test_the_primary_keeps_its_own_reset_tag_state(orm: str) -> None:
    actor = await actor_for()
    p, s = await vip_and_doomed(actor)
    await tags.add(actor, p, ["Borrar"])
    before = [await state(actor.workspace_id, i) for i in (p, s)]
    done = await merge.merge(actor, p, s)
    assert (done.moved_tags, done.reset_tag_stayed, done.contact.tags) == (
        ["lead"],
        None,
        ["bórrar", "lead", "vip"],
    )
    await merge.unmerge(actor, s)
    assert [await state(actor.workspace_id, i) for i in (p, s)] == before


async def test_a_reset_tag_put_on_the_primary_after_the_merge_stays_after_unmerge(
    orm: str,
) -> None:
    actor = await actor_for()
    p, s = await vip_and_doomed(actor)
    await merge.merge(actor, p, s)
    await tags.add(actor, p, ["Borrar"])  # decided later, on purpose
    primary, secondary = await merge.unmerge(actor, s)
    assert (primary.tags, secondary.tags) == (["bórrar", "vip"], ["bórrar", "lead"])


async def test_the_workspace_reset_tag_is_the_one_held_back(orm: str) -> None:
    actor = await actor_for()
    p, s = await vip_and_doomed(actor)
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE workspace SET reset_tag = 'Éliminar' WHERE id = ?", [actor.workspace_id]
        )
    await tags.add(actor, s, ["eliminar"])
    done = await merge.merge(actor, p, s)
    assert (done.moved_tags, done.reset_tag_stayed) == (["bórrar", "lead"], "eliminar")


async def test_merges_recorded_before_the_pick_existed_still_unmerge_exactly(orm: str) -> None:
    actor = await actor_for()
    p, s = await vip_and_doomed(actor)
    before = [await state(actor.workspace_id, i) for i in (p, s)]
    await merge.merge(actor, p, s, move_reset_tag=True)  # what every merge did before
    [(record_id, snapshot)] = await table("SELECT id, snapshot FROM merge_record")
    old = {k: v for k, v in load_json(snapshot).items() if k != "moved_tag_ids"}
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE merge_record SET snapshot = ? WHERE id = ?", [dump_json(old), record_id]
        )
    await merge.unmerge(actor, s)
    assert [await state(actor.workspace_id, i) for i in (p, s)] == before
    assert await h.scalar("SELECT COUNT(*) FROM merge_record WHERE unmerged_at IS NULL") == 0
