"""POST /contacts/{ref}/erase: a person and everything of theirs, confirmed by count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from store.access import Actor, audit
from store.db import raw_transaction
from tests import helpers as h
from tests.gateway.api.support import Api, workspace_id
from tests.gateway.api.test_person_data import _world

ANA_VALUES = ("Ana Díaz", "Ana WhatsApp", "593991234567", "4242")


async def _counts(ids: tuple[int, ...]) -> dict[str, int]:
    marks = ",".join("?" * len(ids))
    out = {}
    for table in ("contact", "identity", "message", "note", "contact_tag"):
        column = "id" if table == "contact" else "contact_id"
        out[table] = await h.scalar(
            f"SELECT count(*) FROM {table} WHERE {column} IN ({marks})", *ids
        )
    return out


async def test_the_confirmation_names_everyone_it_takes(api: Api) -> None:
    ana, wa, _ = await _world(api)
    for body in ({"confirm": 1}, {"confirm": 3}):
        refused = await api("POST", f"/contacts/{ana}/erase", json=body)
        assert (refused.status, refused.body["error"]) == (409, "conflict")
        assert refused.body["detail"] == (
            f"erasing #{ana} Ana Díaz and 1 merged into them (#{wa} Ana WhatsApp) deletes 2"
            " contacts and everything of theirs: confirm with 2"
        )
    missing = await api("POST", f"/contacts/{ana}/erase", json={})
    assert missing.status == 422
    assert (
        await api("POST", f"/contacts/{ana}/erase", role="agent", json={"confirm": 2})
    ).status == 403
    assert (await _counts((ana, wa)))["contact"] == 2  # nothing erased yet


async def test_erasure_reaches_everywhere_and_scrubs_the_audit_log(api: Api) -> None:
    hook = {"url": "https://crm.example/hook"}  # events out: the world's changes queue events
    assert (await api("POST", "/event-subscriptions", json=hook)).status == 201
    ana, wa, bruno = await _world(api)
    queued = await h.scalar("SELECT count(*) FROM outbox_event WHERE contact_id IN (?, ?)", ana, wa)
    assert queued >= 4
    ws = await workspace_id()
    async with raw_transaction() as tx:  # a line about someone else that quotes Ana's phone
        await audit(tx, Actor(ws, "token:x", "api", "admin"), "tag.bulk", None,
                    {"filter": "phone:+593991234567", "count": 1})  # fmt: skip
    done = await api("POST", f"/contacts/{wa}/erase", json={"confirm": 2})  # merged-away id
    assert done.status == 200, done.body
    assert done.body["contact_id"] == ana
    erased = done.body["erased"]
    assert {k: v for k, v in erased.items() if k != "audit_lines_scrubbed"} == {
        "contacts": 2, "identities": 2, "messages": 2, "notes": 1, "tag_links": 1,
        "merge_records": 1, "outbox_events": queued, "held_messages": 1, "message_parts": 1,
    }  # fmt: skip
    assert await h.scalar("SELECT count(*) FROM outbox_event WHERE contact_id = ?", bruno) >= 1
    assert erased["audit_lines_scrubbed"] == 4 and done.body["exports_holding"] == []
    assert await _counts((ana, wa)) == dict.fromkeys(
        ("contact", "identity", "message", "note", "contact_tag"), 0
    )
    assert await h.scalar("SELECT count(*) FROM merge_record") == 0
    held = await h.rows("SELECT provider_message_id FROM held_message")
    assert [r["provider_message_id"] for r in held] == ["SM-held-other"]
    assert await h.scalar("SELECT count(*) FROM message_part") == 0
    assert (await _counts((bruno,)))["message"] == 1  # Bruno keeps his
    # The audit log keeps who, when and what, never Ana's values.
    lines = await h.rows("SELECT action, target, detail FROM audit_log ORDER BY id")
    text = orjson.dumps(lines, default=str).decode()
    for value in ANA_VALUES:
        assert value not in text, value
    actions = [r["action"] for r in lines]
    assert {"contact.merge", "note.add", "tag.add", "tag.bulk", "contact.erase"} <= set(actions)
    last = lines[-1]
    assert (last["action"], last["target"]) == ("contact.erase", f"#{ana}")
    assert (await api("GET", f"/contacts/{ana}")).status == 404
    assert (await api("GET", f"/contacts/{wa}")).status == 404


async def test_the_answer_names_the_reset_exports_that_hold_the_person(
    api: Api, tmp_path: Path
) -> None:
    ana, _, _ = await _world(api)
    ws = await workspace_id()
    for period, row in (
        ("2001-01", "9,Otra Persona,+593990000000"),
        ("2001-02", "3,Ana,+593991234567"),
    ):
        folder = tmp_path / f"{period}-run"
        folder.mkdir()
        (folder / "contacts.csv").write_text(f"id,name,phone\r\n{row}\r\n")
        await h.rows(
            "INSERT INTO reset_run (workspace_id, period, mode, state, trigger, counts, progress,"
            " export_path, started_at) VALUES (?, ?, 'all', 'done', 'schedule', '{}', '{}', ?, ?)",
            ws, period, str(folder), datetime(2001, 1, 31, 23, tzinfo=UTC),
        )  # fmt: skip
    done = await api("POST", f"/contacts/{ana}/erase", json={"confirm": 2})
    assert done.body["exports_holding"] == [str(tmp_path / "2001-02-run" / "contacts.csv")]
