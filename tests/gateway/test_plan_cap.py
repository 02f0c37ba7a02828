"""The plan cap through real webhooks: boundary, lowered cap, held queue, upgrade admission."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from store import plan
from tests import helpers as h


async def _send_users(client: TestClient, key: str, users: range) -> list[int]:
    statuses = []
    for user in users:
        resp = await h.send_telegram(client, key, h.telegram_update(user))
        statuses.append(resp.status)
    return statuses


async def test_cap_boundary_admits_up_to_cap_and_holds_the_next(client: TestClient) -> None:
    await h.workspace(cap=3)
    tg = await h.channel("telegram")
    assert await _send_users(client, tg.key, range(1, 4)) == [200, 200, 200]
    assert (await plan.usage("acme")).used == 3
    assert await _send_users(client, tg.key, range(4, 6)) == [200, 200]
    usage = await plan.usage("acme")
    assert (usage.used, usage.held_messages, usage.held_senders) == (3, 2, 2)
    assert await h.scalar("SELECT count(*) AS n FROM identity") == 3
    assert await h.scalar("SELECT count(*) AS n FROM message") == 3


async def test_known_senders_are_served_when_cap_is_lowered(client: TestClient) -> None:
    await h.workspace(cap=2)
    tg = await h.channel("telegram")
    await _send_users(client, tg.key, range(1, 3))
    await plan.set_cap(await h.owner(), 1)
    assert await _send_users(client, tg.key, range(1, 3)) == [200, 200]
    assert await h.scalar("SELECT count(*) AS n FROM message") == 4
    await _send_users(client, tg.key, range(3, 4))
    usage = await plan.usage("acme")
    assert (usage.used, usage.cap, usage.held_messages) == (2, 1, 1)


async def test_raising_the_cap_admits_held_senders_oldest_first(client: TestClient) -> None:
    await h.workspace(cap=1)
    tg = await h.channel("telegram")
    await _send_users(client, tg.key, range(1, 2))
    for user in (7, 8, 7, 9):  # user 7 twice: both messages wait and are admitted together
        await h.send_telegram(client, tg.key, h.telegram_update(user))
    result = await plan.set_cap(await h.owner(), 3)
    assert (result.admitted_now, result.used, result.held_messages) == (2, 3, 1)
    admitted = await h.rows(
        "SELECT i.external_id AS who, count(m.id) AS n FROM identity i"
        " JOIN message m ON m.identity_id = i.id GROUP BY i.external_id ORDER BY i.external_id"
    )
    assert admitted == [{"who": "1", "n": 1}, {"who": "7", "n": 2}, {"who": "8", "n": 1}]
    events = await h.rows("SELECT kind, key FROM event ORDER BY id")
    assert [e["kind"] for e in events] == ["cap_80", "cap_100"]
