"""`/add` (`/nuevo`) and `/set` (`/editar`): admins create and edit contacts from Telegram and
Slack, in Spanish and English; validation like the API, a clash answered with the other
contact's card, every change audited with the chat user."""

from __future__ import annotations

from typing import Any

import pytest

from store import db
from tests import helpers as h
from tests.bots import slack_support
from tests.bots.chat import TelegramChat
from tests.bots.fake_slack import TEAM
from tests.bots.people import people
from tests.bots.slack_support import SlackHarness

fake_slack, slack, sqlite_settings = (
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)
ADMIN, AGENT = 200, 300
SLACK_ADMIN = "U0ADMIN01"


async def speak(code: str) -> None:
    """Everyone in acme, and acme itself, speak `code` to the bots."""
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE admin_binding SET language = ?", [code])
        await tx.execute("UPDATE workspace SET language = ?", [code])


async def changes() -> list[tuple[Any, ...]]:
    """Contact creations and updates the bots made: (actor, surface, action, target)."""
    rows = await h.rows(
        "SELECT actor, surface, action, target FROM audit_log"
        " WHERE action IN ('contact.create', 'contact.update') AND surface <> 'api' ORDER BY id"
    )
    return [(r["actor"], r["surface"], r["action"], r["target"]) for r in rows]


LINES = {
    "en": [
        "/add Dana Ruiz, 099 765 4321, dana@example.com",
        "/add name=Eva Sol company=Acme SA email=eva@example.com",
        "/add Otra, ana@example.com",
        "/set #5 company Tiendas Dana",
        "/set #5 size M",
        "/set #5 phone +593 98 765 4321",
        "/set #5 company -",
        "/set #5 email not-an-email",
        "/add Uno, Dos, Tres",
    ],
    "es": [
        "/nuevo Dana Ruiz, 099 765 4321, dana@example.com",
        "/nuevo nombre=Eva Sol empresa=Acme SA correo=eva@example.com",
        "/nuevo Otra, ana@example.com",
        "/editar #5 empresa Tiendas Dana",
        "/editar #5 talla M",
        "/editar #5 teléfono +593 98 765 4321",
        "/editar #5 Empresa -",
        "/editar #5 correo not-an-email",
        "/nuevo Uno, Dos, Tres",
    ],
}
SAID = {
    "en": [
        "Created #5 Dana Ruiz.",
        "Created #6 Eva Sol.",
        "That email already belongs to #1 Ana Pérez; nothing changed.",
        "Set Company of #5 Dana Ruiz to Tiendas Dana.",
        "Set size of #5 Dana Ruiz to M.",
        "That phone already belongs to #3 Beto Díaz; nothing changed.",
        "Cleared Company of #5 Dana Ruiz.",
        "Email 'not-an-email' is not a valid address.",
        "One name, phone, email and company at most, separated by commas.\nUsage: <code>/add"
        " &lt;name&gt;, &lt;phone&gt;, &lt;email&gt; (or name=… phone=… email=… company=…)"
        "</code>",
    ],
    "es": [
        "Creado #5 Dana Ruiz.",
        "Creado #6 Eva Sol.",
        "Ese email ya es de #1 Ana Pérez; no se cambió nada.",
        "Empresa de #5 Dana Ruiz ahora es Tiendas Dana.",
        "talla de #5 Dana Ruiz ahora es M.",
        "Ese teléfono ya es de #3 Beto Díaz; no se cambió nada.",
        "Borrado el campo Empresa de #5 Dana Ruiz.",
        "Email 'not-an-email' is not a valid address.",
        "Como mucho un nombre, un teléfono, un correo y una empresa, separados por comas.\nUso:"
        " <code>/nuevo &lt;nombre&gt;, &lt;teléfono&gt;, &lt;correo&gt; (o nombre=… telefono=…"
        " correo=… empresa=…)</code>",
    ],
}


@pytest.mark.parametrize("code", ["es", "en"])
async def test_add_and_set_on_telegram(tg: TelegramChat, code: str) -> None:
    await people()
    await speak(code)
    said, cards = [], []
    for line in LINES[code]:
        texts = await tg.texts(line, ADMIN)
        said.append(texts[0])
        cards.append(texts[1].splitlines()[0] if len(texts) > 1 else None)
    assert said == SAID[code]
    assert cards == ["<b>#5 Dana Ruiz</b>", "<b>#6 Eva Sol</b>", "<b>#1 Ana Pérez</b>", None,
                     None, "<b>#3 Beto Díaz</b>", None, None, None]  # fmt: skip
    assert await h.rows(
        "SELECT id, name, phone, email, company, source FROM contact WHERE id >= 5 ORDER BY id"
    ) == [
        {"id": 5, "name": "Dana Ruiz", "phone": "+593997654321", "email": "dana@example.com",
         "company": None, "source": "bot"},
        {"id": 6, "name": "Eva Sol", "phone": None, "email": "eva@example.com",
         "company": "Acme SA", "source": "bot"},
    ]  # fmt: skip
    custom = await h.scalar("SELECT custom FROM contact WHERE id = 5")
    assert ("talla" if code == "es" else "size") in str(custom)
    assert await changes() == [
        ("telegram:200", "telegram", "contact.create", "#5"),
        ("telegram:200", "telegram", "contact.create", "#6"),
        ("telegram:200", "telegram", "contact.update", "#5"),
        ("telegram:200", "telegram", "contact.update", "#5"),
        ("telegram:200", "telegram", "contact.update", "#5"),
    ]
    refused = await tg.texts("/add Zoe", AGENT)
    assert refused == [
        "Lo siento, no puedes hacer eso: hace falta el rol de administrador."
        if code == "es"
        else "Sorry, you cannot do that: this needs the admin role."
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 6


@pytest.mark.parametrize("code", ["es", "en"])
async def test_add_and_set_on_slack(slack: SlackHarness, code: str) -> None:
    await slack.bind("admin", SLACK_ADMIN)
    await people()
    await speak(code)

    async def ask(line: str) -> list[str]:
        hook = f"c{len(slack.fake.calls)}"
        await slack.command(line, hook=hook, user_id=SLACK_ADMIN, user_name="admin")
        await slack.settle()
        return [str(a["text"]) for a in slack.answers(hook)]

    add, edit = ("nuevo", "editar") if code == "es" else ("add", "set")
    made = await ask(f"{add} Dana Ruiz, 0997654321")
    clash = await ask(f"{add} gomez@example.com")
    changed = await ask(f"{edit} #5 {'ciudad' if code == 'es' else 'city'} Quito")
    if code == "es":
        assert made[:1] + clash[:1] + changed == [
            "Creado #5 Dana Ruiz.",
            "Ese email ya es de #2 Ana Gómez; no se cambió nada.",
            "Ciudad de #5 Dana Ruiz ahora es Quito.",
        ]
    else:
        assert made[:1] + clash[:1] + changed == [
            "Created #5 Dana Ruiz.",
            "That email already belongs to #2 Ana Gómez; nothing changed.",
            "Set City of #5 Dana Ruiz to Quito.",
        ]
    assert (made[1].splitlines()[0], clash[1].splitlines()[0]) == (
        "*#5 Dana Ruiz*",
        "*#2 Ana Gómez*",
    )
    assert await changes() == [
        (f"slack:{TEAM}:{SLACK_ADMIN}", "slack", "contact.create", "#5"),
        (f"slack:{TEAM}:{SLACK_ADMIN}", "slack", "contact.update", "#5"),
    ]
