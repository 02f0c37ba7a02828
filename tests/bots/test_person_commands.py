"""`/data` (`/datos`), `/erase` (`/olvidar`) and `/audit` (`/historial`) on Telegram and Slack,
in Spanish and English: the person's archive as a file, their erasure after a confirmation
naming everyone merged into them, their history with who, where and when."""

from __future__ import annotations

import io
import zipfile

import pytest
import time_machine

from store import db, merge
from tests import helpers as h
from tests.bots import slack_support
from tests.bots.chat import TelegramChat
from tests.bots.people import admin_actor, people
from tests.bots.slack_support import SlackHarness

fake_slack, slack, sqlite_settings = (
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)
OWNER, ADMIN, AGENT = 100, 200, 300
SLACK_OWNER = "U0OWNER01"
NOW = "2026-11-20T15:30:00+00:00"


async def speak(code: str) -> None:
    """Everyone in acme, and acme itself, speak `code` to the bots; acme is in Guayaquil."""
    await h.workspace("acme", tz="America/Guayaquil")
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE admin_binding SET language = ?", [code])
        await tx.execute("UPDATE workspace SET language = ?", [code])


def members(data: bytes) -> list[str]:
    """The names of a ZIP's files."""
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


HISTORY = {
    "en": [
        "<b>Last changes of #1 Ana Pérez</b>",
        "• Nov 20, 2026 10:30 (America/Guayaquil) · Agent (Telegram): tagged vip, cliente",
        "• Nov 20, 2026 10:30 (America/Guayaquil) · Admin (Telegram): changed City",
        "• Nov 20, 2026 10:30 (America/Guayaquil) · token:seed (API): changed Email, Phone",
    ],
    "es": [
        "<b>Últimos cambios de #1 Ana Pérez</b>",
        "• 20 nov 2026 10:30 (America/Guayaquil) · Agent (Telegram): etiquetó vip, cliente",
        "• 20 nov 2026 10:30 (America/Guayaquil) · Admin (Telegram): cambió Ciudad",
        "• 20 nov 2026 10:30 (America/Guayaquil) · token:seed (API): cambió Email, Teléfono",
    ],
}


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", ["es", "en"])
async def test_data_erase_and_audit_on_telegram(tg: TelegramChat, code: str) -> None:
    ids = await people()
    await speak(code)
    es = code == "es"
    await tg.texts(f"/{'editar' if es else 'set'} #1 {'ciudad' if es else 'city'} Quito", ADMIN)
    await tg.texts(f"/{'etiquetar' if es else 'tag'} #1 vip cliente", AGENT)
    history = await tg.texts(f"/{'historial' if es else 'audit'} #1", OWNER)
    assert history[0].splitlines() == HISTORY[code]
    refused = await tg.texts("/audit #1", ADMIN)
    assert "owner" in refused[0] or "propietario" in refused[0]

    [sent] = await tg.command(f"/{'datos' if es else 'data'} #1", ADMIN)
    name, data = sent.files["document"]
    assert name == ("datos-1.zip" if es else "data-1.zip")
    assert sent.params["caption"] == (
        "Todo lo guardado sobre #1 Ana Pérez." if es else "Everything stored about #1 Ana Pérez."
    )
    assert "person.json" in members(data) and "messages.jsonl" in members(data)

    await merge.merge(await admin_actor(), ids["ana"], ids["gomez"])
    [ask] = await tg.command(f"/{'olvidar' if es else 'erase'} #1", ADMIN)
    assert ask.params["text"] == (
        "¿Olvidar a <b>#1 Ana Pérez</b> y quienes se fusionaron con él (#2 Ana Gómez)? Se"
        " eliminan 2 contactos y todo lo suyo, y sus datos se limpian del registro de"
        " auditoría. No se puede deshacer."
        if es
        else "Erase <b>#1 Ana Pérez</b> and those merged into them (#2 Ana Gómez)? This deletes"
        " 2 contacts and everything of theirs, and scrubs their details from the audit log."
        " This cannot be undone."
    )
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4  # nothing yet
    [done] = await tg.press(ask, "Olvidar" if es else "Erase", ADMIN)
    assert done.method == "editMessageText"
    assert done.params["text"].startswith(
        "Olvidado #1 Ana Pérez: contactos: 2; identidades de canal: 1; mensajes: 1;"
        if es
        else "Erased #1 Ana Pérez: contacts: 2; channel identities: 1; messages: 1;"
    )
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 2
    again = await tg.press(ask, "Olvidar" if es else "Erase", ADMIN)
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 2, again
    actions = await h.rows(
        "SELECT actor, action FROM audit_log WHERE action IN ('contact.data', 'contact.erase')"
        " ORDER BY id"
    )
    assert actions == [
        {"actor": "telegram:200", "action": "contact.data"},
        {"actor": "telegram:200", "action": "contact.erase"},
    ]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", ["es", "en"])
async def test_data_erase_and_audit_on_slack(slack: SlackHarness, code: str) -> None:
    await slack.bind("owner", SLACK_OWNER)
    await people()
    await speak(code)
    es = code == "es"

    async def ask(line: str) -> list[str]:
        hook = f"c{len(slack.fake.calls)}"
        await slack.command(line, hook=hook, user_id=SLACK_OWNER, user_name="owner")
        await slack.settle()
        return [
            "\n".join(b["text"]["text"] for b in a["blocks"] if b["type"] == "section")
            for a in slack.answers(hook)
        ]

    history = await ask(f"{'historial' if es else 'audit'} #3")
    assert history[0].splitlines()[0] == (
        "*Últimos cambios de #3 Beto Díaz*" if es else "*Last changes of #3 Beto Díaz*"
    )
    assert (
        history[0]
        .splitlines()[1]
        .endswith(
            "(America/Guayaquil) · token:seed (API): etiquetó vip"
            if es
            else "(America/Guayaquil) · token:seed (API): tagged vip"
        )
    )
    await ask(f"{'datos' if es else 'data'} #3")
    [upload] = slack.fake.uploads
    assert upload.filename == ("datos-3.zip" if es else "data-3.zip")
    assert "person.json" in members(upload.content)
    question = await ask(f"{'olvidar' if es else 'erase'} #3")
    assert question[0].startswith("¿Olvidar a *#3 Beto Díaz*? Se elimina 1 contacto" if es
                                  else "Erase *#3 Beto Díaz*? This deletes 1 contact")  # fmt: skip
