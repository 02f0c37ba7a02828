"""The monthly reset and the events through the REST API; webhooks served during a reset."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.settings import Settings
from store.periods import period_of
from store.reset import policy as reset_policy
from tests import helpers as h
from tests.gateway.api.support import Api, error


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small delete batches, so a run lasts long enough for webhooks to meet it."""
    return settings.model_copy(update={"reset_batch": 5, "reset_batch_seconds": 0.0001})


async def people(client: TestClient, n: int, start: int = 0) -> None:
    """`n` Telegram senders, one message each, through the webhook."""
    tg = await h.channel("telegram")
    for i in range(start, start + n):
        reply = await h.send_telegram(client, tg.key, h.telegram_update(7000 + i, f"hola {i}"))
        assert reply.status == 200


async def wait_done(api: Api, run_id: int) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 120  # generous: CI machines are shared
    while asyncio.get_running_loop().time() < deadline:
        run = await api("GET", f"/reset/runs/{run_id}", role="admin")
        if run.body["state"] in ("done", "failed"):
            return dict(run.body)
        await asyncio.sleep(0.01)
    raise AssertionError("the reset did not finish in 120 s")


async def test_status_and_mode_changes(api: Api) -> None:
    shown = await api("GET", "/reset", role="admin")
    assert shown.status == 200
    assert (shown.body["mode"], shown.body["tag"], shown.body["local_time"]) == (
        "off",
        "Borrar",
        "23:00",
    )
    assert shown.body["next_run_at"] is None and shown.body["runs"] == []

    changed = await api("PUT", "/reset", json={"mode": "tagged", "time": "22:30"})
    assert changed.status == 200, changed.body
    now = datetime.now(UTC)
    starts = reset_policy.applies_from(now, h.TEST_ZONE, "off", "tagged")
    month = reset_policy.month_name(starts)
    assert month in changed.body["message"]
    assert changed.body["local_time"] == "22:30"
    if starts == period_of(now, h.TEST_ZONE):
        assert changed.body["mode"] == "tagged" and changed.body["pending_mode"] is None
    else:
        assert changed.body["pending_mode"] == "tagged" and changed.body["pending_from"] == starts
    expected = reset_policy.run_at(starts, h.TEST_ZONE, "22:30")
    assert changed.body["next_run_at"] == expected.astimezone(UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert changed.body["set_by"] == "token:owner-bot"
    audit = await h.rows("SELECT actor, action, target FROM audit_log WHERE action LIKE 'reset.%'")
    assert {a["action"] for a in audit} == {"reset.mode", "reset.time"}

    off = await api("PUT", "/reset", json={"mode": "off"})
    assert off.body["mode"] == "off" and off.body["pending_mode"] is None


async def test_bad_changes_are_refused(api: Api) -> None:
    cases = [
        ({"mode": "everything"}, "mode must be one of off, tagged, all, not 'everything'"),
        (
            {"time": "25:00"},
            "time: reset time must be HH:MM on a 24-hour clock, like 23:00 (workspace time)",
        ),
        ({}, "send mode (off, tagged or all), time (HH:MM), or both"),
        ({"mode": "all", "when": "now"}, "unknown field(s): when; expected mode, time"),
        ({"mode": 3}, "mode must be one of off, tagged, all, not 3"),
    ]
    for body, detail in cases:
        reply = await api("PUT", "/reset", json=body)
        assert (reply.status, reply.body) == (422, error("invalid", detail)), body
    refused = await api("PUT", "/reset", role="admin", json={"mode": "all"})
    assert refused.status == 403
    assert (await api("GET", "/reset", role="admin")).body["mode"] == "off"
    bad = await api("GET", "/reset/preview", params={"mode": "most"})
    assert bad.status == 422
    assert (await api("GET", "/reset/runs/99")).status == 404
    assert (await api("GET", "/events", params={"after": "x"})).status == 400


async def test_preview_run_events_through_the_api(api: Api, tmp_path: Path) -> None:
    await people(api.client, 5)
    await api("POST", "/contacts/1/tags", role="agent", json={"tags": ["borrar"]})
    shown = await api("GET", "/reset/preview", role="admin", params={"mode": "tagged"})
    assert shown.status == 200
    assert (shown.body["contacts"], shown.body["identities"], shown.body["messages"]) == (1, 1, 1)
    assert shown.body["sample"][0]["id"] == 1

    started = await api("POST", "/reset/runs", json={"mode": "tagged"})
    assert started.status == 202, started.body
    assert started.body["trigger"] == "manual" and started.body["requested_by"] == "token:owner-bot"
    done = await wait_done(api, started.body["id"])
    assert done["state"] == "done", done
    assert done["counts"] == {"contacts": 1, "identities": 1, "messages": 1, "notes": 0}
    assert await h.scalar("SELECT count(*) FROM contact") == 4
    export = Path(done["export_path"]) / "contacts.csv"
    [row] = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8-sig"))))
    assert row["id"] == "1" and row["tags"] == "borrar"

    again = await api("POST", "/reset/runs", json={"mode": "all"})
    assert again.status == 409 and "already ran" in again.body["detail"]
    events = await api("GET", "/events", role="admin")
    assert [e["kind"] for e in events.body["events"]] == ["reset_done"]
    assert events.body["events"][0]["payload"]["contacts"] == 1
    listed = await api("GET", "/reset/runs", role="admin")
    assert [r["id"] for r in listed.body["runs"]] == [started.body["id"]]
    assert (await api("GET", "/events", role="agent")).status == 403


async def test_webhooks_are_served_while_a_reset_deletes(api: Api) -> None:
    await people(api.client, 300)
    started = await api("POST", "/reset/runs", json={"mode": "all"})
    assert started.status == 202
    tg = await h.channel("telegram")
    answered_during: list[int] = []
    for i in range(60):  # new people and known ones write while the run deletes
        sender = 9000 + i if i % 2 else 7000 + i
        reply = await h.send_telegram(api.client, tg.key, h.telegram_update(sender, f"x{i}"))
        assert reply.status == 200
        run = await api("GET", f"/reset/runs/{started.body['id']}", role="admin")
        if run.body["state"] != "done":
            answered_during.append(i)
        await asyncio.sleep(0)
    done = await wait_done(api, started.body["id"])
    assert done["state"] == "done"
    assert answered_during, "the run finished before any webhook was answered"
    stored = await h.scalar("SELECT count(*) FROM message WHERE provider_message_id LIKE '%'")
    assert stored >= 30  # the new senders' messages all survive; known ones may go with the run
    new_senders = await h.scalar(
        "SELECT count(*) FROM identity WHERE CAST(external_id AS INTEGER) >= 9000"
    )
    assert new_senders == 30


async def test_the_owner_downloads_a_runs_export_as_one_archive(api: Api) -> None:
    await people(api.client, 3)
    await api("POST", "/contacts/2/tags", role="agent", json={"tags": ["Borrar"]})
    started = await api("POST", "/reset/runs", json={"mode": "tagged"})
    done = await wait_done(api, started.body["id"])
    run_id, period = done["id"], done["period"]
    got = await api("GET", f"/reset/runs/{run_id}/export")
    assert got.status == 200, got.body
    assert got.headers["Content-Type"] == "application/zip"
    assert f'filename="reset-run{run_id}.zip"' in got.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(got.body))
    folder = f"{period}-run{run_id}"
    assert archive.namelist() == [
        f"{folder}/contacts.csv",
        f"{folder}/manifest.json",
        f"{folder}/messages.jsonl",
    ]
    assert (
        archive.read(f"{folder}/contacts.csv")
        == (Path(done["export_path"]) / "contacts.csv").read_bytes()
    )
    assert (await api("GET", f"/reset/runs/{run_id}/export", role="admin")).status == 403
    missing = await api("GET", "/reset/runs/999/export")
    assert missing.status == 404
    shutil.rmtree(done["export_path"])  # purged by hand
    gone = await api("GET", f"/reset/runs/{run_id}/export")
    assert (gone.status, gone.body) == (
        404,
        error("not_found", f"reset run {run_id} ({period}) has no export on disk"),
    )
