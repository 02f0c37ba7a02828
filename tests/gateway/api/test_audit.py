"""GET /audit and /audit/export: the owner reads who changed what, filtered and paged."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from store.access import Actor, audit
from store.db import raw_transaction
from tests import helpers as h
from tests.gateway.api.support import Api, error, workspace_id

QUITO = "America/Guayaquil"  # UTC-5 all year: a bare date starts at 05:00Z


async def _planted(api: Api) -> int:
    """Lines at fixed times in 2001 (no line the clock writes falls there, whatever a test run
    sets the clock to): three about contact #1, one
    about #2, one by another actor, one with a formula-looking target."""
    ws = await workspace_id()
    await h.rows("UPDATE workspace SET timezone = ? WHERE id = ?", QUITO, ws)
    await api.create(name="Ana Díaz", email="ana@example.com")
    await api.create(name="Ana D.", phone="+593991234567")
    base = await h.scalar("SELECT max(id) FROM audit_log")
    ana = Actor(ws, "token:ana", "api", "admin")
    bot = Actor(ws, "telegram:42", "telegram", "agent")
    planted: list[tuple[Actor, str, str | None, dict[str, Any] | None, datetime]] = [
        (ana, "contact.update", "#1", {"city": "Quito"}, datetime(2001, 2, 28, 12, tzinfo=UTC)),
        (ana, "tag.add", "#1", {"tags": ["vip"]}, datetime(2001, 3, 1, 4, 30, tzinfo=UTC)),
        (bot, "tag.add", "#2", {"tags": ["Borrar"]}, datetime(2001, 3, 1, 6, tzinfo=UTC)),
        (bot, "note.add", "#1", {"note": 1}, datetime(2001, 3, 2, 9, tzinfo=UTC)),
        (ana, "view.save", "=HYPERLINK(1)", None, datetime(2001, 3, 3, 9, tzinfo=UTC)),
    ]
    async with raw_transaction() as tx:
        for who, action, target, detail, at in planted:
            await audit(tx, who, action, target, detail, at=at)
    return int(base)


async def test_only_the_owner_reads_the_log(api: Api) -> None:
    await _planted(api)
    for role in ("agent", "admin"):
        refused = await api("GET", "/audit", role=role)
        assert refused.status == 403, refused.body
        assert (await api("GET", "/audit/export", role=role)).status == 403
    assert (await api("GET", "/audit", role="owner")).status == 200


async def test_filters_by_actor_action_contact_and_time(api: Api) -> None:
    base = await _planted(api)

    async def ids(**params: str) -> list[int]:
        reply = await api("GET", "/audit", params=params)
        assert reply.status == 200, reply.body
        return [line["id"] - base for line in reply.body["lines"]]

    assert await ids(actor="telegram:42") == [4, 3]
    assert await ids(action="tag.add") == [3, 2]
    assert await ids(action="tag.*", actor="token:ana") == [2]
    assert [i for i in await ids(contact="#1") if i > 0] == [4, 2, 1]
    assert [i for i in await ids(contact="email:ana@example.com") if i > 0] == [4, 2, 1]
    # A bare date is midnight in the workspace's timezone (05:00Z in Quito): the 04:30Z line
    # belongs to February 28 there.
    assert await ids(since="2001-03-01", until="2001-03-02") == [3]
    assert await ids(since="2001-03-01T04:00:00Z", until="2001-03-01T05:00:00Z") == [2]
    line = (await api("GET", "/audit", params={"actor": "telegram:42"})).body["lines"][0]
    assert line == {
        "id": base + 4,
        "at": "2001-03-02T09:00:00Z",
        "actor": "telegram:42",
        "surface": "telegram",
        "action": "note.add",
        "target": "#1",
        "detail": {"note": 1},
    }


async def test_a_contacts_history_keeps_the_contacts_merged_into_it(api: Api) -> None:
    base = await _planted(api)
    merged = await api("POST", "/contacts/1/merge", json={"secondary": "2"})
    assert merged.status == 200, merged.body
    reply = await api("GET", "/audit", params={"contact": "1"})
    shown = [(line["action"], line["target"]) for line in reply.body["lines"] if line["id"] > base]
    assert shown == [
        ("contact.merge", "#1"),
        ("note.add", "#1"),
        ("tag.add", "#2"),
        ("tag.add", "#1"),
        ("contact.update", "#1"),
    ]
    # The merged-away id names the person it was merged into: the same history.
    again = await api("GET", "/audit", params={"contact": "2"})
    assert again.body["lines"] == reply.body["lines"]


async def test_pages_walk_every_line_once(api: Api) -> None:
    await _planted(api)
    everything = (await api("GET", "/audit", params={"limit": "500"})).body["lines"]
    seen: list[int] = []
    cursor = ""
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = await api("GET", "/audit", params=params)
        assert reply.status == 200 and len(reply.body["lines"]) <= 2
        seen += [line["id"] for line in reply.body["lines"]]
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break
    assert seen == [line["id"] for line in everything] and len(seen) == len(set(seen)) >= 7


async def test_bad_input_is_a_clear_error(api: Api) -> None:
    await _planted(api)
    bad_time = await api("GET", "/audit", params={"since": "yesterday"})
    assert (bad_time.status, bad_time.body) == (
        422,
        error("invalid", "since: a date (2026-12-01) or a date-time (2026-12-01T09:30:00-05:00)"),
    )
    bad_cursor = await api("GET", "/audit", params={"cursor": "abc"})
    assert bad_cursor.status == 404 and "cursor" in bad_cursor.body["detail"]
    nobody = await api("GET", "/audit", params={"contact": "email:nobody@example.com"})
    assert nobody.status == 404
    # A deleted contact's id still reads its history.
    assert (await api("DELETE", "/contacts/2")).status == 200
    gone = await api("GET", "/audit", params={"contact": "2"})
    assert [line["action"] for line in gone.body["lines"]][:2] == ["contact.delete", "tag.add"]


async def test_export_is_csv_in_the_workspace_timezone(api: Api) -> None:
    base = await _planted(api)
    reply = await api("GET", "/audit/export", params={"since": "2001-02-01", "until": "2002-01-01"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="audit.csv"' in reply.headers["Content-Disposition"]
    text = reply.body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "at", "actor", "surface", "action", "target", "detail"]
    assert rows[1:] == [
        [str(base + 5), "2001-03-03T04:00:00-05:00", "token:ana", "api", "view.save",
         "'=HYPERLINK(1)", ""],
        [str(base + 4), "2001-03-02T04:00:00-05:00", "telegram:42", "telegram", "note.add", "#1",
         '{"note":1}'],
        [str(base + 3), "2001-03-01T01:00:00-05:00", "telegram:42", "telegram", "tag.add", "#2",
         '{"tags":["Borrar"]}'],
        [str(base + 2), "2001-02-28T23:30:00-05:00", "token:ana", "api", "tag.add", "#1",
         '{"tags":["vip"]}'],
        [str(base + 1), "2001-02-28T07:00:00-05:00", "token:ana", "api", "contact.update", "#1",
         '{"city":"Quito"}'],
    ]  # fmt: skip
    bad = await api("GET", "/audit/export", params={"until": "31/12/2026"})
    assert bad.status == 422
