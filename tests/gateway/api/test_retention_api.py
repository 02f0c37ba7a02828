"""Retention rules through the REST API: show, change, preview, a run, its history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from tests import helpers as h
from tests.gateway.api.support import Api, error

ZONE = "America/Guayaquil"
NOW = datetime(2026, 12, 8, 20, 0, tzinfo=UTC)  # 15:00 on 8 December in Guayaquil
LONG_AGO = NOW - timedelta(days=45)
OFF = {
    "workspace": "acme",
    "contacts_inactive_days": None,
    "messages_older_than_days": None,
    "local_time": "23:00",
    "timezone": ZONE,
    "next_run_at": None,
    "next_run_local": None,
    "set_by": None,
    "set_at": None,
    "message": "",
}


async def people(api: Api, first: int, n: int) -> None:
    """`n` Telegram senders, one message each, through the webhook."""
    tg = await h.channel("telegram")
    for i in range(first, first + n):
        reply = await h.send_telegram(api.client, tg.key, h.telegram_update(7000 + i, f"hola {i}"))
        assert reply.status == 200


async def wait_done(api: Api, run_id: int) -> dict[str, Any]:
    for _ in range(12_000):  # up to about 120 s: CI machines are shared
        run = await api("GET", f"/retention/runs/{run_id}", role="admin")
        if run.body["state"] in ("done", "failed"):
            return dict(run.body)
        await asyncio.sleep(0.01)
    raise AssertionError("the retention run did not finish")


async def test_show_and_change_the_rules(api: Api) -> None:
    await h.rows("UPDATE workspace SET timezone = ? WHERE slug = 'acme'", ZONE)
    with time_machine.travel(NOW, tick=False):
        shown = await api("GET", "/retention", role="admin")
        assert (shown.status, shown.body) == (200, OFF)
        refused = await api("PUT", "/retention", role="admin", json={"contacts_inactive_days": 9})
        assert refused.status == 403
        changed = await api("PUT", "/retention", json={"contacts_inactive_days": 365})
        assert (changed.status, changed.body) == (200, {
            **OFF,
            "contacts_inactive_days": 365,
            "next_run_at": "2026-12-09T04:00:00Z",
            "next_run_local": "2026-12-08 23:00 -05",
            "set_by": "token:owner-bot",
            "set_at": "2026-12-08T20:00:00Z",
            "message": "Every day the retention run deletes contacts with no activity for 365"
            " days, export first.",
        })  # fmt: skip
        both = await api("PUT", "/retention", json={"messages_older_than_days": 90})
        assert (both.body["contacts_inactive_days"], both.body["messages_older_than_days"]) == (
            365,
            90,
        )
        off = await api("PUT", "/retention", json={"contacts_inactive_days": None})
        assert (off.body["contacts_inactive_days"], off.body["messages_older_than_days"]) == (
            None,
            90,
        )
    for body in ({}, {"messages_older_than_days": 7}, {"contacts_inactive_days": "30"},
                 {"contacts_inactive_days": 0}, {"days": 3}):  # fmt: skip
        reply = await api("PUT", "/retention", json=body)
        assert reply.status == 422 and reply.body["error"] == "invalid", body
    audit = await h.rows("SELECT actor, action FROM audit_log WHERE action = 'retention.set'")
    assert len(audit) == 3
    assert (await api("GET", "/retention/runs/99", role="admin")).status == 404


async def test_preview_and_a_run_through_the_api(api: Api) -> None:
    await h.rows("UPDATE workspace SET timezone = ? WHERE slug = 'acme'", ZONE)
    with time_machine.travel(LONG_AGO, tick=True):
        await people(api, 0, 3)  # contacts 1-3, quiet for 45 days
    with time_machine.travel(NOW, tick=True):
        await people(api, 3, 2)  # contacts 4-5, active today
        refused = await api("POST", "/retention/runs")
        assert refused.status == 409
        assert refused.body == error(
            "conflict",
            "no retention rule is set; set contacts_inactive_days or messages_older_than_days"
            " first",
        )
        seen = await api(
            "GET", "/retention/preview", role="admin", params={"contacts_inactive_days": "30"}
        )
        assert seen.status == 200, seen.body
        counts = {k: seen.body[k] for k in ("contacts", "identities", "messages", "old_messages")}
        assert counts == {"contacts": 3, "identities": 3, "messages": 3, "old_messages": 0}
        assert [s["id"] for s in seen.body["sample"]] == [1, 2, 3]
        assert seen.body["contacts_cutoff"] == "2026-11-08T05:00:00Z"
        assert (await api("GET", "/retention/preview", role="agent")).status == 403

        await api("PUT", "/retention", json={"contacts_inactive_days": 30})
        started = await api("POST", "/retention/runs")
        assert started.status == 202, started.body
        assert (started.body["period"], started.body["mode"]) == ("2026-12-08", "contacts:30")
        done = await wait_done(api, started.body["id"])
        assert done["state"] == "done", done
        assert done["counts"] == {"contacts": 3, "identities": 3, "messages": 3, "notes": 0}
        assert await h.scalar("SELECT count(*) FROM contact") == 2
        again = await api("POST", "/retention/runs")
        assert again.status == 409 and "already ran" in again.body["detail"]
        listed = await api("GET", "/retention/runs", role="admin")
        assert [r["id"] for r in listed.body["runs"]] == [started.body["id"]]
        assert (await api("GET", "/reset/runs", role="admin")).body["runs"] == []
        events = await api("GET", "/events", role="admin")
        assert [e["kind"] for e in events.body["events"]] == ["retention_done"]
