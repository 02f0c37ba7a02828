"""Delivery statuses end to end: a message sent through the API (against the provider fakes),
then the provider's signed status webhooks (the captured fixtures, naming that message), then
what the API shows: the status, its history, a failure's code and words, and the metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from tests import helpers as h
from tests.fake_providers import TWILIO_TOKEN, FakeProviders
from tests.gateway.api.people import person
from tests.gateway.api.support import TIME, Api, stable
from tests.signing import load_fixture

PHONE = "+15551234567"
PSID = "6732519843385021"
APP_SECRET = "app-secret"  # tests.gateway.api.people: the Meta channels' app secret


def step(status: str, at: str = TIME, error: str | None = None, detail: str | None = None) -> Any:
    return {"status": status, "at": at, "error": error, "detail": detail}


def whatsapp_status(name: str, wamid: str) -> bytes:
    """The WhatsApp fixture `name`, about the message `wamid`."""
    payload = orjson.loads(load_fixture("whatsapp", name))
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
    return orjson.dumps(payload)


def twilio_status(kind: str, name: str, sid: str) -> list[tuple[str, str]]:
    """The Twilio fixture `name` of `kind`, about the message `sid`."""
    params = parse_qsl(load_fixture(kind, name).decode(), keep_blank_values=True)
    return [(k, sid if k in ("MessageSid", "SmsSid") else v) for k, v in params]


async def send(api: Api, cid: int, **body: Any) -> dict[str, Any]:
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola", **body})
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def conversation(api: Api, cid: int) -> list[dict[str, Any]]:
    reply = await api("GET", f"/contacts/{cid}/messages")
    return [m for m in reply.body["messages"] if m["direction"] == "out"]


async def status_of(api: Api, cid: int) -> list[tuple[str, list[Any], str | None, str | None]]:
    """(status, history, error, detail) of each outbound message, newest first."""
    return [
        (m["status"], stable(m["status_history"]), m["error"], m["detail"])
        for m in await conversation(api, cid)
    ]


async def post_whatsapp(api: Api, name: str, wamid: str) -> None:
    body = whatsapp_status(name, wamid)
    resp = await h.send_whatsapp(api.client, "whatsapp-acme-key", body, secret=APP_SECRET)
    assert (resp.status, await resp.text()) == (200, "ok")


async def status_metrics(api: Api) -> list[str]:
    text = await (await api.client.get("/metrics")).text()
    wanted = ("contactgate_status_total{", "contactgate_outbound_total{")
    return sorted(line for line in text.splitlines() if line.startswith(wanted))


def wa_steps(*names: str) -> list[Any]:
    """sending and sent (ours), then the fixtures' statuses."""
    return [step("sending"), step("sent")] + [step(n.removeprefix("status__")) for n in names]


async def test_whatsapp_delivered_then_read(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "whatsapp", PHONE[1:], phone=PHONE)
    wamid = (await send(api, cid))["provider_message_id"]
    await post_whatsapp(api, "status__delivered", wamid)
    assert await status_of(api, cid) == [("delivered", wa_steps("status__delivered"), None, None)]
    [message] = await conversation(api, cid)
    assert message["status_history"][2]["at"] == "2026-01-01T10:16:00Z"  # the provider's time
    await post_whatsapp(api, "status__read", wamid)
    assert await status_of(api, cid) == [
        ("read", wa_steps("status__delivered", "status__read"), None, None)
    ]
    assert await status_metrics(api) == [
        'contactgate_outbound_total{channel="whatsapp",outcome="sent"} 1.0',
        'contactgate_status_total{channel="whatsapp",outcome="applied",status="delivered"} 1.0',
        'contactgate_status_total{channel="whatsapp",outcome="applied",status="read"} 1.0',
    ]


async def test_whatsapp_out_of_order_never_moves_back(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "whatsapp", PHONE[1:], phone=PHONE)
    wamid = (await send(api, cid))["provider_message_id"]
    for name in ("status__read", "status__delivered", "status__sent", "status__read"):
        await post_whatsapp(api, name, wamid)
    # read stays; the late delivered joins the history; sent and the repeated read were heard
    assert await status_of(api, cid) == [
        ("read", wa_steps("status__read", "status__delivered"), None, None)
    ]
    assert await status_metrics(api) == [
        'contactgate_outbound_total{channel="whatsapp",outcome="sent"} 1.0',
        'contactgate_status_total{channel="whatsapp",outcome="applied",status="read"} 1.0',
        'contactgate_status_total{channel="whatsapp",outcome="stale",status="delivered"} 1.0',
        'contactgate_status_total{channel="whatsapp",outcome="stale",status="read"} 1.0',
        'contactgate_status_total{channel="whatsapp",outcome="stale",status="sent"} 1.0',
    ]


async def test_whatsapp_failed_with_code_and_title(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "whatsapp", PHONE[1:], phone=PHONE)
    wamid = (await send(api, cid))["provider_message_id"]
    await post_whatsapp(api, "status__delivered", wamid)
    await post_whatsapp(api, "status__failed", wamid)
    failed = step("failed", TIME, "131047", "Re-engagement message")
    [message] = await conversation(api, cid)
    assert (message["status"], message["provider_message_id"]) == ("failed", wamid)
    assert await status_of(api, cid) == [
        (
            "failed",
            [*wa_steps("status__delivered"), failed],
            "delivery_failed",
            "Re-engagement message (code 131047)",
        )
    ]
    await post_whatsapp(api, "status__read", wamid)  # nothing moves a failure on
    assert (await status_of(api, cid))[0][0] == "failed"


async def test_twilio_sms_undelivered(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "twilio_sms", PHONE, phone=PHONE)
    sid = (await send(api, cid))["provider_message_id"]
    for name in ("status__sent", "status__delivered", "status__undelivered"):
        params = twilio_status("twilio_sms", name, sid)
        resp = await h.send_twilio(api.client, "twilio_sms-acme-key", params, token=TWILIO_TOKEN)
        assert resp.status == 200
    assert await status_of(api, cid) == [
        (
            "failed",
            [step("sending"), step("sent"), step("delivered"),
             step("failed", TIME, "30003", "Unreachable destination handset")],
            "delivery_failed",
            "Unreachable destination handset (code 30003)",
        )
    ]  # fmt: skip


async def test_twilio_whatsapp_read_and_failed(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "twilio_whatsapp", PHONE, phone=PHONE)
    first = (await send(api, cid))["provider_message_id"]
    second = (await send(api, cid))["provider_message_id"]
    for sid, name in ((first, "status__delivered"), (first, "status__read"),
                      (second, "status__failed")):  # fmt: skip
        params = twilio_status("twilio_whatsapp", name, sid)
        key = "twilio_whatsapp-acme-key"
        assert (await h.send_twilio(api.client, key, params, token=TWILIO_TOKEN)).status == 200
    title = "Failed to send freeform message because you are outside the allowed window"
    assert await status_of(api, cid) == [
        ("failed", [step("sending"), step("sent"), step("failed", TIME, "63016", title)],
         "delivery_failed", f"{title} (code 63016)"),
        ("read", [step("sending"), step("sent"), step("delivered"), step("read")], None, None),
    ]  # fmt: skip


async def test_messenger_delivery_by_mid_and_read_by_watermark(
    api: Api, providers: FakeProviders
) -> None:
    cid = await person(api, "messenger", PSID)
    older = (await send(api, cid))["id"]
    newer = (await send(api, cid))["id"]
    # the read fixture's watermark is 2026-01-01 10:14:00.250: only the older one was read
    for mid, minute in ((older, 10), (newer, 20)):
        sent_at = datetime(2026, 1, 1, 10, minute, tzinfo=UTC)
        await h.rows("UPDATE message SET sent_at = ? WHERE id = ?", sent_at, mid)
    newer_mid = await h.scalar("SELECT provider_message_id FROM message WHERE id = ?", newer)
    delivery = orjson.loads(load_fixture("messenger", "delivery.json"))
    delivery["entry"][0]["messaging"][0]["delivery"]["mids"] = [newer_mid]
    for body in (orjson.dumps(delivery), load_fixture("messenger", "read.json")):
        resp = await h.send_whatsapp(api.client, "messenger-acme-key", body, secret=APP_SECRET)
        assert (resp.status, await resp.text()) == (200, "EVENT_RECEIVED")
    assert await status_of(api, cid) == [
        ("delivered", [step("sending"), step("sent"), step("delivered")], None, None),
        ("read", [step("sending"), step("sent"), step("read")], None, None),
    ]
    assert await status_metrics(api) == [
        'contactgate_outbound_total{channel="messenger",outcome="sent"} 2.0',
        'contactgate_status_total{channel="messenger",outcome="applied",status="delivered"} 1.0',
        'contactgate_status_total{channel="messenger",outcome="applied",status="read"} 1.0',
    ]


async def test_a_status_change_is_an_event_out_written_with_it(
    api: Api, providers: FakeProviders
) -> None:
    made = await api("POST", "/event-subscriptions", json={"url": "https://crm.example/hook"})
    assert made.status == 201, made.body
    cid = await person(api, "whatsapp", PHONE[1:], phone=PHONE)
    wamid = (await send(api, cid))["provider_message_id"]
    await post_whatsapp(api, "status__delivered", wamid)
    await post_whatsapp(api, "status__delivered", wamid)  # a repeat changes nothing
    await post_whatsapp(api, "status__failed", wamid)
    rows = await h.rows(
        "SELECT contact_id, payload FROM outbox_event WHERE type = 'message.status' ORDER BY id"
    )
    events = [orjson.loads(r["payload"])["data"] for r in rows]
    assert [(r["contact_id"]) for r in rows] == [cid, cid]
    assert [(e["previous"], e["status"], e["error_code"]) for e in events] == [
        ("sent", "delivered", None),
        ("delivered", "failed", "131047"),
    ]
    assert {e["channel"] for e in events} == {"whatsapp-acme-key"} and events[1][
        "source"
    ] == "inbound"
