"""Each provider's send against a local fake: the exact request, the result, what each provider
error, a timeout and an unreachable server become."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from gateway.outbound import PROVIDERS, meta
from gateway.outbound.base import OutboundConfig, Outgoing, SendError, Senders, Sent, Template
from gateway.settings import SettingsError, load_settings
from tests.fake_providers import (
    BIRD_CHANNEL,
    BIRD_KEY,
    BIRD_WORKSPACE,
    META_TOKEN,
    PHONE_NUMBER_ID,
    TG_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    VONAGE_KEY,
    VONAGE_SECRET,
    FakeProviders,
    graph_error,
)

SECRETS = {
    "telegram": {"secret_token": "s", "bot_token": TG_TOKEN},
    "whatsapp": {"access_token": META_TOKEN, "phone_number_id": PHONE_NUMBER_ID},
    "messenger": {"access_token": META_TOKEN},
    "instagram": {"access_token": META_TOKEN},
    "twilio_sms": {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                   "from_number": "+15005550006"},
    "twilio_whatsapp": {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                        "from_number": "whatsapp:+14155238886"},
    "vonage_sms": {"api_key": VONAGE_KEY, "api_secret": VONAGE_SECRET,
                   "from_number": "+15005550006"},
    "bird_sms": {"access_key": BIRD_KEY, "workspace_id": BIRD_WORKSPACE,
                 "channel_id": BIRD_CHANNEL},
}  # fmt: skip
PEOPLE = {
    "telegram": "5551234",
    "whatsapp": "593991234567",
    "messenger": "6783024061792428",
    "instagram": "17841405309211844",
    "twilio_sms": "+593991234567",
    "twilio_whatsapp": "+593991234567",
    "vonage_sms": "+593991234567",
    "bird_sms": "+593991234567",
}


def outgoing(kind: str, text: str = "Hola Ana", **changes: Any) -> Outgoing:
    """A message to the test person of `kind`."""
    values: dict[str, Any] = {
        "kind": kind,
        "channel_key": f"{kind}-key",
        "channel_name": "",
        "secrets": SECRETS[kind],
        "external_id": PEOPLE[kind],
        "scoped_id": None,
        "text": text,
    }
    return Outgoing(**(values | changes))


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders() as providers:
        yield providers


def config(url: str, timeout: float = 0.5) -> OutboundConfig:
    return OutboundConfig(
        url, url, f"{url}/ig", "v24.0", url, timeout, f"{url}/vonage", f"{url}/bird"
    )


@pytest.fixture
async def senders(fake: FakeProviders) -> AsyncIterator[Senders]:
    async with aiohttp.ClientSession() as session:
        yield Senders(config(fake.url), session)


async def send(senders: Senders, out: Outgoing) -> Sent:
    return await PROVIDERS[out.kind].send(senders, out)


async def refused(senders: Senders, out: Outgoing) -> SendError:
    with pytest.raises(SendError) as caught:
        await send(senders, out)
    return caught.value


def summary(exc: SendError) -> tuple[str, int, str, str, str | None]:
    return exc.code, exc.status, exc.outcome, exc.detail, exc.provider_code


# --- successes: the whole request each provider gets -------------------------------------------


async def test_telegram_send_message(fake: FakeProviders, senders: Senders) -> None:
    assert await send(senders, outgoing("telegram")) == Sent("5551234:1")
    [call] = fake.calls
    assert (call.route, call.path) == ("telegram", f"/bot{TG_TOKEN}/sendMessage")
    assert call.body == {"chat_id": 5551234, "text": "Hola Ana"}
    assert call.headers["Content-Type"] == "application/json"


async def test_whatsapp_text_to_a_phone(fake: FakeProviders, senders: Senders) -> None:
    assert await send(senders, outgoing("whatsapp")) == Sent("wamid.HBgLMTU1NTAx0001")
    [call] = fake.calls
    assert call.path == f"/v24.0/{PHONE_NUMBER_ID}/messages"
    assert call.headers["Authorization"] == f"Bearer {META_TOKEN}"
    assert call.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "593991234567",
        "type": "text",
        "text": {"preview_url": False, "body": "Hola Ana"},
    }


async def test_whatsapp_text_to_a_bsuid(fake: FakeProviders, senders: Senders) -> None:
    bsuid = "US.13491208655302741918"
    await send(senders, outgoing("whatsapp", external_id=bsuid, scoped_id=bsuid))
    assert fake.calls[0].body["recipient"] == bsuid
    assert "to" not in fake.calls[0].body


async def test_messenger_response(fake: FakeProviders, senders: Senders) -> None:
    assert await send(senders, outgoing("messenger")) == Sent("m_AG5Hz2Uq7tuwNEhXfYYKj80001")
    [call] = fake.calls
    assert (call.route, call.path) == ("messenger", "/v24.0/me/messages")
    assert call.headers["Authorization"] == f"Bearer {META_TOKEN}"
    assert call.body == {
        "recipient": {"id": "6783024061792428"},
        "message": {"text": "Hola Ana"},
        "messaging_type": "RESPONSE",
    }


NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, {"messaging_type": "RESPONSE"}),
        (NOON - timedelta(hours=24), {"messaging_type": "RESPONSE"}),
        (
            NOON - timedelta(hours=24, seconds=1),
            {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"},
        ),
        (NOON - timedelta(days=7), {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}),
    ],
)
def test_messenger_human_agent_tag_after_24_hours(
    last: datetime | None, expected: dict[str, str]
) -> None:
    assert meta.messaging_type(last, NOON) == expected


async def test_whatsapp_template(fake: FakeProviders, senders: Senders) -> None:
    template = Template("order_update", "es", ("Ana", "#1002"))
    sent = await send(senders, outgoing("whatsapp", text=template.summary(), template=template))
    assert sent == Sent("wamid.HBgLMTU1NTAx0001")
    assert fake.calls[0].body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "593991234567",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "es"},
            "components": [
                {"type": "body", "parameters": [
                    {"type": "text", "text": "Ana"}, {"type": "text", "text": "#1002"}
                ]}
            ],
        },
    }  # fmt: skip


async def test_whatsapp_template_without_parameters(fake: FakeProviders, senders: Senders) -> None:
    template = Template("hello_world", "en_US")
    await send(senders, outgoing("whatsapp", text=template.summary(), template=template))
    assert fake.calls[0].body["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


async def test_messenger_user_ref(fake: FakeProviders, senders: Senders) -> None:
    await send(senders, outgoing("messenger", external_id="user_ref:abc-123"))
    assert fake.calls[0].body["recipient"] == {"user_ref": "abc-123"}


async def test_instagram_uses_its_own_base_url(fake: FakeProviders, senders: Senders) -> None:
    await send(senders, outgoing("instagram"))
    [call] = fake.calls
    assert (call.route, call.path) == ("instagram", "/ig/v24.0/me/messages")
    assert call.body == {"recipient": {"id": "17841405309211844"}, "message": {"text": "Hola Ana"}}


async def test_twilio_sms(fake: FakeProviders, senders: Senders) -> None:
    sent = await send(senders, outgoing("twilio_sms"))
    assert sent == Sent(f"SM{1:032x}", {"provider_status": "queued"})
    [call] = fake.calls
    assert call.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.body == {"To": "+593991234567", "From": "+15005550006", "Body": "Hola Ana"}


async def test_twilio_whatsapp_prefixes_both_numbers(fake: FakeProviders, senders: Senders) -> None:
    await send(senders, outgoing("twilio_whatsapp"))
    assert fake.calls[0].body == {
        "To": "whatsapp:+593991234567",
        "From": "whatsapp:+14155238886",
        "Body": "Hola Ana",
    }


async def test_twilio_asks_for_status_callbacks_at_the_public_url(
    fake: FakeProviders, senders: Senders
) -> None:
    senders.config = replace(senders.config, public_url="https://gw.example.com")
    await send(senders, outgoing("twilio_sms"))
    callback = fake.calls[0].body["StatusCallback"]
    assert callback == "https://gw.example.com/webhooks/twilio_sms-key"


async def test_twilio_messaging_service(fake: FakeProviders, senders: Senders) -> None:
    secrets = {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
               "messaging_service_sid": "MG" + "0" * 32}  # fmt: skip
    await send(senders, outgoing("twilio_sms", secrets=secrets))
    assert fake.calls[0].body == {
        "To": "+593991234567",
        "MessagingServiceSid": "MG" + "0" * 32,
        "Body": "Hola Ana",
    }


async def test_vonage_sms(fake: FakeProviders, senders: Senders) -> None:
    assert await send(senders, outgoing("vonage_sms")) == Sent("0000000000000001")
    [call] = fake.calls
    assert (call.route, call.path) == ("vonage", "/vonage/sms/json")
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.body == {
        "api_key": VONAGE_KEY,
        "api_secret": VONAGE_SECRET,
        "from": "15005550006",
        "to": "593991234567",
        "text": "Hola Ana",
    }


async def test_vonage_unicode_and_parts(fake: FakeProviders, senders: Senders) -> None:
    parts = [{"to": "593991234567", "message-id": f"0A00000{n}", "status": "0"} for n in (1, 2)]
    fake.answer("vonage", 200, {"message-count": "2", "messages": parts})
    sent = await send(senders, outgoing("vonage_sms", text="¿Llegó? 👍"))
    assert sent == Sent("0A000001", {"parts": ["0A000001", "0A000002"]})
    assert fake.calls[0].body["type"] == "unicode"


async def test_bird_sms(fake: FakeProviders, senders: Senders) -> None:
    sent = await send(senders, outgoing("bird_sms"))
    assert sent == Sent("0b9d3f4e-1c2a-4b5d-8e6f-000000000001", {"provider_status": "accepted"})
    [call] = fake.calls
    assert (call.route, call.path) == (
        "bird", f"/bird/workspaces/{BIRD_WORKSPACE}/channels/{BIRD_CHANNEL}/messages"
    )  # fmt: skip
    assert call.headers["Authorization"] == f"AccessKey {BIRD_KEY}"
    assert call.body == {
        "receiver": {"contacts": [{"identifierValue": "+593991234567"}]},
        "body": {"type": "text", "text": {"text": "Hola Ana"}},
    }


# --- provider errors --------------------------------------------------------------------------

BLOCKED = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
FLOOD = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 34",
         "parameters": {"retry_after": 34}}  # fmt: skip
NO_CHAT = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
REENGAGE = graph_error(
    131047,
    "(#131047) Re-engagement message",
    error_data={
        "messaging_product": "whatsapp",
        "details": "Message failed to send because more than 24 hours have passed since the"
        " customer last replied to this number.",
    },
)
WINDOW_FB = graph_error(10, "(#10) This message is sent outside of allowed window.", 2018278)
WINDOW_IG = graph_error(10, "This message is sent outside of allowed window.", 2534022)
UNAVAILABLE_FB = graph_error(551, "This person isn't available right now.", 1545041)
NO_USER_FB = graph_error(100, "(#100) No matching user found", 2018001)
THROTTLED = graph_error(130429, "(#130429) Rate limit hit")
UNDELIVERABLE = graph_error(131026, "(#131026) Message undeliverable")


def twilio_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}  # fmt: skip


ERRORS = [
    ("telegram", 403, BLOCKED, {}, ("recipient_unavailable", 409, "failed",
     "Telegram refused the message: Forbidden: bot was blocked by the user", "403")),
    ("telegram", 429, FLOOD, {}, ("rate_limited", 429, "failed",
     "Telegram refused the message: Too Many Requests: retry after 34", "429")),
    ("telegram", 400, NO_CHAT, {}, ("invalid_recipient", 422, "failed",
     "Telegram refused the message: Bad Request: chat not found", "400")),
    ("whatsapp", 400, {"error": REENGAGE}, {}, ("window_closed", 409, "failed",
     "WhatsApp refused the message: more than 24 hours have passed since the customer last"
     ' wrote (code 131047); send an approved template instead: {"template": {"name",'
     ' "language", "parameters"}}', "131047")),
    ("whatsapp", 400, {"error": UNDELIVERABLE}, {}, ("invalid_recipient", 422, "failed",
     "WhatsApp refused the message: (#131026) Message undeliverable (code 131026)", "131026")),
    ("whatsapp", 400, {"error": THROTTLED}, {"Retry-After": "60"}, ("rate_limited", 429,
     "failed", "WhatsApp refused the message: (#130429) Rate limit hit (code 130429)",
     "130429")),
    ("messenger", 400, {"error": WINDOW_FB}, {}, ("window_closed", 409, "failed",
     "Messenger refused the message: it is outside the window since the person last"
     " wrote (code 10/2018278)", "10/2018278")),
    ("messenger", 400, {"error": UNAVAILABLE_FB}, {}, ("recipient_unavailable", 409, "failed",
     "Messenger refused the message: This person isn't available right now. (code"
     " 551/1545041)", "551/1545041")),
    ("messenger", 400, {"error": NO_USER_FB}, {}, ("invalid_recipient", 422, "failed",
     "Messenger refused the message: (#100) No matching user found (code 100/2018001)",
     "100/2018001")),
    ("instagram", 403, {"error": WINDOW_IG}, {}, ("window_closed", 409, "failed",
     "Instagram refused the message: it is outside the window since the person last"
     " wrote (code 10/2534022)", "10/2534022")),
    ("twilio_sms", 400, twilio_error(21610, "Attempt to send to unsubscribed recipient"), {},
     ("recipient_unavailable", 409, "failed", "Twilio refused the message: Attempt to send to"
      " unsubscribed recipient (code 21610)", "21610")),
    ("twilio_sms", 400, twilio_error(21211, "Invalid 'To' Phone Number: +59399123XXXX"), {},
     ("invalid_recipient", 422, "failed", "Twilio refused the message: Invalid 'To' Phone"
      " Number: +59399123XXXX (code 21211)", "21211")),
    ("twilio_sms", 429, twilio_error(20429, "Too Many Requests", 429), {"Retry-After": "5"},
     ("rate_limited", 429, "failed", "Twilio refused the message: Too Many Requests"
      " (code 20429)", "20429")),
    ("vonage_sms", 200, {"message-count": "1", "messages": [{"status": "4",
     "error-text": "Bad Credentials"}]}, {}, ("provider_auth", 502, "failed",
     "Vonage refused the channel's api_key/api_secret: Bad Credentials", "4")),
    ("vonage_sms", 200, {"message-count": "1", "messages": [{"status": "1",
     "error-text": "Throughput Rate Exceeded"}]}, {}, ("rate_limited", 429, "failed",
     "Vonage refused the message: Throughput Rate Exceeded (status 1)", "1")),
    ("vonage_sms", 200, {"message-count": "1", "messages": [{"status": "3",
     "error-text": "Invalid to param"}]}, {}, ("invalid_recipient", 422, "failed",
     "Vonage refused the message: Invalid to param (status 3)", "3")),
    ("bird_sms", 401, {"code": "Unauthorized", "message": "Access key is invalid"}, {},
     ("provider_auth", 502, "failed", "Bird refused the channel's access_key (Unauthorized)",
      "Unauthorized")),
    ("bird_sms", 422, {"code": "InvalidPayload", "message": "receiver is not a valid number"},
     {}, ("invalid_recipient", 422, "failed", "Bird refused the message: receiver is not a"
     " valid number (InvalidPayload)", "InvalidPayload")),
    ("bird_sms", 429, {"code": "TooManyRequests", "message": "Rate limit"}, {"Retry-After": "3"},
     ("rate_limited", 429, "failed", "Bird refused the message: Rate limit (TooManyRequests)",
      "TooManyRequests")),
    ("twilio_whatsapp", 400, twilio_error(63016, "Failed to send freeform message because you"
     " are outside the allowed window."), {}, ("window_closed", 409, "failed", "Twilio refused"
     " the message: Failed to send freeform message because you are outside the allowed"
     " window. (code 63016)", "63016")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "status", "body", "headers", "expected"),
    [pytest.param(*case, id=f"{case[0]}-{case[4][0]}-{case[4][4]}") for case in ERRORS],
)
async def test_provider_errors_are_named(
    fake: FakeProviders,
    senders: Senders,
    kind: str,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    expected: tuple[str, int, str, str, str],
) -> None:
    routes = {"twilio_sms": "twilio", "twilio_whatsapp": "twilio", "vonage_sms": "vonage",
              "bird_sms": "bird"}  # fmt: skip
    route = routes.get(kind, kind)
    fake.answer(route, status, body, **headers)
    assert summary(await refused(senders, outgoing(kind))) == expected


async def test_retry_after_is_kept(fake: FakeProviders, senders: Senders) -> None:
    fake.answer("telegram", 429, FLOOD)
    assert (await refused(senders, outgoing("telegram"))).retry_after == 34
    fake.answer(
        "twilio", 429, twilio_error(20429, "Too Many Requests", 429), **{"Retry-After": "5"}
    )
    assert (await refused(senders, outgoing("twilio_sms"))).retry_after == 5


AUTH = [
    ("telegram", {"bot_token": "110201543:wrong"}, "Telegram refused the channel's bot_token"
     " (Unauthorized)", "401"),
    ("whatsapp", {"access_token": "expired", "phone_number_id": PHONE_NUMBER_ID},
     "WhatsApp refused the channel's access_token: Invalid OAuth access token - Cannot parse"
     " access token (code 190)", "190"),
    ("messenger", {"access_token": "expired"}, "Messenger refused the channel's access_token:"
     " Invalid OAuth access token - Cannot parse access token (code 190)", "190"),
    ("twilio_sms", {"account_sid": TWILIO_SID, "auth_token": "wrong", "from_number": "+1500"},
     "Twilio refused the channel's account_sid/auth_token: Authenticate", "20003"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "secrets", "detail", "code"), AUTH, ids=[a[0] for a in AUTH])
async def test_our_credentials_refused(
    senders: Senders, kind: str, secrets: dict[str, str], detail: str, code: str
) -> None:
    exc = await refused(senders, outgoing(kind, secrets=secrets))
    assert summary(exc) == ("provider_auth", 502, "failed", detail, code)
    assert not any(secret in exc.detail for secret in secrets.values() if len(secret) > 6)


async def test_unreadable_error_body(fake: FakeProviders, senders: Senders) -> None:
    fake.answer("whatsapp", 500, "oops")
    assert summary(await refused(senders, outgoing("whatsapp"))) == (
        "provider_error", 502, "failed", "WhatsApp refused the message: HTTP 500", "500"
    )  # fmt: skip


async def test_success_status_without_an_id(fake: FakeProviders, senders: Senders) -> None:
    fake.answer("messenger", 200, {"recipient_id": "1"})
    assert summary(await refused(senders, outgoing("messenger"))) == (
        "provider_error", 502, "failed", "Messenger answered HTTP 200 without a result", None
    )  # fmt: skip


# --- timeouts and unreachable servers ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["telegram", "whatsapp", "messenger", "twilio_sms"])
async def test_timeout_is_unknown_outcome(fake: FakeProviders, senders: Senders, kind: str) -> None:
    fake.hang({"twilio_sms": "twilio"}.get(kind, kind))
    exc = await refused(senders, outgoing(kind))
    assert (exc.code, exc.status, exc.outcome) == ("provider_timeout", 504, "unknown")
    assert exc.detail.endswith("did not answer within 0.5 s; the message may or may not have"
                               " been delivered")  # fmt: skip
    assert "127.0.0.1" in exc.detail and TG_TOKEN not in exc.detail


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_provider() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with aiohttp.ClientSession() as session:
        exc = await refused(Senders(config(url), session), outgoing("telegram"))
    assert (exc.code, exc.status, exc.outcome) == ("provider_unreachable", 502, "failed")
    assert exc.detail.startswith(f"cannot reach Telegram ({url.removeprefix('http://')}): ")
    assert TG_TOKEN not in exc.detail


# --- configuration -------------------------------------------------------------------------------


def test_base_urls_and_timeout_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTGATE_TWILIO_API_URL", "http://127.0.0.1:8082/")
    settings = load_settings(
        database_url="sqlite://:memory:",
        telegram_api_url="http://127.0.0.1:8081/",
        meta_graph_version="v25.0",
        outbound_timeout_seconds=3,
    )
    assert OutboundConfig.from_settings(settings) == OutboundConfig(
        telegram_url="http://127.0.0.1:8081",
        graph_url="https://graph.facebook.com",
        instagram_url="https://graph.facebook.com",
        graph_version="v25.0",
        twilio_url="http://127.0.0.1:8082",
        timeout=3.0,
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"meta_graph_url": "graph.facebook.com"},
            "meta_graph_url: Value error, must start with http:// or https://",
        ),
        ({"meta_graph_version": "24"}, "meta_graph_version: String should match pattern"),
        (
            {"outbound_timeout_seconds": 0},
            "outbound_timeout_seconds: Input should be greater than 0",
        ),
    ],
)
def test_bad_outbound_settings_are_named(override: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(database_url="sqlite://:memory:", **override)
    assert message in str(caught.value)
