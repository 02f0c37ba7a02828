"""Periods follow the workspace's timezone; usage carries over; a new period admits held senders."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from aiohttp.test_utils import TestClient

from gateway.scheduler import tick
from store import plan
from store.models import Contact
from tests import helpers as h

TZ = "America/Guayaquil"  # UTC-5, no daylight saving
OCT_31_2230_LOCAL = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)  # already November in UTC
NOV_1_0030_LOCAL = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


async def _send(client: TestClient, key: str, *users: int) -> None:
    for user in users:
        resp = await h.send_telegram(client, key, h.telegram_update(user))
        assert resp.status == 200


async def test_month_boundary_in_workspace_timezone_carries_usage_over(client: TestClient) -> None:
    await h.workspace(cap=3, tz=TZ)
    tg = await h.channel("telegram")
    with time_machine.travel(OCT_31_2230_LOCAL, tick=False):
        await _send(client, tg.key, 1, 2)
        october = await plan.usage("acme")
    with time_machine.travel(NOV_1_0030_LOCAL, tick=False):
        await _send(client, tg.key, 1, 3, 4)
        november = await plan.usage("acme")
    assert (october.period, october.used, october.carried_over) == ("2026-10", 2, 0)
    assert (november.period, november.used, november.carried_over) == ("2026-11", 3, 2)
    assert (november.held_messages, november.held_senders) == (1, 1)
    periods = await h.rows("SELECT period, carried_over, used FROM plan_period ORDER BY period")
    assert periods == [
        {"period": "2026-10", "carried_over": 0, "used": 2},
        {"period": "2026-11", "carried_over": 2, "used": 3},
    ]
    [channel_usage] = november.channels
    assert (channel_usage.carried_over, channel_usage.created) == (2, 1)


async def test_new_period_admits_held_senders_when_room_frees(client: TestClient) -> None:
    await h.workspace(cap=2, tz=TZ)
    tg = await h.channel("telegram")
    with time_machine.travel(OCT_31_2230_LOCAL, tick=False):
        await _send(client, tg.key, 1, 2, 3)
        assert (await plan.usage("acme")).held_senders == 1
        gone = await h.scalar("SELECT contact_id FROM identity WHERE external_id = '1'")
        await Contact.filter(id=gone).delete()  # as a monthly reset would
        assert await tick() == 0  # October is still full: deleting refunds nothing
    with time_machine.travel(NOV_1_0030_LOCAL, tick=False):
        assert await tick() == 1
        usage = await plan.usage("acme")
    assert (usage.period, usage.carried_over, usage.used, usage.held_messages) == (
        "2026-11",
        1,
        2,
        0,
    )
    stored = await h.rows(
        "SELECT i.external_id AS who FROM message m JOIN identity i ON i.id = m.identity_id"
        " ORDER BY m.id"
    )
    assert [r["who"] for r in stored] == ["2", "3"]
