"""No secret in any log: the redaction processor, third-party loggers as JSON lines, and a gateway
with every secret configured driven through every surface while its whole log is captured."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from aiohttp.test_utils import TestClient

from bots import slack as slack_bot
from gateway import logs
from gateway.app import create_app
from gateway.provision import known_kinds
from gateway.settings import Settings, load_settings
from store import channels, db
from tests import helpers as h
from tests.bots import updates as u
from tests.bots.fake_slack import BOT_TOKEN, SIGNING_SECRET, TEAM, FakeSlack
from tests.bots.fake_telegram import TOKEN as ADMIN_BOT_TOKEN
from tests.bots.fake_telegram import FakeTelegram
from tests.bots.slack_support import USER as SLACK_USER
from tests.bots.slack_support import command_body, slack_headers
from tests.conftest import OFFLINE
from tests.fake_providers import META_TOKEN, PHONE_NUMBER_ID, TG_TOKEN, FakeProviders, graph_error
from tests.fake_smtp import PASSWORD as SMTP_PASSWORD
from tests.fake_smtp import FakeSmtp
from tests.signing import load_fixture, meta_signature, telegram_headers

API_TOKEN = "cg_" + "apiTokenValue0123456789abcdefXYZ"
TG_SECRET = "tg-channel-secret-7Q2w"
WA_APP_SECRET = "wa-app-secret-5b1c9e"
WA_VERIFY = "wa-verify-token-31d7"
MAIL_RELAY = "relay:mail-relay-pass-42"
MAILGUN_KEY = "key-mailgun-signing-0042"
ACTION_SECRET = "bot-action-secret-0099"
WA_PHONE = "593991234567"


# --- the redactor --------------------------------------------------------------------------------


def test_redactor_removes_configured_values_and_token_shapes() -> None:
    redact = logs.Redactor(["configured-secret-1", "short"])
    text = (
        "a configured-secret-1 b | Authorization: Bearer abc.def-123 | basic dXNlcjpwYXNz |"
        f" {API_TOKEN} | POST https://api.telegram.org/bot{TG_TOKEN}/sendMessage |"
        f" {BOT_TOKEN} | postgres://cg:pg-pass@db:5432/cg | short stays"
        " | whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/w+b=="
    )
    assert redact.text(text) == (
        "a [redacted] b | Authorization: [redacted] | [redacted] | [redacted] |"
        " POST https://api.telegram.org/bot[redacted]/sendMessage | [redacted] |"
        " postgres://cg:[redacted]@db:5432/cg | short stays | [redacted]"
    )


def test_redactor_walks_nested_values_and_bytes() -> None:
    event = {"event": "x", "n": 3, "ctx": {"hdr": [b"Bearer zzz999", ("ok", "cg_" + "q" * 20)]}}
    assert logs.Redactor()(None, "info", event) == {
        "event": "x",
        "n": 3,
        "ctx": {"hdr": ["[redacted]", ["ok", "[redacted]"]]},
    }


def test_secrets_of_settings_lists_every_configured_secret() -> None:
    s = {"secret_token": "v1", "bot_token": "v2", "smtp_password": "v3", "smtp_host": "host"}
    settings = load_settings(
        database_url="postgres://cg:pg-pass-77@db:5432/cg",
        channels=[{"workspace": "acme", "kind": "telegram", "key": "k", "secrets": s}],
        tokens=[{"workspace": "acme", "name": "t", "role": "agent", "token": API_TOKEN}],
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        telegram_admin_bot_token=ADMIN_BOT_TOKEN,
        telegram_admin_webhook_secret=u.SECRET,
        bot_action_secret=ACTION_SECRET,
    )
    assert logs.secrets_of(settings) == [
        "v1",
        "v2",
        "v3",
        API_TOKEN,
        BOT_TOKEN,
        SIGNING_SECRET,
        ADMIN_BOT_TOKEN,
        u.SECRET,
        ACTION_SECRET,
        "pg-pass-77",
    ]


# --- capturing the log as `serve` writes it ------------------------------------------------------


class Captured:
    """The log stream: text written by structlog (bytes) and by stdlib handlers (text)."""

    def __init__(self) -> None:
        self.raw = io.BytesIO()
        self.stream = io.TextIOWrapper(self.raw, encoding="utf-8", write_through=True)

    def text(self) -> str:
        return self.raw.getvalue().decode()

    def events(self) -> list[dict[str, Any]]:
        """Every line as JSON (a line that is not one JSON object fails the test)."""
        return [orjson.loads(line) for line in self.text().splitlines()]


def _restore_logging() -> None:
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [x for x in root.handlers if x.get_name() == logs.HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(False)


@pytest.fixture
def captured() -> Iterator[Captured]:
    into = Captured()
    yield into
    _restore_logging()


def test_stdlib_records_of_any_library_are_json_lines_with_the_exception_as_a_field(
    captured: Captured,
) -> None:
    logs.configure("INFO", "json", captured.stream, [WA_APP_SECRET], cache=False)
    try:
        raise ValueError(f"bad\nvalue {WA_APP_SECRET}")
    except ValueError:
        logging.getLogger("telegram.ext").exception("update failed for %s", "bot" + TG_TOKEN)
    logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getMe", TG_TOKEN)
    logging.getLogger("fontTools.subset").info("Glyph names: ...")
    structlog.get_logger("contactgate.test").info("done", token=API_TOKEN)
    [failed, done] = captured.events()
    assert failed.pop("timestamp") and done.pop("timestamp")
    exception = failed.pop("exception")
    assert exception.startswith("Traceback") and exception.endswith(
        "ValueError: bad\nvalue [redacted]"
    )
    assert failed == {
        "event": "update failed for bot[redacted]",
        "level": "error",
        "logger": "telegram.ext",
    }
    assert done == {"event": "done", "token": "[redacted]", "level": "info"}


# --- the whole gateway ---------------------------------------------------------------------------


def _settings(db_url: str, tmp: Path, fakes: dict[str, Any], level: str) -> Settings:
    smtp: FakeSmtp = fakes["smtp"]
    channels = [
        ("telegram", "tg-acme-key1", {"secret_token": TG_SECRET, "bot_token": TG_TOKEN}),
        (
            "whatsapp",
            "wa-acme-key1",
            {
                "app_secret": WA_APP_SECRET,
                "verify_token": WA_VERIFY,
                "access_token": META_TOKEN,
                "phone_number_id": PHONE_NUMBER_ID,
            },
        ),
        (
            "email",
            "mail-acme-key1",
            {"signing_key": MAILGUN_KEY, "basic_auth": MAIL_RELAY, **smtp.secrets()},
        ),
    ]
    return load_settings(
        database_url=db_url,
        channel_cache_seconds=0,
        log_level=level,
        reset_export_dir=tmp / "reset-exports",
        **OFFLINE
        | {"meta_graph_url": fakes["providers"].url, "telegram_api_url": fakes["telegram"].url},
        slack_api_url=fakes["slack"].api_url,
        workspaces=[{"slug": "acme"}],
        channels=[
            {"workspace": "acme", "kind": k, "key": key, "secrets": s} for k, key, s in channels
        ],
        tokens=[{"workspace": "acme", "name": "crm", "role": "owner", "token": API_TOKEN}],
        admins=[
            {"workspace": "acme", "platform": "telegram", "user": "100", "role": "owner"},
            {
                "workspace": "acme",
                "platform": "slack",
                "user": f"{TEAM}:{SLACK_USER}",
                "role": "owner",
            },
        ],
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        telegram_admin_bot_token=ADMIN_BOT_TOKEN,
        telegram_admin_webhook_secret=u.SECRET,
        bot_action_secret=ACTION_SECRET,
    )


@pytest.fixture
async def fakes() -> AsyncIterator[dict[str, Any]]:
    async with (
        FakeProviders() as providers,
        FakeTelegram() as telegram,
        FakeSlack() as slack,
        FakeSmtp() as smtp,
    ):
        yield {"providers": providers, "telegram": telegram, "slack": slack, "smtp": smtp}


ALL_SECRETS = [
    API_TOKEN,
    TG_SECRET,
    TG_TOKEN,
    WA_APP_SECRET,
    WA_VERIFY,
    META_TOKEN,
    MAIL_RELAY,
    MAIL_RELAY.split(":")[1],
    base64.b64encode(MAIL_RELAY.encode()).decode(),
    MAILGUN_KEY,
    SMTP_PASSWORD,
    BOT_TOKEN,
    SIGNING_SECRET,
    ADMIN_BOT_TOKEN,
    u.SECRET,
    ACTION_SECRET,
]


async def _malformed(client: TestClient) -> bytes:
    """A request with bare-LF line endings carrying the API token and the bot's secret."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    head = f"Authorization: Bearer {API_TOKEN}\nX-Telegram-Bot-Api-Secret-Token: {u.SECRET}\n"
    body = f'{{"secret": "{WA_APP_SECRET}"}}'
    writer.write(
        f"POST /api/v1/contacts HTTP/1.1\nHost: gw\n{head}Content-Length: {len(body)}\n\n{body}"
        .encode()
    )  # fmt: skip
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer.split(b"\r\n", 1)[0]


def _basic(credentials: str) -> dict[str, str]:
    auth = base64.b64encode(credentials.encode()).decode()
    return {"Content-Type": "message/rfc822", "Authorization": f"Basic {auth}"}


def _handshake(verify_token: str) -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": "7"}


async def _webhooks(client: TestClient) -> list[int]:
    """Good and badly signed webhooks on three channels; the statuses."""
    wa, raw = h.whatsapp_text(WA_PHONE), load_fixture("email", "raw__plain")
    tg, whatsapp, mail = (
        "/webhooks/tg-acme-key1",
        "/webhooks/wa-acme-key1",
        "/webhooks/mail-acme-key1",
    )
    signed, forged = (
        {"X-Hub-Signature-256": meta_signature(key, wa)} for key in (WA_APP_SECRET, "forged-key")
    )
    calls = [
        client.post(tg, data=h.telegram_update(42), headers=telegram_headers(TG_SECRET)),
        client.post(tg, data=h.telegram_update(43), headers=telegram_headers("wrong-secret")),
        client.post(whatsapp, data=wa, headers=signed),
        client.post(whatsapp, data=wa, headers=forged),
        client.get(whatsapp, params=_handshake(WA_VERIFY)),
        client.get(whatsapp, params=_handshake("wrong-verify-token")),
        client.post(mail, data=raw, headers=_basic(MAIL_RELAY)),
        client.post(mail, data=raw, headers=_basic("relay:nope-nope")),
    ]
    return [(await call).status for call in calls]


async def _api(client: TestClient, fakes: dict[str, Any]) -> list[int]:
    """Reads, sends (refused by the provider, then accepted), a refused token, a PDF export."""
    bearer = {"Authorization": f"Bearer {API_TOKEN}"}
    mail = email.message_from_bytes(load_fixture("email", "raw__plain"))
    to_wa = f"/api/v1/contacts/phone:+{WA_PHONE}/messages"
    to_mail = f"/api/v1/contacts/email:{email.utils.parseaddr(mail['From'])[1]}/messages"
    fakes["providers"].answer("whatsapp", 401, graph_error(190, f"Invalid token {META_TOKEN}"))
    calls = [
        client.get("/api/v1/contacts", headers=bearer),
        client.get("/api/v1/contacts", headers={"Authorization": "Bearer cg_" + "w" * 40}),
        client.post(to_wa, json={"text": "Hola"}, headers=bearer),
        client.post(to_wa, json={"text": "Hola"}, headers=bearer),
        client.post(to_mail, json={"text": "Hi"}, headers=bearer),
        client.get("/api/v1/exports", params={"format": "pdf"}, headers=bearer),
    ]
    return [(await call).status for call in calls]


async def _bots(client: TestClient, fakes: dict[str, Any]) -> list[int]:
    """Telegram admin commands (right and wrong secret) and Slack commands (signed, forged)."""
    tg = orjson.dumps(u.command("/plan", 100))
    json = {"Content-Type": "application/json"}
    body = command_body("plan", fakes["slack"].hook("cmd"))
    calls = [
        client.post(u.PATH, data=tg, headers={**telegram_headers(u.SECRET), **json}),
        client.post(u.PATH, data=tg, headers={**telegram_headers("wrong-secret"), **json}),
        client.post("/slack/events", data=body, headers=slack_headers(body)),
        client.post("/slack/events", data=body, headers=slack_headers(body, secret="forged")),
    ]
    return [(await call).status for call in calls]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_the_whole_log_of_a_busy_gateway_holds_no_secret(
    aiohttp_client: Any,
    db_url: str,
    tmp_path: Path,
    fakes: dict[str, Any],
    captured: Captured,
    level: str,
) -> None:
    settings = _settings(db_url, tmp_path, fakes, level)
    logs.configure(
        settings.log_level,
        settings.log_format,
        captured.stream,
        logs.secrets_of(settings),
        cache=False,
    )  # as `serve` does (which also caches the loggers)
    app = create_app(settings)
    client: TestClient = await aiohttp_client(app)
    assert await _webhooks(client) == [200, 401, 200, 401, 200, 403, 200, 401]
    assert await _api(client, fakes) == [200, 401, 502, 201, 201, 200]
    assert await _malformed(client) == b"HTTP/1.0 400 Bad Request"
    assert await _bots(client, fakes) == [200, 401, 200, 401]
    await app[slack_bot.SLACK_BOT].idle()
    await client.close()
    text = captured.text()
    events = captured.events()  # every line is one JSON object
    assert [s for s in ALL_SECRETS if s in text] == []
    names = {e["event"] for e in events}
    assert {"webhook", "bad HTTP request from 127.0.0.1: BadStatusLine (400)"} <= names
    assert any(e.get("logger", "").startswith("fontTools") for e in events) is False
    assert fakes["telegram"].of("sendMessage") and fakes["slack"].of("response_url")
    assert len(fakes["smtp"].mails) == 1


async def _add_channel(kind: str, key: str, secrets: dict[str, str]) -> None:
    await channels.upsert_channel("acme", kind, key, secrets, known_kinds=known_kinds())


async def test_secrets_of_channels_added_with_the_cli_are_learned(
    aiohttp_client: Any, db_url: str, captured: Captured
) -> None:
    before, during = "whatsapp-secret-before-start", "telegram-secret-added-while-up"
    await db.init(db_url)
    await h.workspace("acme")
    await _add_channel("whatsapp", "wa-before-key", {"app_secret": before, "verify_token": "v"})
    await db.close()
    settings = load_settings(database_url=db_url, channel_cache_seconds=0, **OFFLINE)
    logs.configure("INFO", "json", captured.stream, logs.secrets_of(settings), cache=False)
    client: TestClient = await aiohttp_client(create_app(settings))
    await _add_channel("telegram", "tg-during-key", {"secret_token": during})
    assert (
        await h.send_telegram(client, "tg-during-key", h.telegram_update(7), during)
    ).status == 200
    structlog.get_logger("contactgate.test").info("echo", values=[before, during])
    assert captured.events()[-1]["values"] == ["[redacted]", "[redacted]"]
