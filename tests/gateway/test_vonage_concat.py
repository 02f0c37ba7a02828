"""Multipart Vonage SMS through the app into the database, on both backends: one message a set.

Every part is signed exactly as Vonage signs it (tests.gateway.test_channel_vonage.vonage_sig)
and posted as the form Vonage sends; the fixtures are one 3-part set, sms__concat3_part1..3.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest
from aiohttp.test_utils import TestClient

from gateway import keys
from gateway.channels import vonage
from gateway.channels.base import WebhookRequest
from gateway.provision import known_kinds
from gateway.scheduler import tick
from store import db, plan
from store.channels import upsert_channel
from store.inbound import close_expired, write_batch
from store.types import ChannelInfo, Item
from tests import helpers as h
from tests.gateway.test_channel_vonage import vonage_sig
from tests.signing import load_fixture

SECRET = "vonage-signature-secret"
KEY = "vonage-acme-key"
IDS = ["0B000000004567EF1", "0B000000004567EF2", "0B000000004567EF3"]
TEXTS = [
    "Hello, I ordered the blue ceramic mug set (order #1002) on the 28th and the tracking page"
    " has said 'out for delivery' for three days now. Nobody came, no",
    " card was left, and the courier number only plays a recording. Could you check with the"
    " courier where the parcel really is, and if it is lost, send a new",
    " set to the same address? I am home every afternoon after 3pm. Thanks, Ana",
]
WHOLE: dict[str, Any] = {
    "provider_message_id": "concat:0B000000004567EF1",
    "type": "text",
    "text": "".join(TEXTS),
    "sent_at": datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC),
    "meta": {"to": "447700900000", "concat_ref": "62", "concat_total": 3, "concat_part_ids": IDS},
}
PG_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("pg", marks=pytest.mark.pg)], indirect=True
)


async def _channel(cap: int = 1000) -> ChannelInfo:
    await h.workspace(cap=cap)
    secrets = {"signature_secret": SECRET, "signature_method": "sha256"}
    return await upsert_channel("acme", "vonage_sms", KEY, secrets, known_kinds=known_kinds())


def signed(fixture: str, secret: str = SECRET, **changes: str) -> str:
    """The fixture's form, changed (`concat_ref` stands for concat-ref), freshly signed."""
    params = dict(parse_qsl(load_fixture("vonage_sms", fixture).decode(), keep_blank_values=True))
    params.update({name.replace("_", "-"): value for name, value in changes.items()})
    params["timestamp"] = str(int(time.time()))
    params["sig"] = vonage_sig(secret, params)
    return urlencode(params)


async def send(client: TestClient, fixture: str, **changes: str) -> tuple[int, bytes]:
    """POST one signed Vonage form; the status and body of the answer."""
    response = await client.post(
        f"/webhooks/{KEY}",
        data=signed(fixture, **changes),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return response.status, await response.read()


async def send_parts(client: TestClient, *numbers: int, **changes: str) -> None:
    for number in numbers:
        assert await send(client, f"sms__concat3_part{number}", **changes) == (200, b"ok")


async def messages() -> list[dict[str, Any]]:
    rows = await h.rows(
        "SELECT provider_message_id, type, text, sent_at, meta FROM message ORDER BY id"
    )
    return [{**row, "sent_at": _utc(row["sent_at"]), "meta": _json(row["meta"])} for row in rows]


async def parts() -> list[tuple[str, str | None, bool]]:
    """(part id, assembled_as, still has its content) of every message_part row."""
    rows = await h.rows(
        "SELECT provider_message_id AS id, assembled_as, inbound FROM message_part ORDER BY id"
    )
    return [(r["id"], r["assembled_as"], r["inbound"] is not None) for r in rows]


def outcomes(client: TestClient) -> dict[str, float]:
    registry = client.app[keys.METRICS].registry
    labels = ("part", "stored", "duplicate", "held", "rejected")
    found = {
        name: registry.get_sample_value(
            "contactgate_inbound_messages_total", {"channel": "vonage_sms", "outcome": name}
        )
        for name in labels
    }
    return {name: n for name, n in found.items() if n}


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


ASSEMBLED = [(part_id, WHOLE["provider_message_id"], False) for part_id in IDS]


# --- complete sets ------------------------------------------------------------------------------


async def test_parts_in_order_are_stored_as_one_message(client: TestClient) -> None:
    await _channel()
    await send_parts(client, 1, 2)
    assert await messages() == []
    assert await parts() == [(IDS[0], None, True), (IDS[1], None, True)]
    assert await h.scalar("SELECT count(*) AS n FROM identity") == 0  # nothing counted yet
    await send_parts(client, 3)
    assert await messages() == [WHOLE]
    assert await parts() == ASSEMBLED  # kept as dedupe marks, without their text
    assert await h.scalar("SELECT count(*) AS n FROM identity") == 1
    assert await h.scalar("SELECT used FROM plan_period") == 1
    assert await h.scalar("SELECT phone FROM contact") == "+447700900002"
    assert outcomes(client) == {"part": 2, "stored": 1}


@pytest.mark.parametrize("order", [(3, 1, 2), (2, 3, 1), (3, 2, 1)])
async def test_parts_out_of_order_are_joined_in_part_order(
    client: TestClient, order: tuple[int, int, int]
) -> None:
    await _channel()
    await send_parts(client, *order)
    assert await messages() == [WHOLE]
    assert await h.scalar("SELECT used FROM plan_period") == 1


async def test_retried_parts_and_a_retried_set_give_one_message(client: TestClient) -> None:
    await _channel()
    await send_parts(client, 2, 2, 1, 3)  # part 2 retried while the set is open
    await send_parts(client, 1, 2, 3, 3)  # the whole set retried after it was assembled
    assert await messages() == [WHOLE]
    assert await parts() == ASSEMBLED
    assert outcomes(client) == {"part": 2, "stored": 1, "duplicate": 5}


async def test_a_known_sender_gets_the_whole_message_on_their_contact(client: TestClient) -> None:
    await _channel()
    await send_parts(client, 1, 2, 3)
    for number in (1, 2, 3):  # the sender's next long message
        await send_parts(
            client, number, concat_ref="63", messageId=f"Y{number}", text=f"<{number}>"
        )
    rows = await messages()
    assert [(r["provider_message_id"], r["text"]) for r in rows[1:]] == [("concat:Y1", "<1><2><3>")]
    assert await h.scalar("SELECT count(DISTINCT contact_id) AS n FROM message") == 1
    assert await h.scalar("SELECT used FROM plan_period") == 1


async def test_the_same_ref_from_two_senders_makes_two_messages(client: TestClient) -> None:
    await _channel()
    other = {"msisdn": "447700900099"}
    await send_parts(client, 1)
    for number in (1, 2, 3):
        await send_parts(client, number, messageId=f"B{number}", text=f"[{number}]", **other)
    await send_parts(client, 2, 3)
    rows = await messages()
    assert [(r["provider_message_id"], r["text"]) for r in rows] == [
        ("concat:B1", "[1][2][3]"),
        (WHOLE["provider_message_id"], WHOLE["text"]),
    ]
    assert await h.scalar("SELECT used FROM plan_period") == 2


async def test_a_reused_ref_starts_a_new_set_while_the_old_one_waits(client: TestClient) -> None:
    await _channel()
    await send_parts(client, 1, 2)  # part 3 of this set is lost
    for number in (1, 2, 3):  # the handset reuses ref 62 for its next long message
        await send_parts(client, number, messageId=f"N{number}", text=f"<{number}>")
    rows = await messages()
    assert [(r["provider_message_id"], r["text"]) for r in rows] == [("concat:N1", "<1><2><3>")]
    assert [(p[0], p[1]) for p in await parts()][:2] == [(IDS[0], None), (IDS[1], None)]


# --- refused parts ------------------------------------------------------------------------------


async def test_a_part_with_a_bad_signature_is_refused_and_not_parked(client: TestClient) -> None:
    await _channel()
    await send_parts(client, 1)
    forged = signed("sms__concat3_part2", secret="not-the-secret")
    response = await client.post(
        f"/webhooks/{KEY}",
        data=forged,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 401
    assert (await response.json())["error"] == "rejected"
    tampered = signed("sms__concat3_part2").replace("card+was+left", "card+was+found")
    response = await client.post(
        f"/webhooks/{KEY}",
        data=tampered,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 401
    await send_parts(client, 3)
    assert await messages() == []
    assert [p[0] for p in await parts()] == [IDS[0], IDS[2]]
    await send_parts(client, 2)  # Vonage retries the part it got no 200 for
    assert await messages() == [WHOLE]


async def test_a_part_with_a_malformed_count_is_refused(client: TestClient) -> None:
    await _channel()
    assert (await send(client, "sms__concat3_part1", concat_part="4"))[0] == 400
    assert await parts() == []


# --- sets that never complete -------------------------------------------------------------------


async def test_a_set_missing_a_part_is_stored_incomplete_after_the_timeout(
    client: TestClient,
) -> None:
    await _channel()
    await send_parts(client, 3, 1)
    day = timedelta(hours=24)
    now = datetime.now(UTC)
    assert await close_expired(day, now + timedelta(hours=23)) == 0
    assert await close_expired(day, now + timedelta(hours=25)) == 1
    assert await messages() == [
        {
            **WHOLE,
            "text": TEXTS[0] + TEXTS[2],
            "meta": {
                **WHOLE["meta"],
                "concat_part_ids": [IDS[0], IDS[2]],
                "incomplete": True,
                "missing_parts": [2],
            },
        }
    ]
    assert await h.scalar("SELECT used FROM plan_period") == 1
    await send_parts(client, 3)  # a late retry of a stored part: a duplicate
    await send_parts(client, 2)  # the lost part, late: it waits in a set of its own
    assert outcomes(client) == {"part": 3, "duplicate": 1}
    now = datetime.now(UTC)
    assert await close_expired(day, now + timedelta(hours=23)) == 0
    assert len(await messages()) == 1
    assert await close_expired(day, now + timedelta(hours=25)) == 1
    rows = await messages()
    assert (rows[1]["text"], rows[1]["meta"]["missing_parts"]) == (TEXTS[1], [1, 3])
    assert len(await parts()) == 3
    assert await close_expired(day, now + timedelta(hours=49)) == 0
    assert await parts() == []  # the marks outlived the 24 hours of Vonage's retries


async def test_the_scheduler_tick_closes_expired_sets(client: TestClient) -> None:
    await _channel()
    await send_parts(client, 2)
    await tick()  # the default 24 hours have not passed
    assert await messages() == []
    await tick(concat_timeout=timedelta(0))
    [row] = await messages()
    assert (row["provider_message_id"], row["text"]) == ("concat:" + IDS[1], TEXTS[1])
    assert (row["meta"]["incomplete"], row["meta"]["missing_parts"]) == (True, [1, 3])


# --- the plan cap -------------------------------------------------------------------------------


async def test_at_the_cap_the_whole_message_is_held_then_admitted(client: TestClient) -> None:
    await _channel(cap=1)
    assert await send(client, "sms__text") == (200, b"ok")  # another sender takes the only slot
    await send_parts(client, 2, 1, 3)
    assert outcomes(client) == {"stored": 1, "part": 2, "held": 1}
    held = await h.rows("SELECT provider_message_id, inbound FROM held_message")
    assert [(r["provider_message_id"], _json(r["inbound"])["text"]) for r in held] == [
        (WHOLE["provider_message_id"], WHOLE["text"])
    ]
    await send_parts(client, 3, 1)
    assert await h.scalar("SELECT count(*) AS n FROM held_message") == 1
    assert len(await messages()) == 1
    usage = await plan.set_cap(await h.owner(), 2)
    assert (usage.admitted_now, usage.used, usage.held_messages) == (1, 2, 0)
    whole = (await messages())[1]
    assert whole == {**WHOLE, "meta": {**WHOLE["meta"], "held_since": whole["meta"]["held_since"]}}


# --- two writers at once (PostgreSQL) -----------------------------------------------------------


def _item(channel: ChannelInfo, number: int) -> Item:
    body = load_fixture("vonage_sms", f"sms__concat3_part{number}")
    request = WebhookRequest("POST", "https://gw.example.com/hook", {}, {}, body)
    [inbound] = vonage.parse("vonage_sms", request).messages
    return Item(channel, inbound)


@PG_ONLY
async def test_the_last_two_parts_in_concurrent_transactions_assemble_once(orm: str) -> None:
    channel = await _channel()
    first, second, third = (_item(channel, n) for n in (1, 2, 3))
    assert await db.run_transaction(lambda tx: write_batch(tx, [first])) == ["part"]
    async with db.raw_transaction() as tx:
        assert await write_batch(tx, [second]) == ["part"]
        racing = asyncio.create_task(db.run_transaction(lambda tx: write_batch(tx, [third])))
        await asyncio.sleep(0.3)
        # Waiting on the set's lock: reading now, it would miss part 2 and park part 3 too.
        assert not racing.done()
    assert await racing == ["stored"]
    assert await messages() == [WHOLE]


@PG_ONLY
async def test_many_sets_with_parts_written_concurrently_each_assemble_once(orm: str) -> None:
    channel = await _channel()
    items = []
    for s in range(20):
        for number in (1, 2, 3, 2):  # part 2 twice: a retry racing the original
            item = _item(channel, number)
            item.inbound.external_id = f"+59399{s:07d}"
            item.inbound.provider_message_id = f"S{s}P{number}"
            items.append(item)

    async def write(item: Item) -> list[Any]:
        return await db.run_transaction(lambda tx: write_batch(tx, [item]))

    results = await asyncio.gather(*(write(item) for item in items))
    assert sorted(r[0] for r in results).count("stored") == 20
    rows = await messages()
    assert len(rows) == 20 and {r["text"] for r in rows} == {WHOLE["text"]}
    assert await h.scalar("SELECT count(*) AS n FROM message_part WHERE assembled_as IS NULL") == 0
