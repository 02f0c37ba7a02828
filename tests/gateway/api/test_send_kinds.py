"""POST /contacts/{ref}/messages beyond a plain text: WhatsApp templates, Messenger's HUMAN_AGENT
tag, the row written as `sending` before the provider is asked (and what a database failure
after the provider accepted becomes), and the outbound counters."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from store import outbound as records
from store.db import RawTx
from tests import helpers as h
from tests.fake_providers import FakeProviders
from tests.gateway.api.people import person
from tests.gateway.api.support import TIME, Api, error, stable

PHONE = "+593991234567"
PSID = "6783024061792428"
OUTBOUND_SAMPLE = "contactgate_outbound_total{"
TEMPLATE = {"name": "order_update", "language": "es", "parameters": ["Ana", "#1002"]}


async def last_wrote(cid: int, ago: timedelta) -> datetime:
    """Move the person's messages `ago` into the past; the new time, to the minute."""
    when = (datetime.now(UTC) - ago).replace(second=0, microsecond=0)
    await h.rows("UPDATE message SET received_at = ? WHERE contact_id = ?", when, cid)
    return when


async def outbound_metrics(api: Api) -> list[str]:
    text = await (await api.client.get("/metrics")).text()
    return sorted(
        line for line in text.splitlines() if line.startswith("contactgate_outbound_total{")
    )


async def test_whatsapp_template_outside_the_window(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "whatsapp", PHONE[1:], phone=PHONE)
    await last_wrote(cid, timedelta(days=3))
    reply = await api("POST", f"/contacts/{cid}/messages", json={"template": TEMPLATE})
    assert reply.status == 201, reply.body
    assert (reply.body["status"], reply.body["text"]) == (
        "sent",
        "[template order_update (es)] Ana | #1002",
    )
    [call] = providers.calls
    assert call.body["type"] == "template"
    assert call.body["template"] == {
        "name": "order_update",
        "language": {"code": "es"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#1002"}],
            }
        ],
    }
    meta = await h.scalar("SELECT meta FROM message WHERE direction = 'out'")
    assert '"template"' in str(meta) and '"order_update"' in str(meta)


@pytest.mark.parametrize(
    ("kind", "body", "detail"),
    [
        (
            "telegram",
            {"template": TEMPLATE},
            "templates are sent on WhatsApp Cloud API channels only, not on telegram; send a"
            " text instead",
        ),
        (
            "twilio_whatsapp",
            {"template": TEMPLATE},
            "templates are sent on WhatsApp Cloud API channels only, not on twilio_whatsapp;"
            " send a text instead",
        ),
        ("whatsapp", {"template": TEMPLATE, "text": "x"},
         "text is required (or, on WhatsApp, template instead of text; not both)"),
        ("whatsapp", {"template": {"name": "x"}}, "template.language is required"),
        ("whatsapp", {"template": {"name": "x", "language": "es", "parameters": [1]}},
         "template.parameters[0] must be a string"),
    ],
)  # fmt: skip
async def test_template_refusals(
    api: Api, providers: FakeProviders, kind: str, body: dict[str, Any], detail: str
) -> None:
    cid = await person(api, kind, PHONE if kind == "twilio_whatsapp" else PHONE[1:], phone=PHONE)
    reply = await api("POST", f"/contacts/{cid}/messages", json=body)
    assert (reply.status, reply.body) == (422, error("invalid", detail))
    assert providers.calls == []


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(hours=23), {"messaging_type": "RESPONSE"}),
        (timedelta(days=3), {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}),
        (timedelta(days=6, hours=23), {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}),
    ],
)
async def test_messenger_human_agent_within_7_days(
    api: Api, providers: FakeProviders, ago: timedelta, expected: dict[str, str]
) -> None:
    cid = await person(api, "messenger", PSID)
    await last_wrote(cid, ago)
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert reply.status == 201, reply.body
    [call] = providers.calls
    assert call.body == {"recipient": {"id": PSID}, "message": {"text": "Hola"}, **expected}


async def test_messenger_after_7_days_is_window_closed(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "messenger", PSID)
    old = await last_wrote(cid, timedelta(days=7, minutes=2))
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body) == (
        409,
        error(
            "window_closed",
            f"the person last wrote at {old.isoformat(timespec='minutes')} on messenger-acme-key"
            " (messenger); free-form replies are allowed only within 168 hours of their last"
            " message; a human agent may answer for 7 days (with the HUMAN_AGENT tag after 24"
            " hours)",
        ),
    )
    assert providers.calls == []


def failing_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database fails the completion of a send (the second write transaction of
    store.outbound), as a full disk would: after the provider accepted the message."""
    real = records.raw_transaction
    opened = 0

    @asynccontextmanager
    async def flaky() -> AsyncIterator[RawTx]:
        nonlocal opened
        opened += 1
        if opened == 2:
            raise sqlite3.OperationalError("database or disk is full")
        async with real() as tx:
            yield tx

    monkeypatch.setattr(records, "raw_transaction", flaky)


async def test_database_failure_after_the_provider_accepted_is_no_500(
    api: Api, providers: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await person(api, "telegram", "5551234")
    failing_completion(monkeypatch)
    reply = await api("POST", f"/contacts/{cid}/messages", role="agent", json={"text": "Hola"})
    assert (reply.status, stable(reply.body)["status"], reply.body["provider_message_id"]) == (
        202,
        "sending",
        None,
    )
    assert [c.route for c in providers.calls] == ["telegram"]  # it did go out
    [row] = await h.rows("SELECT provider_message_id, meta FROM message WHERE direction = 'out'")
    assert str(row["provider_message_id"]).startswith("sending:")
    assert '"sending"' in str(row["meta"])
    listed = await api("GET", f"/contacts/{cid}/messages")
    assert stable(listed.body["messages"][0]["status_history"]) == [
        {"status": "sending", "at": TIME, "error": None, "detail": None}
    ]
    assert await outbound_metrics(api) == [
        'contactgate_outbound_total{channel="telegram",outcome="not_recorded"} 1.0'
    ]


async def test_database_failure_after_a_refusal_is_no_500(
    api: Api, providers: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await person(api, "telegram", "5551234")
    blocked = "Forbidden: bot was blocked by the user"
    providers.answer("telegram", 403, {"ok": False, "error_code": 403, "description": blocked})
    failing_completion(monkeypatch)
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body) == (
        409,
        error(
            "recipient_unavailable",
            "Telegram refused the message: Forbidden: bot was blocked by the user (message #2"
            " stays sending: the outcome could not be stored)",
        ),
    )


async def test_outbound_counters(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "telegram", "5551234")
    path = f"/contacts/{cid}/messages"
    assert (await api("POST", path, json={"text": "uno"})).status == 201
    assert (await api("POST", path, json={"text": "dos"})).status == 201
    gone = "Forbidden: user is deactivated"
    providers.answer("telegram", 403, {"ok": False, "error_code": 403, "description": gone})
    assert (await api("POST", path, json={"text": "tres"})).status == 409
    providers.hang("telegram")
    assert (await api("POST", path, json={"text": "cuatro"})).status == 504
    assert await outbound_metrics(api) == [
        'contactgate_outbound_total{channel="telegram",outcome="failed"} 1.0',
        'contactgate_outbound_total{channel="telegram",outcome="sent"} 2.0',
        'contactgate_outbound_total{channel="telegram",outcome="unknown"} 1.0',
    ]
