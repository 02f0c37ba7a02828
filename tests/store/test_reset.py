"""The monthly reset run: preview, tagged/all runs, the export, exactly once, failure, resume."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from store import merge, notes, reset, tags
from store.access import Actor
from store.db import ClientTx, raw_transaction
from store.errors import Conflict, Forbidden, Invalid
from store.inbound import capacity, write_batch
from store.periods import next_period, period_of
from store.reset import lease
from store.reset import run as reset_run
from store.reset.export import CONTACTS, MANIFEST, MESSAGES
from store.setup import get_workspace
from store.types import Inbound, Item
from tests import helpers as h

SENT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def owner(slug: str = "acme") -> Actor:
    await h.workspace(slug, region="EC")
    return Actor((await get_workspace(slug)).id, "token:boss", "api", "owner")


def config(tmp_path: Path, **changes: Any) -> lease.ResetConfig:
    base = lease.ResetConfig(export_dir=tmp_path / "exports", batch=3, pause_seconds=0)
    return replace(base, **changes)


async def person(channel: Any, who: str, messages: int = 2, **extra: Any) -> int:
    """A contact made by `messages` inbound messages through the ingest path."""
    for i in range(messages):
        inbound = Inbound(
            external_id=who,
            provider_message_id=f"{who}-{i}",
            type="text",
            sent_at=SENT,
            text=f"hola {i} from {who}",
            **extra,
        )
        async with raw_transaction() as tx:
            assert await write_batch(tx, [Item(channel, inbound)]) == ["stored"]
    rows = await ClientTx().fetch(
        "SELECT i.contact_id FROM identity i WHERE i.channel_id = ? AND i.external_id = ?",
        [channel.id, who],
    )
    return int(rows[0][0])


async def ids(sql: str, *params: Any) -> list[int]:
    return sorted(int(r[0]) for r in await ClientTx().fetch(sql, list(params)))


async def world(actor: Actor) -> dict[str, Any]:
    """Six people on two channels; three tagged for the reset (in three spellings), one of them
    with a contact merged into it and a note; two untagged, one with a note."""
    tg = await h.channel("telegram")
    wa = await h.channel("whatsapp")
    people = {name: await person(tg, name) for name in ("ana", "beto", "caro", "dani")}
    people["eva"] = await person(wa, "593991110001", 3)
    people["fer"] = await person(wa, "593991110002", 1)
    await tags.add(actor, people["ana"], ["Borrar"])
    await tags.add(actor, people["beto"], ["vip"])
    await tags.add(actor, people["eva"], ["vip"])
    async with (
        raw_transaction() as tx
    ):  # another spelling of the same tag, as support staff type it
        await tx.execute("UPDATE tag SET name = 'BORRAR' WHERE key = 'borrar'")
    await tags.add(actor, people["eva"], ["bórrar"])
    await tags.add(actor, people["caro"], ["borrar", "vip"])
    await notes.add(actor, people["ana"], "pidió baja")
    await notes.add(actor, people["dani"], "cliente fiel")
    await merge.merge(actor, people["ana"], people["fer"])
    return people


@pytest.mark.usefixtures("orm")
async def test_preview_counts_without_deleting(tmp_path: Path) -> None:
    actor = await owner()
    people = await world(actor)
    before = await ids("SELECT id FROM message")
    shown = await reset.preview(actor, "tagged")
    # ana (+ fer merged into her), caro, eva: 4 contacts, 4 identities, 2+1+2+3 messages
    assert (shown.contacts, shown.identities, shown.messages, shown.notes) == (4, 4, 8, 1)
    assert [s["id"] for s in shown.sample] == sorted([people["ana"], people["caro"], people["eva"]])
    everything = await reset.preview(actor, "all")
    assert (everything.contacts, everything.identities, everything.messages) == (6, 6, 12)
    assert await ids("SELECT id FROM message") == before
    assert (await reset.preview(actor)).mode == "off"
    assert (await reset.preview(actor)).contacts == 0
    with pytest.raises(Invalid, match="reset mode must be one of"):
        await reset.preview(actor, "everything")
    with pytest.raises(Forbidden):
        await reset.preview(replace(actor, role="agent"))


def read_export(folder: Path) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    text = (folder / CONTACTS).read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    contacts = list(csv.DictReader(io.StringIO(text[1:])))
    lines = (folder / MESSAGES).read_text().splitlines()
    return contacts, [json.loads(line) for line in lines]


@pytest.mark.usefixtures("orm")
async def test_tagged_run_deletes_exactly_the_tagged_and_exports_them(tmp_path: Path) -> None:
    actor = await owner()
    people = await world(actor)
    doomed = sorted([people["ana"], people["fer"], people["caro"], people["eva"]])
    doomed_messages = await ids(
        f"SELECT id FROM message WHERE contact_id IN ({','.join('?' * 4)})", *doomed
    )
    kept = {
        table: await ids(
            f"SELECT id FROM {table} WHERE contact_id IN (?, ?)", people["beto"], people["dani"]
        )
        for table in ("message", "identity", "note", "contact_tag")
    }
    await reset.set_mode(actor, "tagged", now=datetime(2026, 11, 3, tzinfo=UTC))
    done = await reset.run_now(actor, config(tmp_path))

    assert done.state == "done" and done.mode == "tagged" and done.trigger == "manual"
    assert done.counts == {"contacts": 4, "identities": 4, "messages": 8, "notes": 1}
    assert await ids("SELECT id FROM contact") == sorted([people["beto"], people["dani"]])
    for table, before in kept.items():
        assert await ids(f"SELECT id FROM {table}") == before, table
    assert await ids("SELECT id FROM merge_record") == []
    assert await ids("SELECT id FROM reset_target") == []

    folder = Path(done.export_path or "")
    contacts, messages = read_export(folder)
    assert sorted(int(c["id"]) for c in contacts) == doomed
    assert sorted(m["id"] for m in messages) == doomed_messages
    ana = next(c for c in contacts if int(c["id"]) == people["ana"])
    assert ana["tags"] == "BORRAR"
    assert [n["body"] for n in json.loads(ana["notes"])] == ["pidió baja"]
    assert [i["external_id"] for i in json.loads(ana["identities"])] == ["ana", "593991110002"]
    fer = next(c for c in contacts if int(c["id"]) == people["fer"])
    assert int(fer["merged_into_id"]) == people["ana"]
    assert {m["text"] for m in messages if m["contact_id"] == people["eva"]} == {
        f"hola {i} from 593991110001" for i in range(3)
    }
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["deleted"]["contacts"] == 4
    assert manifest["files"][MESSAGES]["bytes"] == (folder / MESSAGES).stat().st_size

    found = await h.rows("SELECT kind, key, payload FROM event WHERE kind = 'reset_done'")
    assert len(found) == 1 and found[0]["key"] == f"reset_done:{done.period}"
    assert json.loads(found[0]["payload"]) if isinstance(found[0]["payload"], str) else True
    audit = await h.rows("SELECT actor, action FROM audit_log WHERE action LIKE 'reset.%'")
    assert {(a["actor"], a["action"]) for a in audit} >= {
        ("token:boss", "reset.mode"),
        ("token:boss", "reset.done"),
    }


@pytest.mark.usefixtures("orm")
async def test_a_period_runs_once_and_a_live_run_is_not_taken(tmp_path: Path) -> None:
    actor = await owner()
    await world(actor)
    cfg = config(tmp_path)
    claimed = await reset.claim_now(actor, cfg, "all")
    other = replace(cfg, owner="other-process")
    with pytest.raises(lease.RunBusy, match="is running in"):
        await reset.claim_now(actor, other, "all")
    with pytest.raises(lease.RunBusy):  # the same process does not run it twice either
        await reset.claim_now(actor, cfg, "all")
    await reset_run.execute(claimed)
    done = await reset.get_run(actor, claimed.id)
    assert done.counts == {"contacts": 6, "identities": 6, "messages": 12, "notes": 2}
    with pytest.raises(lease.RunDone, match="already ran"):
        await reset.run_now(actor, other, "all")
    assert await ids("SELECT id FROM contact") == []
    assert len(await reset.list_runs(actor)) == 1


@pytest.mark.usefixtures("orm")
async def test_run_needs_owner_and_a_mode(tmp_path: Path) -> None:
    actor = await owner()
    with pytest.raises(Forbidden):
        await reset.run_now(replace(actor, role="admin"), config(tmp_path))
    with pytest.raises(Conflict, match="reset is off"):
        await reset.run_now(actor, config(tmp_path))
    with pytest.raises(Invalid, match="reset mode must be one of"):
        await reset.run_now(actor, config(tmp_path), "some")


@pytest.mark.usefixtures("orm")
async def test_export_failure_deletes_nothing_then_a_retry_finishes(tmp_path: Path) -> None:
    actor = await owner()
    await world(actor)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the export folder should be")
    contacts_before = await ids("SELECT id FROM contact")
    failed = await reset.run_now(actor, config(tmp_path, export_dir=blocked), "all")
    assert await ids("SELECT id FROM contact") == contacts_before
    assert [r.id for r in await reset.list_runs(actor)] == [failed.id]
    assert failed.state == "failed" and failed.error
    assert failed.error.startswith("nothing was deleted; the export could not be written")
    events = await h.rows("SELECT key FROM event WHERE kind = 'reset_failed'")
    assert [e["key"] for e in events] == [f"reset_failed:{failed.period}:1"]

    done = await reset.run_now(actor, config(tmp_path), "all")
    assert done.id == failed.id and done.state == "done" and done.error is None
    assert done.counts["contacts"] == len(contacts_before)
    assert await ids("SELECT id FROM contact") == []


@pytest.mark.usefixtures("orm")
async def test_an_interrupted_run_is_resumed_by_another_process_exactly(tmp_path: Path) -> None:
    actor = await owner()
    tg = await h.channel("telegram")
    people = [await person(tg, f"p{i:02d}", 2) for i in range(20)]
    all_messages = await ids("SELECT id FROM message")
    first = config(tmp_path, batch=2, pause_seconds=0.05, owner="first", lease_seconds=30)
    run = await reset.claim_now(actor, first, "all")
    task = asyncio.create_task(reset_run.execute(run))
    for _ in range(10_000):  # a few batches in, then "die"
        if len(await ids("SELECT id FROM contact")) <= 14:
            break
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    left = await ids("SELECT id FROM contact")
    assert 0 < len(left) < 20
    [stuck] = await reset.list_runs(actor)
    assert stuck.state == "exported"

    second = config(tmp_path, owner="second", lease_seconds=30)
    with pytest.raises(lease.RunBusy):  # the lease of "first" has not lapsed yet
        await reset.run_now(actor, second)
    async with raw_transaction() as tx:  # ...now it has
        old = datetime.now(UTC) - timedelta(minutes=5)
        await tx.execute("UPDATE reset_run SET heartbeat_at = ?", [old])
    done = await reset.run_now(actor, second, "all")
    assert done.state == "done"
    assert done.counts["contacts"] == 20 and done.counts["messages"] == 40
    assert await ids("SELECT id FROM contact") == []
    contacts, messages = read_export(Path(done.export_path or ""))
    assert sorted(int(c["id"]) for c in contacts) == sorted(people)  # each once
    assert sorted(m["id"] for m in messages) == all_messages


@pytest.mark.usefixtures("orm")
async def test_a_stalled_owner_cannot_write_after_losing_its_lease(tmp_path: Path) -> None:
    actor = await owner()
    await world(actor)
    run = await reset.claim_now(actor, config(tmp_path, owner="slow"), "all")
    async with raw_transaction() as tx:
        await tx.execute("UPDATE reset_run SET owner = 'someone-else'")
    with pytest.raises(lease.LostLease):
        await reset_run.execute(run)
    assert len(await ids("SELECT id FROM contact")) == 6  # nothing deleted by the stalled one


@pytest.mark.usefixtures("orm")
async def test_messages_arriving_during_the_run_are_exported_before_deleting(
    tmp_path: Path,
) -> None:
    actor = await owner()
    tg = await h.channel("telegram")
    for i in range(6):
        await person(tg, f"q{i}", 1)
    run = await reset.claim_now(actor, config(tmp_path), "all")
    original = reset_run._export

    async def export_then_a_message_arrives(r: lease.Run) -> None:
        await original(r)
        inbound = Inbound(
            external_id="q5", provider_message_id="late-1", type="text", sent_at=SENT, text="¿y?"
        )
        async with raw_transaction() as tx:
            await write_batch(tx, [Item(tg, inbound)])
        target = await ids("SELECT contact_id FROM identity WHERE external_id = 'q5'")
        await notes.add(actor, target[0], "nota tardía")

    reset_run._export = export_then_a_message_arrives  # type: ignore[assignment]
    try:
        await reset_run.execute(run)
    finally:
        reset_run._export = original  # type: ignore[assignment]
    assert await ids("SELECT id FROM message") == []
    done = await reset.get_run(actor, run.id)
    contacts, messages = read_export(Path(done.export_path or ""))
    assert "¿y?" in [m["text"] for m in messages]
    assert len(messages) == 7 == done.counts["messages"]
    rows = [c for c in contacts if json.loads(c["notes"])]
    assert [json.loads(r["notes"])[0]["body"] for r in rows] == ["nota tardía"]
    assert len(contacts) == 7  # six, and q5 again with its final state


async def next_period_usage(actor: Actor) -> tuple[int, int, dict[str, int]]:
    """(carried_over, used, carried per channel kind) of next month, making its row now."""
    nxt = next_period(period_of(datetime.now(UTC), h.TEST_ZONE))
    async with raw_transaction() as tx:
        pid = await capacity.ensure_period(tx, actor.workspace_id, nxt, datetime.now(UTC))
    row = (
        await ClientTx().fetch("SELECT carried_over, used FROM plan_period WHERE id = ?", [pid])
    )[0]
    split = await ClientTx().fetch(
        "SELECT c.kind, u.carried_over FROM period_channel_usage u JOIN channel c"
        " ON c.id = u.channel_id WHERE u.plan_period_id = ?",
        [pid],
    )
    return int(row[0]), int(row[1]), {str(k): int(n) for k, n in split}


@pytest.mark.usefixtures("orm")
async def test_next_period_carries_over_what_remains(tmp_path: Path) -> None:
    actor = await owner()
    await world(actor)
    await reset.run_now(actor, config(tmp_path), "tagged")
    assert await next_period_usage(actor) == (2, 2, {"telegram": 2})  # beto and dani


@pytest.mark.usefixtures("orm")
async def test_a_late_run_takes_back_the_next_periods_carry_over(tmp_path: Path) -> None:
    actor = await owner()
    await world(actor)
    assert await next_period_usage(actor) == (6, 6, {"telegram": 4, "whatsapp": 2})
    await reset.run_now(actor, config(tmp_path), "all")
    assert await next_period_usage(actor) == (0, 0, {"telegram": 0, "whatsapp": 0})


async def test_conflict_errors_are_conflicts() -> None:
    assert issubclass(lease.RunBusy, Conflict) and issubclass(lease.RunDone, Conflict)


@pytest.mark.usefixtures("orm")
async def test_a_message_stored_while_its_contact_is_deleted_goes_with_it(
    orm: str, tmp_path: Path
) -> None:
    """PostgreSQL: the webhook writer read the sender's identity (FOR SHARE) and is about to
    store a message when a reset batch deletes the contact; the batch waits, then deletes the
    message too, and exports it (no foreign-key failure on either side)."""
    if not orm.startswith("postgres"):
        pytest.skip("row locks: SQLite has one writer at a time")
    import asyncpg

    actor = await owner()
    tg = await h.channel("telegram")
    contact = await person(tg, "ana", 1)
    writer = await asyncpg.connect(orm)
    try:
        tx = writer.transaction()
        await tx.start()
        ident = await writer.fetchrow(
            "SELECT id, contact_id FROM identity WHERE external_id = 'ana' ORDER BY id FOR SHARE"
        )
        run = asyncio.create_task(reset.run_now(actor, config(tmp_path), "all"))
        await asyncio.sleep(0.5)  # the run reached the batch and waits for the identity
        assert not run.done()
        await writer.execute(
            "INSERT INTO message (workspace_id, channel_id, identity_id, contact_id, direction,"
            " provider_message_id, type, text, sent_at, received_at)"
            " VALUES ($1, $2, $3, $4, 'in', 'late', 'text', 'justo a tiempo', now(), now())",
            actor.workspace_id,
            tg.id,
            ident["id"],
            ident["contact_id"],
        )
        await tx.commit()
        done = await run
    finally:
        await writer.close()
    assert done.state == "done", done.error
    assert done.counts["messages"] == 2 and done.counts["contacts"] == 1
    assert await ids("SELECT id FROM contact WHERE id = ?", contact) == []
    _contacts, messages = read_export(Path(done.export_path or ""))
    assert [m["text"] for m in messages] == ["hola 0 from ana", "justo a tiempo"]


@pytest.mark.usefixtures("orm")
async def test_a_long_delete_keeps_the_sqlite_wal_small(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between batches the run checkpoints and restarts the WAL once it passed WAL_FRAMES."""
    if not orm.startswith("sqlite"):
        pytest.skip("SQLite's write-ahead log")
    from store import db as store_db
    from store.reset import delete as reset_delete

    actor = await owner()
    tg = await h.channel("telegram")
    for i in range(8):
        await person(tg, f"w{i}", 1)
    seen: list[str] = []
    fetch = store_db.ClientTx.fetch

    async def spy(self: store_db.ClientTx, sql: str, params: Any = ()) -> Any:
        seen.append(sql)
        return await fetch(self, sql, params)

    monkeypatch.setattr(store_db.ClientTx, "fetch", spy)
    monkeypatch.setattr(reset_delete, "WAL_FRAMES", 0)
    done = await reset.run_now(actor, config(tmp_path, batch=2, batch_seconds=1e-6), "all")
    assert done.state == "done"
    assert seen.count("PRAGMA wal_checkpoint(RESTART)") >= 3  # one after each batch but the last


@pytest.mark.usefixtures("orm")
async def test_the_export_keeps_an_edited_messages_history(tmp_path: Path) -> None:
    actor = await owner()
    wa = await h.channel("whatsapp")
    await person(wa, "593991110003", messages=1)
    edit = Inbound(
        external_id="593991110003", provider_message_id="e1", type="text", sent_at=SENT,
        text="hola, corregido",
        meta={"edit_of": "593991110003-0", "edited_at": "2026-11-02T12:05:00+00:00"},
    )  # fmt: skip
    async with raw_transaction() as tx:
        assert await write_batch(tx, [Item(wa, edit)]) == ["stored"]
    done = await reset.run_now(actor, config(tmp_path), "all")
    _contacts, [message] = read_export(Path(done.export_path or ""))
    assert (message["text"], message["edited_at"][:19]) == (
        "hola, corregido",
        "2026-11-02T12:05:00",
    )
    assert [(v["text"], v["id"]) for v in message["history"]] == [
        ("hola 0 from 593991110003", "593991110003-0"),
        ("hola, corregido", "e1"),
    ]
