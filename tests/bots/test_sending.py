"""`/send` (`/enviar`): an agent writes to a contact from Telegram and Slack, in Spanish and
English, through the API's outbound path against the local provider fakes; refusals in words,
every send audited with the chat user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
import pytest

from gateway.settings import Settings
from store import db
from tests import helpers as h
from tests.bots import slack_support
from tests.bots.chat import TelegramChat
from tests.bots.fake_slack import TEAM
from tests.bots.slack_support import SlackHarness
from tests.fake_providers import FakeProviders, graph_error
from tests.gateway.api.people import person
from tests.gateway.api.support import Api

fake_slack, slack = slack_support.fake_slack, slack_support.slack  # the Slack fixtures
AGENT = 300
SLACK_AGENT = "U0AGENT01"
PHONE = "+593991234567"


@pytest.fixture
async def providers() -> AsyncIterator[FakeProviders]:
    """Local fakes of the providers' send APIs."""
    async with FakeProviders() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, providers: FakeProviders) -> Settings:
    """The Telegram bot's settings with every provider API pointed at the fakes."""
    return settings.model_copy(update=providers.settings())


@pytest.fixture
def sqlite_settings(
    sqlite_settings: Settings,  # the Slack fixture, extended
    providers: FakeProviders,
) -> Settings:
    """The Slack bot's settings with every provider API pointed at the fakes."""
    return sqlite_settings.model_copy(update=providers.settings())


async def speak(code: str) -> None:
    """Everyone in acme, and acme itself, speak `code` to the bots."""
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE admin_binding SET language = ?", [code])
        await tx.execute("UPDATE workspace SET language = ?", [code])


async def customer(client: Any, kind: str, external_id: str, name: str, **more: Any) -> int:
    """A contact who wrote once on a `kind` channel (able to receive); its id."""
    return await person(cast(Api, _Client(client)), kind, external_id, display_name=name, **more)


class _Client:
    """What tests.gateway.api.people.person needs of an Api: its test client."""

    def __init__(self, client: Any) -> None:
        self.client = client


async def sends() -> list[tuple[Any, ...]]:
    """The audit lines of finished sends (not their `sending` start): (actor, surface, target,
    status, error)."""
    rows = await h.rows(
        "SELECT actor, surface, target, detail FROM audit_log WHERE action = 'message.send'"
        " ORDER BY id"
    )
    out = []
    for row in rows:
        detail = orjson.loads(row["detail"]) if isinstance(row["detail"], str) else row["detail"]
        if detail["status"] != "sending":
            out.append(
                (row["actor"], row["surface"], row["target"], detail["status"], detail.get("error"))
            )
    return out


async def close_window(cid: int) -> None:
    """The contact last wrote 25 hours ago (the WhatsApp window is 24 hours)."""
    old = datetime.now(UTC) - timedelta(hours=25)
    await h.rows("UPDATE message SET received_at = ? WHERE contact_id = ?", old, cid)


TELEGRAM = {
    "en": [
        "Sent to #{ana} Ana Pérez on WhatsApp.",
        "Sent to #{beto} Beto Díaz on Messenger.",
        "Not sent to #{beto} Beto Díaz: Messenger does not deliver to this person (they blocked"
        " the bot, opted out or closed the account); nothing was sent.",
        "Not sent to #{ana} Ana Pérez: the 24-hour WhatsApp window is closed (the person has not"
        " written since); send an approved template instead.",
        "Say what to do with the contact too.\nUsage: <code>/send &lt;contact&gt; &lt;text&gt;"
        "</code>",
        "Write the message after the contact.\nUsage: <code>/send &lt;contact&gt; &lt;text&gt;"
        "</code>",
    ],
    "es": [
        "Enviado a #{ana} Ana Pérez por WhatsApp.",
        "Enviado a #{beto} Beto Díaz por Messenger.",
        "No se envió a #{beto} Beto Díaz: Messenger no entrega a esta persona (bloqueó el bot, se"
        " dio de baja o cerró la cuenta); no se envió nada.",
        "No se envió a #{ana} Ana Pérez: la ventana de 24 horas de WhatsApp está cerrada (la"
        " persona no ha escrito desde entonces); envía una plantilla aprobada.",
        "Indica también qué hacer con el contacto.\nUso: <code>/enviar &lt;contacto&gt;"
        " &lt;texto&gt;</code>",
        "Escribe el mensaje después del contacto.\nUso: <code>/enviar &lt;contacto&gt;"
        " &lt;texto&gt;</code>",
    ],
}


@pytest.mark.parametrize("code", ["es", "en"])
async def test_send_from_telegram_by_id_and_by_reply(
    tg: TelegramChat, providers: FakeProviders, code: str
) -> None:
    await speak(code)
    send = "/enviar" if code == "es" else "/send"
    ids = {
        "ana": await customer(tg.client, "whatsapp", PHONE[1:], "Ana Pérez", phone=PHONE),
        "beto": await customer(tg.client, "messenger", "6783024061792428", "Beto Díaz"),
    }
    said = [*await tg.texts(f"{send} #{ids['ana']} Hola Ana, ¿cómo estás?", AGENT)]
    [card] = await tg.command(f"/show #{ids['beto']}", AGENT)
    said += await tg.texts(f"{send} Tu pedido salió hoy", AGENT, reply_to_message=card.result)
    gone = {"error": graph_error(551, "This person isn't available right now.", 1545041)}
    providers.answer("messenger", 400, gone)
    said += await tg.texts(f"{send} #{ids['beto']} hola", AGENT)
    await close_window(ids["ana"])
    said += await tg.texts(f"{send} #{ids['ana']} hola", AGENT)
    said += await tg.texts(f"{send} #{ids['ana']}", AGENT)
    said += await tg.texts(send, AGENT, reply_to_message=card.result)
    assert said == [line.format(**ids) for line in TELEGRAM[code]]
    assert [(c.route, c.body.get("text") or c.body.get("message")) for c in providers.calls] == [
        ("whatsapp", {"preview_url": False, "body": "Hola Ana, ¿cómo estás?"}),
        ("messenger", {"text": "Tu pedido salió hoy"}),
        ("messenger", {"text": "hola"}),
    ]
    assert await sends() == [
        ("telegram:300", "telegram", f"#{ids['ana']}", "sent", None),
        ("telegram:300", "telegram", f"#{ids['beto']}", "sent", None),
        ("telegram:300", "telegram", f"#{ids['beto']}", "failed", "recipient_unavailable"),
    ]


SLACK = {
    "en": [
        "Sent to #{ana} Ana Pérez on WhatsApp.",
        "Not sent to #{ana} Ana Pérez: WhatsApp asks to slow down; try again in 7 s.",
        "Not sent to #{ana} Ana Pérez: the 24-hour WhatsApp window is closed (the person has not"
        " written since); send an approved template instead.",
    ],
    "es": [
        "Enviado a #{ana} Ana Pérez por WhatsApp.",
        "No se envió a #{ana} Ana Pérez: WhatsApp pide ir más despacio; inténtalo de nuevo en 7 s.",
        "No se envió a #{ana} Ana Pérez: la ventana de 24 horas de WhatsApp está cerrada (la"
        " persona no ha escrito desde entonces); envía una plantilla aprobada.",
    ],
}


@pytest.mark.parametrize("code", ["es", "en"])
async def test_send_from_slack(slack: SlackHarness, providers: FakeProviders, code: str) -> None:
    await slack.bind("agent", SLACK_AGENT)
    await speak(code)
    send = "enviar" if code == "es" else "send"
    ana = await customer(slack.client, "whatsapp", PHONE[1:], "Ana Pérez", phone=PHONE)

    async def ask(line: str) -> str:
        hook = f"c{len(slack.fake.calls)}"
        await slack.command(line, hook=hook, user_id=SLACK_AGENT, user_name="agent")
        await slack.settle()
        [answer] = slack.answers(hook)
        return str(answer["text"])

    said = [await ask(f"{send} #{ana} Hola Ana")]
    limited = {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
                         "code": 130429}}  # fmt: skip
    providers.answer("whatsapp", 429, limited, **{"Retry-After": "7"})
    said.append(await ask(f"{send} #{ana} otra vez"))
    await close_window(ana)
    said.append(await ask(f"{send} #{ana} hola"))
    assert said == [line.format(ana=ana) for line in SLACK[code]]
    assert [s[:2] for s in await sends()] == [(f"slack:{TEAM}:{SLACK_AGENT}", "slack")] * 2
