"""POST /contacts/{ref}/messages: outbound messages end to end, against the local provider fakes
(the stored row, the contact's activity, the audit line), the channel choice, validation, and
what provider refusals and timeouts become."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from tests import helpers as h
from tests.fake_providers import FakeProviders
from tests.fake_smtp import FakeSmtp
from tests.gateway.api.people import SEND_SECRETS, person
from tests.gateway.api.support import TIME, Api, audit_rows, error, stable

PHONE = "+593991234567"
ANA = "ana@example.org"
PARENT = "q1@mail.example.org"


def sent(mid: int, cid: int, kind: str, key: str, provider_id: str, text: str) -> Any:
    """The expected JSON of a message the agent token sent."""
    return {
        "id": mid,
        "contact_id": cid,
        "channel_key": key,
        "channel_kind": kind,
        "direction": "out",
        "type": "text",
        "text": text,
        "media": None,
        "status": "sent",
        "provider_message_id": provider_id,
        "error": None,
        "detail": None,
        "sent_by": "token:agent-bot",
        "sent_at": TIME,
        "received_at": TIME,
        "content": {"type": "text", "text": text},
        "reply_to": None,
        "edited_at": None,
        "history": [],
        "status_history": [step("sending"), step("sent")],
    }


def step(status: str, error: str | None = None, detail: str | None = None) -> dict[str, Any]:
    """One entry of a message's status_history (times made stable)."""
    return {"status": status, "at": TIME, "error": error, "detail": detail}


async def outbound_rows() -> list[dict[str, Any]]:
    """Outbound message rows, oldest first, JSON decoded."""
    rows = await h.rows(
        "SELECT id, contact_id, identity_id, direction, provider_message_id, type, text, media,"
        " meta FROM message WHERE direction = 'out' ORDER BY id"
    )
    for row in rows:
        if isinstance(row["meta"], str | bytes):
            row["meta"] = orjson.loads(row["meta"])
    return rows


async def activity(cid: int) -> Any:
    return await h.scalar("SELECT last_activity_at FROM contact WHERE id = ?", cid)


async def test_send_on_telegram(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "telegram", "5551234", display_name="Ana")
    before = await activity(cid)
    reply = await api("POST", f"/contacts/{cid}/messages", role="agent", json={"text": "Hola Ana"})
    assert (reply.status, stable(reply.body)) == (
        201,
        sent(2, cid, "telegram", "telegram-acme-key", "5551234:1", "Hola Ana"),
    )
    assert [(c.route, c.body) for c in providers.calls] == [
        ("telegram", {"chat_id": 5551234, "text": "Hola Ana"})
    ]
    identity = await h.scalar("SELECT id FROM identity WHERE contact_id = ?", cid)
    assert await outbound_rows() == [
        {
            "id": 2,
            "contact_id": cid,
            "identity_id": identity,
            "direction": "out",
            "provider_message_id": "5551234:1",
            "type": "text",
            "text": "Hola Ana",
            "media": None,
            "meta": {"status": "sent", "by": "token:agent-bot", "surface": "api"},
        }
    ]
    assert str(await activity(cid)) > str(before)
    assert (await audit_rows())[-1] == (
        "token:agent-bot",
        "message.send",
        f"#{cid}",
        {"channel": "telegram-acme-key", "kind": "telegram", "message": 2, "status": "sent",
         "error": None},
    )  # fmt: skip


async def test_default_is_the_last_channel_and_channel_chooses(
    api: Api, providers: FakeProviders
) -> None:
    # WhatsApp and SMS both vouch for the phone: one contact with two identities.
    cid = await person(api, "whatsapp", PHONE[1:], phone=PHONE)
    assert await person(api, "twilio_sms", PHONE, phone=PHONE) == cid
    path = f"/contacts/phone:{PHONE}/messages"
    last = await api("POST", path, json={"text": "por SMS"})
    wa = await api("POST", path, json={"text": "por WhatsApp", "channel": "whatsapp"})
    by_key = await api("POST", path, json={"text": "x", "channel": "twilio_sms-acme-key"})
    assert [r.status for r in (last, wa, by_key)] == [201, 201, 201]
    assert [r.body["channel_kind"] for r in (last, wa, by_key)] == [
        "twilio_sms", "whatsapp", "twilio_sms"
    ]  # fmt: skip
    assert [c.route for c in providers.calls] == ["twilio", "whatsapp", "twilio"]
    assert providers.calls[1].body["to"] == PHONE[1:]
    unknown = await api("POST", path, json={"text": "x", "channel": "telegram"})
    assert (unknown.status, unknown.body) == (
        422,
        error(
            "invalid",
            f"contact #{cid} has no identity on channel 'telegram'; it has twilio_sms (key"
            " twilio_sms-acme-key), whatsapp (key whatsapp-acme-key)",
        ),
    )


async def test_contact_without_identity(api: Api, providers: FakeProviders) -> None:
    cid = (await api.create(name="Hand Made", email="hand@example.com"))["id"]
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body) == (
        409,
        error(
            "conflict",
            f"contact #{cid} has no channel to send on: it has never written on a channel"
            " (contacts added by hand, import or the API have no identity)",
        ),
    )
    assert providers.calls == []


@pytest.mark.parametrize(
    ("kind", "body", "detail"),
    [
        ("telegram", {}, "text is required (or, on WhatsApp, template instead of text; not both)"),
        ("telegram", {"text": 5}, "text must be a string"),
        (
            "telegram",
            {"text": " \n "},
            "text: the message: not blank, at most the provider's limit",
        ),
        (
            "telegram",
            {"text": "x", "to": "y"},
            "unknown field(s): to; expected text, template, channel, subject",
        ),
        (
            "telegram",
            {"text": "😀" * 2049},
            "text is 4098 UTF-16 code units long; telegram takes at most 4096",
        ),
        (
            "messenger",
            {"text": "a" * 2001},
            "text is 2001 characters long; messenger takes at most 2000",
        ),
        ("instagram", {"text": "ñ" * 501}, "text is 1002 bytes long; instagram takes at most 1000"),
        (
            "twilio_sms",
            {"text": "a" * 1601},
            "text is 1601 characters long; twilio_sms takes at most 1600",
        ),
        (
            "webchat",
            {"text": "a" * 5001},
            "text is 5001 characters long; webchat takes at most 5000",
        ),
    ],
)
async def test_invalid_requests_send_nothing(
    api: Api, providers: FakeProviders, kind: str, body: dict[str, Any], detail: str
) -> None:
    cid = await person(api, kind, "5551234" if kind != "twilio_sms" else PHONE)
    reply = await api("POST", f"/contacts/{cid}/messages", json=body)
    assert (reply.status, reply.body) == (422, error("invalid", detail))
    assert providers.calls == []
    assert await outbound_rows() == []


async def test_limit_is_just_fine_at_the_edge(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "messenger", "6783024061792428")
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "a" * 2000})
    assert reply.status == 201, reply.body


async def test_channel_without_send_secrets(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "telegram", "5551234", secrets={"secret_token": "only-inbound"})
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body) == (
        409,
        error(
            "conflict",
            "channel telegram-acme-key (telegram) cannot send: its secrets lack bot_token (set"
            " them with `contactgate channel add` or in the config file)",
        ),
    )
    assert (providers.calls, await outbound_rows()) == ([], [])


async def test_outside_the_window_nothing_is_tried(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "whatsapp", PHONE[1:], phone=PHONE)
    old = (datetime.now(UTC) - timedelta(hours=24, minutes=2)).replace(second=0, microsecond=0)
    await h.rows("UPDATE message SET received_at = ? WHERE contact_id = ?", old, cid)
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body) == (
        409,
        error(
            "window_closed",
            f"the person last wrote at {old.isoformat(timespec='minutes')} on whatsapp-acme-key"
            " (whatsapp);"
            " free-form replies are allowed only within 24 hours of their last message; send an"
            ' approved template instead: {"template": {"name", "language", "parameters"}}',
        ),
    )
    assert (providers.calls, await outbound_rows()) == ([], [])


async def test_refused_send_is_recorded_as_failed(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "telegram", "5551234")
    before = await activity(cid)
    blocked = {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }
    providers.answer("telegram", 403, blocked)
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    detail = "Telegram refused the message: Forbidden: bot was blocked by the user"
    assert (reply.status, reply.body) == (
        409,
        error("recipient_unavailable", f"{detail} (recorded as failed message #2)"),
    )
    [row] = await outbound_rows()
    assert row["provider_message_id"].startswith("failed:")
    assert row["meta"] == {
        "status": "failed",
        "by": "token:owner-bot",
        "surface": "api",
        "error": "recipient_unavailable",
        "detail": detail,
    }
    assert await activity(cid) == before
    assert (await audit_rows())[-1][1:] == (
        "message.send",
        f"#{cid}",
        {"channel": "telegram-acme-key", "kind": "telegram", "message": 2, "status": "failed",
         "error": "recipient_unavailable"},
    )  # fmt: skip


async def test_timeout_is_recorded_as_unknown(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "messenger", "6783024061792428")
    providers.hang("messenger")
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    host = providers.url.removeprefix("http://")
    assert (reply.status, reply.body) == (
        504,
        error(
            "provider_timeout",
            f"Messenger ({host}) did not answer within 0.5 s; the message may or may not have"
            " been delivered (recorded as unknown message #2)",
        ),
    )
    assert [r["meta"]["status"] for r in await outbound_rows()] == ["unknown"]


async def test_rate_limit_passes_retry_after_on(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "telegram", "5551234")
    flood = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
             "parameters": {"retry_after": 7}}  # fmt: skip
    providers.answer("telegram", 429, flood)
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body["error"], reply.headers["Retry-After"]) == (
        429, "rate_limited", "7"
    )  # fmt: skip


async def test_wrong_credentials_are_a_bad_gateway(api: Api, providers: FakeProviders) -> None:
    secrets = {**SEND_SECRETS["whatsapp"], "access_token": "expired-token"}
    cid = await person(api, "whatsapp", PHONE[1:], secrets=secrets)
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body) == (
        502,
        error(
            "provider_auth",
            "WhatsApp refused the channel's access_token: Invalid OAuth access token - Cannot"
            " parse access token (code 190) (recorded as failed message #2)",
        ),
    )


@pytest.mark.parametrize(
    ("kind", "route", "provider_id"),
    [
        ("vonage_sms", "vonage", "0000000000000001"),
        ("bird_sms", "bird", "0b9d3f4e-1c2a-4b5d-8e6f-000000000001"),
    ],
)
async def test_send_sms_on_vonage_and_bird(
    api: Api, providers: FakeProviders, kind: str, route: str, provider_id: str
) -> None:
    cid = await person(api, kind, PHONE, phone=PHONE)
    reply = await api("POST", f"/contacts/{cid}/messages", role="agent", json={"text": "Hola"})
    assert (reply.status, stable(reply.body)) == (
        201,
        sent(2, cid, kind, f"{kind}-acme-key", provider_id, "Hola"),
    )
    assert [c.route for c in providers.calls] == [route]


async def test_email_reply_through_smtp(api: Api) -> None:
    async with FakeSmtp() as smtp:
        secrets = {**SEND_SECRETS["email"], **smtp.secrets()}
        meta = {"subject": "Pedido 881"}
        cid = await person(
            api, "email", ANA, secrets=secrets, email=ANA, provider_message_id=PARENT, meta=meta
        )
        path = f"/contacts/email:{ANA}/messages"
        reply = await api("POST", path, role="agent", json={"text": "Salió hoy."})
    assert reply.status == 201, reply.body
    [(_sender, rcpt, mail)] = smtp.mails
    assert (rcpt, mail["Subject"], mail["In-Reply-To"]) == (
        ["ana@example.org"], "Re: Pedido 881", "<q1@mail.example.org>"
    )  # fmt: skip
    mail_id = str(mail["Message-ID"]).strip("<>")
    content = {"type": "email", "subject": "Re: Pedido 881", "text": "Salió hoy.", "to": None,
               "in_reply_to": None, "references": [], "media": []}  # fmt: skip
    assert stable(reply.body) == {
        **sent(2, cid, "email", "email-acme-key", mail_id, "Salió hoy."),
        "content": content,
    }
    [row] = await outbound_rows()
    assert row["meta"] == {"status": "sent", "by": "token:agent-bot", "surface": "api",
                           "subject": "Re: Pedido 881"}  # fmt: skip


async def test_conversation_lists_failed_sends_too(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "telegram", "5551234", provider_message_id="9001")
    path = f"/contacts/{cid}/messages"
    assert (await api("POST", path, role="agent", json={"text": "Hola"})).status == 201
    gone = {"ok": False, "error_code": 403, "description": "Forbidden: user is deactivated"}
    providers.answer("telegram", 403, gone)
    assert (await api("POST", path, role="agent", json={"text": "¿Sigue ahí?"})).status == 409
    first = await api("GET", path, role="agent", params={"limit": "2"})
    assert (first.status, stable(first.body)) == (
        200,
        {
            "messages": [
                {
                    **sent(3, cid, "telegram", "telegram-acme-key", "", "¿Sigue ahí?"),
                    "status": "failed",
                    "provider_message_id": None,
                    "error": "recipient_unavailable",
                    "detail": "Telegram refused the message: Forbidden: user is deactivated",
                    "status_history": [
                        step("sending"),
                        step(
                            "failed",
                            "recipient_unavailable",
                            "Telegram refused the message: Forbidden: user is deactivated",
                        ),
                    ],
                },
                sent(2, cid, "telegram", "telegram-acme-key", "5551234:1", "Hola"),
            ],
            "next_cursor": "2",
        },
    )
    rest = await api("GET", path, params={"cursor": "2"})
    assert stable(rest.body) == {
        "messages": [
            {
                **sent(1, cid, "telegram", "telegram-acme-key", "9001", "hola"),
                "direction": "in",
                "status": None,
                "sent_by": None,
                "status_history": [],
            }
        ],
        "next_cursor": None,
    }
    bad = await api("GET", path, params={"cursor": "x"})
    assert (bad.status, bad.body) == (
        404,
        error("not_found", "no such page: the cursor is not one this server gave out"),
    )


async def test_disabled_channel_is_refused(api: Api, providers: FakeProviders) -> None:
    cid = await person(api, "telegram", "5551234")
    await h.rows("UPDATE channel SET active = ? WHERE key = ?", False, "telegram-acme-key")
    reply = await api("POST", f"/contacts/{cid}/messages", json={"text": "Hola"})
    assert (reply.status, reply.body) == (
        409,
        error("conflict", "channel telegram-acme-key is disabled; send on another channel"),
    )
    assert (providers.calls, await outbound_rows()) == ([], [])
