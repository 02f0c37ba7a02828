"""Retention rules on the reset's engine: rules, preview, a run exporting then deleting exactly
the inactive contacts and old messages, once a day, the schedule, resuming an interrupted run."""

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

from store import merge, notes, reset
from store.access import Actor
from store.db import ClientTx, raw_transaction
from store.errors import Conflict, Forbidden, Invalid
from store.inbound import write_batch
from store.reset import lease, retention, rules
from store.reset import run as reset_run
from store.reset.export import CONTACTS, MANIFEST, MESSAGES
from store.setup import get_workspace
from store.types import Inbound, Item
from tests import helpers as h

ZONE = "America/Guayaquil"  # UTC-5, no DST
NOW = datetime(2026, 12, 8, 20, 0, tzinfo=UTC)  # 15:00 on 8 December there
DAY = "2026-12-08"
CONTACTS_CUT = datetime(2026, 11, 8, 5, 0, tzinfo=UTC)  # 30 days before the day's start
MESSAGES_CUT = datetime(2026, 9, 9, 5, 0, tzinfo=UTC)  # 90 days before
RECENT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(minutes=1)


async def owner() -> Actor:
    await h.workspace("acme", tz=ZONE)
    return Actor((await get_workspace("acme")).id, "token:boss", "api", "owner")


def config(tmp_path: Path, **changes: Any) -> lease.ResetConfig:
    base = lease.ResetConfig(export_dir=tmp_path / "exports", batch=3, pause_seconds=0)
    return replace(base, **changes)


async def person(channel: Any, who: str, messages: int) -> int:
    """A contact made by `messages` inbound messages through the ingest path."""
    for i in range(messages):
        inbound = Inbound(
            external_id=who, provider_message_id=f"{who}-{i}", type="text", sent_at=RECENT,
            text=f"hola {i} from {who}",
        )  # fmt: skip
        async with raw_transaction() as tx:
            assert await write_batch(tx, [Item(channel, inbound)]) == ["stored"]
    rows = await ClientTx().fetch(
        "SELECT contact_id FROM identity WHERE channel_id = ? AND external_id = ?",
        [channel.id, who],
    )
    return int(rows[0][0])


async def ids(sql: str, *params: Any) -> list[int]:
    return sorted(int(r[0]) for r in await ClientTx().fetch(sql, list(params)))


async def message_ids(contact: int) -> list[int]:
    return await ids("SELECT id FROM message WHERE contact_id = ? ORDER BY id", contact)


async def set_times(table: str, column: str, moments: dict[int, datetime | None]) -> None:
    async with raw_transaction() as tx:
        for row_id, moment in moments.items():
            await tx.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", [moment, row_id])


async def world(actor: Actor) -> dict[str, int]:
    """ana (inactive, fer merged into her, a note), caro (never active, made long ago) and eva
    (last active a minute before the cutoff) go; beto and dani (active at the cutoff) stay,
    with old messages that go: beto's first, dani's second (a minute before its cutoff)."""
    tg = await h.channel("telegram")
    p = {
        name: await person(tg, name, n)
        for name, n in (("ana", 2), ("fer", 1), ("caro", 2), ("eva", 3), ("beto", 2), ("dani", 3))
    }
    await merge.merge(actor, p["ana"], p["fer"])
    await notes.add(actor, p["ana"], "pidió baja")
    await set_times("contact", "last_activity_at", {
        p["ana"]: OLD, p["fer"]: RECENT, p["caro"]: None, p["eva"]: CONTACTS_CUT - TICK,
        p["beto"]: RECENT, p["dani"]: CONTACTS_CUT,
    })  # fmt: skip
    await set_times("contact", "created_at", {p["caro"]: OLD})
    beto, dani, caro = [await message_ids(p[n]) for n in ("beto", "dani", "caro")]
    await set_times("message", "received_at", {
        beto[0]: OLD, dani[0]: MESSAGES_CUT, dani[1]: MESSAGES_CUT - TICK, caro[0]: OLD,
    })  # fmt: skip
    p["old_beto"], p["old_dani"] = beto[0], dani[1]
    return p


def test_rules_read_back_and_cut_at_the_local_day() -> None:
    both = rules.Rules(30, 90)
    assert both.mode == "contacts:30 messages:90"
    assert rules.Rules.of_mode(both.mode) == both
    assert rules.Rules.of_mode("messages:8") == rules.Rules(None, 8)
    assert rules.cutoff(DAY, ZONE, 30) == CONTACTS_CUT
    assert rules.cutoff(DAY, ZONE, 90) == MESSAGES_CUT
    assert rules.day_of(NOW, ZONE) == DAY
    assert rules.day_of(datetime(2026, 12, 9, 4, 59, tzinfo=UTC), ZONE) == DAY
    assert rules.run_at(DAY, ZONE, "23:00") == datetime(2026, 12, 9, 4, 0, tzinfo=UTC)
    assert rules.check(None, None) == rules.Rules()
    for bad in ((0, None), (None, 7), ("30", None), (True, None), (None, 36501)):
        with pytest.raises(ValueError, match="days"):
            rules.check(*bad)


@pytest.mark.usefixtures("orm")
async def test_set_show_and_preview_count_without_deleting() -> None:
    actor = await owner()
    p = await world(actor)
    assert (await retention.show(actor, now=NOW)).next_run_at is None
    with pytest.raises(Forbidden):
        await retention.set_rules(replace(actor, role="admin"), {"contacts_inactive_days": 30})
    with pytest.raises(Invalid, match="messages_older_than_days must be null"):
        await retention.set_rules(actor, {"messages_older_than_days": 3})
    with pytest.raises(Invalid, match="send contacts_inactive_days"):
        await retention.set_rules(actor, {"contact_days": 3})
    keys = {"contacts_inactive_days": 30, "messages_older_than_days": 90}
    shown = await retention.set_rules(actor, keys, now=NOW)
    assert (shown.contacts_inactive_days, shown.messages_older_than_days) == (30, 90)
    assert shown.next_run_at == datetime(2026, 12, 9, 4, 0, tzinfo=UTC)
    assert shown.next_run_local == "2026-12-08 23:00 -05"
    assert shown.set_by == "token:boss"
    assert shown.message == (
        "Every day the retention run deletes contacts with no activity for 30 days and"
        " messages older than 90 days, export first."
    )
    before = await ids("SELECT id FROM message")
    seen = await retention.preview(replace(actor, role="admin"), now=NOW)
    assert (seen.day, seen.contacts_cutoff, seen.messages_cutoff) == (
        DAY, CONTACTS_CUT, MESSAGES_CUT,
    )  # fmt: skip
    # ana + fer, caro, eva: 4 contacts with 8 messages; beto's and dani's old one: 2 more
    assert (seen.contacts, seen.identities, seen.messages, seen.notes) == (4, 4, 10, 1)
    assert seen.old_messages == 2
    assert [s["id"] for s in seen.sample] == sorted([p["ana"], p["caro"], p["eva"]])
    only_messages = await retention.preview(actor, {"contacts_inactive_days": None}, now=NOW)
    assert (only_messages.contacts, only_messages.messages) == (0, 3)  # caro's old one too
    assert await ids("SELECT id FROM message") == before
    audit = await h.rows(
        "SELECT actor, action, detail FROM audit_log WHERE action = 'retention.set'"
    )
    assert [(a["actor"], a["action"]) for a in audit] == [("token:boss", "retention.set")]


def read_export(folder: Path) -> tuple[list[int], list[int]]:
    text = (folder / CONTACTS).read_bytes().decode("utf-8")
    contacts = [int(c["id"]) for c in csv.DictReader(io.StringIO(text[1:]))]
    lines = (folder / MESSAGES).read_text().splitlines()
    return sorted(contacts), sorted(json.loads(line)["id"] for line in lines)


@pytest.mark.usefixtures("orm")
async def test_a_run_exports_then_deletes_exactly_what_the_rules_select_once_a_day(
    tmp_path: Path,
) -> None:
    actor = await owner()
    p = await world(actor)
    going = sorted(p[n] for n in ("ana", "fer", "caro", "eva"))
    marks = ",".join("?" * len(going))
    doomed = await ids(f"SELECT id FROM message WHERE contact_id IN ({marks})", *going)
    doomed = sorted([*doomed, p["old_beto"], p["old_dani"]])
    kept = sorted(set(await ids("SELECT id FROM message")) - set(doomed))
    with pytest.raises(Conflict, match="no retention rule is set"):
        await retention.run_now(actor, config(tmp_path), now=NOW)
    keys = {"contacts_inactive_days": 30, "messages_older_than_days": 90}
    await retention.set_rules(actor, keys, now=NOW)

    done = await retention.run_now(actor, config(tmp_path, message_batch=1), now=NOW)
    assert (done.period, done.mode, done.state, done.trigger) == (
        DAY, "contacts:30 messages:90", "done", "manual",
    )  # fmt: skip
    assert done.counts == {"contacts": 4, "identities": 4, "messages": 10, "notes": 1}
    assert await ids("SELECT id FROM contact") == sorted([p["beto"], p["dani"]])
    assert await ids("SELECT id FROM message") == kept
    assert await ids("SELECT id FROM reset_target") == []
    folder = Path(done.export_path or "")
    assert folder == tmp_path / "exports" / "acme" / f"{DAY}-run{done.id}"
    assert read_export(folder) == (going, doomed)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["deleted"] == done.counts and manifest["exported"]["messages"] == 10

    events = await h.rows("SELECT kind, key FROM event WHERE kind LIKE 'retention%'")
    assert [(e["kind"], e["key"]) for e in events] == [("retention_done", f"retention_done:{DAY}")]
    audit = await h.rows("SELECT actor FROM audit_log WHERE action = 'retention.done'")
    assert [a["actor"] for a in audit] == ["token:boss"]
    with pytest.raises(lease.RunDone, match=f"the retention run of {DAY} already ran"):
        await retention.run_now(actor, config(tmp_path, owner="other"), now=NOW)
    assert [r.id for r in await reset.list_runs(actor, kind="retention")] == [done.id]
    assert await reset.list_runs(actor) == []  # the reset's history is its own
    tomorrow = await retention.show(actor, now=NOW)
    assert tomorrow.next_run_at == datetime(2026, 12, 10, 4, 0, tzinfo=UTC)


@pytest.mark.usefixtures("orm")
async def test_the_schedule_claims_the_day_once_due(tmp_path: Path) -> None:
    actor = await owner()
    await world(actor)
    due_at = datetime(2026, 12, 9, 4, 0, tzinfo=UTC)  # 23:00 on the 8th in Guayaquil
    assert await reset.due_retention(due_at) == []  # no rule set
    await retention.set_rules(actor, {"messages_older_than_days": 90}, now=NOW)
    assert await reset.due_retention(due_at - TICK) == []
    [due] = await reset.due_retention(due_at)
    assert (due.slug, due.period, due.mode, due.kind) == ("acme", DAY, "messages:90", "retention")
    run = await reset.claim(
        due.workspace_id, due.period, due.mode, config(tmp_path), trigger="schedule",
        requested_by=None, enabled_by=due.enabled_by, kind=due.kind,
    )  # fmt: skip
    assert [d.period for d in await reset.due_retention(due_at)] == [DAY]  # unfinished: resumed
    await reset_run.execute(run)
    assert await reset.due_retention(due_at + TICK) == []  # done today
    next_day = await reset.due_retention(due_at + timedelta(days=1))
    assert [d.period for d in next_day] == ["2026-12-09"]
    assert await ids("SELECT id FROM message WHERE received_at < ?", MESSAGES_CUT) == []
    assert [e["key"] for e in await h.rows("SELECT key FROM event")] == [f"retention_done:{DAY}"]


@pytest.mark.usefixtures("orm")
async def test_an_interrupted_run_is_resumed_exactly(tmp_path: Path) -> None:
    actor = await owner()
    tg = await h.channel("telegram")
    idle = [await person(tg, f"idle{i:02d}", 2) for i in range(12)]
    busy = [await person(tg, f"busy{i:02d}", 3) for i in range(4)]
    await set_times("contact", "last_activity_at", {c: OLD for c in idle})
    await set_times("contact", "last_activity_at", {c: RECENT for c in busy})
    old = [(await message_ids(c))[0] for c in busy]
    await set_times("message", "received_at", dict.fromkeys(old, OLD))
    doomed = sorted(set(await ids("SELECT id FROM message")) - set(await ids(
        "SELECT id FROM message WHERE contact_id IN (?,?,?,?)", *busy
    )) | set(old))  # fmt: skip
    keys = {"contacts_inactive_days": 30, "messages_older_than_days": 90}
    await retention.set_rules(actor, keys, now=NOW)
    first = config(tmp_path, batch=2, pause_seconds=0.05, owner="first", lease_seconds=30)
    run = await retention.claim_now(actor, first, now=NOW)
    task = asyncio.create_task(reset_run.execute(run))
    for _ in range(10_000):  # a few batches in, then "die"
        if len(await ids("SELECT id FROM contact")) <= 12:
            break
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 4 < len(await ids("SELECT id FROM contact")) < 16
    second = config(tmp_path, owner="second", lease_seconds=30)
    with pytest.raises(lease.RunBusy, match="is running in first"):
        await retention.run_now(actor, second, now=NOW)
    async with raw_transaction() as tx:  # the lease of "first" lapses
        old_beat = datetime.now(UTC) - timedelta(minutes=5)  # leases are real time
        await tx.execute("UPDATE reset_run SET heartbeat_at = ?", [old_beat])
    done = await retention.run_now(actor, second, now=NOW)
    assert done.state == "done"
    assert done.counts == {"contacts": 12, "identities": 12, "messages": 28, "notes": 0}
    assert await ids("SELECT id FROM contact") == sorted(busy)
    assert read_export(Path(done.export_path or "")) == (sorted(idle), doomed)
