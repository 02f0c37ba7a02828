"""Spanish and English in the bots, through the real python-telegram-bot and slack-bolt against
the fake APIs: the same conversation in each language, the language each person gets, Telegram's
menus per language, help as typed on each platform, `/tag-all` typed as on Slack."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pypdfium2
import pytest
import time_machine

from bots import notify
from store import db, events
from tests import helpers as h
from tests.bots import slack_support, updates
from tests.bots.chat import TelegramChat
from tests.bots.people import people
from tests.bots.slack_support import SlackHarness

fake_slack, slack, sqlite_settings = (  # the Slack fixtures
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)
OWNER, ADMIN, AGENT = 100, 200, 300
NOW = "2026-11-20T12:00:00+00:00"  # the replies name this month
SPANISH_APP = {"id": 0, "is_bot": False, "first_name": "Ana", "language_code": "es-419"}
ENGLISH_APP = {"id": 0, "is_bot": False, "first_name": "Ann", "language_code": "en-US"}

# Words a sentence of the other language cannot do without; user data (names, tags, channels)
# and command names are not sentences. Each detector is checked against the other language's
# replies below, so it cannot pass by seeing nothing.
ENGLISH = re.compile(
    r"\b(the|of|and|with|contacts?|matches|sorry|usage|tagged|untagged|tags now|search|"
    r"commands for you|merge|exported|none|never|next|stays|move to it|runs at|cannot|send)\b",
    re.IGNORECASE,
)
SPANISH = re.compile(
    r"\b(los|las|del|con|para|contactos?|etiquet\w+|ningún|ninguno|lo siento|uso|búsqueda|"
    r"fusionar|reinicio|exportados?|quedan?|pasan|próxim[oa]|puedes|tus comandos|último|de)\b",
    re.IGNORECASE,
)


def conversation(ids: dict[str, int], es: bool) -> list[tuple[int, str]]:
    """(user, command) of the scripted talk: help, search, show, tag, untag, merge preview,
    plan, reset status, a usage error, a refusal, export."""
    ana, gomez, beto = ids["ana"], ids["gomez"], ids["beto"]
    if es:
        lines = [(AGENT, "/ayuda"), (AGENT, "/buscar ana"), (AGENT, f"/mostrar #{ana}"),
                 (AGENT, f"/etiquetar #{beto} cliente"), (AGENT, f"/desetiquetar #{beto} vip"),
                 (ADMIN, f"/fusionar #{ana} #{gomez}"), (AGENT, "/plan"),
                 (ADMIN, "/reinicio estado"), (AGENT, "/etiquetar"), (AGENT, f"/eliminar #{ana}"),
                 (ADMIN, "/exportar country:EC")]  # fmt: skip
    else:
        lines = [(AGENT, "/help"), (AGENT, "/search ana"), (AGENT, f"/show #{ana}"),
                 (AGENT, f"/tag #{beto} cliente"), (AGENT, f"/untag #{beto} vip"),
                 (ADMIN, f"/merge #{ana} #{gomez}"), (AGENT, "/plan"),
                 (ADMIN, "/reset status"), (AGENT, "/tag"), (AGENT, f"/delete #{ana}"),
                 (ADMIN, "/export country:EC")]  # fmt: skip
    return lines


async def speak(language: str | None = None, workspace: str = "es") -> None:
    """Nobody pins a language (the English of the older tests undone); the workspace's is set."""
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE admin_binding SET language = ?", [language])
        await tx.execute("UPDATE workspace SET language = ?", [workspace])


def telegram_texts(calls: list[Any]) -> list[str]:
    """Each message's text (a document's caption) with its buttons' labels."""
    said = []
    for call in calls:
        text = call.params.get("text") or call.params.get("caption") or ""
        said.append("\n".join([text, *(label for label, _ in call.buttons())]))
    return said


async def telegram_talk(tg: TelegramChat, es: bool) -> list[str]:
    ids = await people()
    app = SPANISH_APP if es else ENGLISH_APP
    said: list[str] = []
    for user, line in conversation(ids, es):
        calls = await tg.command(line, user, **{"from": {**app, "id": user}})
        assert calls, line
        said += telegram_texts(calls)
    return said


def check(said: list[str], es: bool) -> None:
    """No sentence of the other language; each reply in its own (numbers-only lines aside)."""
    own, other = (SPANISH, ENGLISH) if es else (ENGLISH, SPANISH)
    for text in said:
        text = text.replace("/contacts ", "/")  # Slack's slash command is a name, not English
        assert not other.search(text), (other.search(text), text)
        assert own.search(text), text


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("es", [True, False], ids=["es", "en"])
async def test_the_same_conversation_on_telegram_in_each_language(
    tg: TelegramChat, es: bool
) -> None:
    await h.workspace("acme", tz="America/Guayaquil")
    await speak(workspace="es" if es else "en")
    said = await telegram_talk(tg, es)
    check(said, es)
    if es:
        assert said[0].startswith("<b>Tus comandos (agente de acme)</b>")
        assert "<code>/etiquetar &lt;contacto&gt; &lt;etiqueta&gt;" in said[0]
        assert "← 2 nov 2026 07:00 (America/Guayaquil) telegram: hola" in said[2]  # not UTC
        assert said[-1].startswith("2 contactos exportados (country:EC).")
    else:
        assert said[0].startswith("<b>Commands for you (agent of acme)</b>")
        assert "← Nov 2, 2026 07:00 (America/Guayaquil) telegram: hola" in said[2]
        assert said[-1].startswith("Exported 2 contacts (country:EC).")


@time_machine.travel(NOW, tick=False)
async def test_each_detector_flags_the_other_languages_replies(tg: TelegramChat) -> None:
    """The detectors are honest: every English reply trips ENGLISH, every Spanish one SPANISH."""
    await speak(workspace="es")
    spanish = await telegram_talk(tg, es=True)
    english = await telegram_talk(tg, es=False)
    assert all(ENGLISH.search(text) for text in english)
    assert all(SPANISH.search(text) for text in spanish)
    assert not any(SPANISH.search(text) for text in english)


async def test_the_language_is_pinned_else_the_apps_else_the_workspaces(
    tg: TelegramChat,
) -> None:
    await speak(workspace="es")
    english_app = {"from": {**ENGLISH_APP, "id": AGENT}}
    no_language = {"from": {"id": AGENT, "is_bot": False, "first_name": "Ana"}}
    assert await tg.texts("/plan frob", AGENT, **english_app) == [
        "Unknown plan subcommand 'frob'; use <code>/plan</code> or <code>/plan set &lt;cap&gt;"
        "</code>.\nUsage: <code>/plan</code>"
    ]
    assert (await tg.texts("/tags", AGENT, **no_language)) == ["Aún no hay etiquetas."]
    assert await tg.texts("/idioma en", AGENT, **no_language) == [
        "From now on I answer you in English."
    ]
    assert await tg.texts("/tags", AGENT) == ["No tags yet."]  # pinned beats the app's es
    assert await tg.texts("/lang es", AGENT) == ["Desde ahora te respondo en español."]
    assert await tg.texts("/lang auto", AGENT, **english_app) == [
        "I will answer in your app's language (else the workspace's)."
    ]
    assert await tg.texts("/lang pt", AGENT, **english_app) == [
        "Say es or en.\nUsage: <code>/lang es|en|auto</code>"
    ]
    assert (
        await h.rows(
            "SELECT actor, action, target FROM audit_log WHERE action = 'admin_binding.language'"
        )
        == [{"actor": "telegram:300", "action": "admin_binding.language", "target": "telegram:300"}]
        * 3
    )


async def test_tag_all_works_as_typed_on_telegram(tg: TelegramChat) -> None:
    """`/tag-all` (Telegram marks only `/tag` as the command) and `/tag_all` are one command."""
    await speak(workspace="es")
    await people()
    for line, entity in (("/tag-all country:PE peruanos", 4), ("/tag_all country:PE peruanos", 8)):
        update = updates.command(line, ADMIN)
        update["message"]["entities"][0]["length"] = entity  # Telegram's: `/tag` for /tag-all
        [ask] = await tg.send(update)
        assert ask.params["text"] == (
            "1 contacto cumple <code>country:PE</code>. ¿Etiquetarlos todos con <b>peruanos</b>?"
        )
        assert [label for label, _ in ask.buttons()] == ["Etiquetar 1", "Cancelar"]
    [done] = await tg.press(ask, "Etiquetar 1", ADMIN)
    assert done.params["text"] == "1 contacto etiquetado (peruanos)."
    [ask] = await tg.command("/etiquetar_todos country:EC peruanos", ADMIN)
    assert ask.params["text"].startswith("2 contactos cumplen")


async def test_telegram_menus_per_language_come_from_the_registry(tg: TelegramChat) -> None:
    await tg.post({"update_id": 1, "message": {}})  # starts the bot: getMe, then the menus
    menus = {
        c.params.get("language_code"): orjson.loads(c.params["commands"])
        for c in tg.fake.of("setMyCommands")
    }
    spanish = {m["command"]: m["description"] for m in menus["es"]}
    english = {m["command"]: m["description"] for m in menus["en"]}
    assert spanish["etiquetar_todos"] == (
        "Etiquetar todos los contactos que cumplen un filtro (pregunta antes)"
    )
    assert spanish["plan"] == "Contactos usados del cupo del plan, por canal, y quién espera"
    assert english["plan"] == "Contacts used of the plan's cap, per channel, and who waits"
    assert english["reset"] == "The monthly reset: its mode, next run and runs"
    assert english["view"] == "Saved views: list, run, save, delete"
    assert len(spanish) == len(english) == 31
    described = [*spanish.values(), *english.values()]
    assert all(d and "`" not in d and "\n" not in d for d in described)
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", name) for name in [*spanish, *english])


async def test_help_is_grouped_shows_what_the_role_allows_once_each(tg: TelegramChat) -> None:
    await speak(workspace="es")
    [agent] = await tg.texts("/ayuda", AGENT)
    [owner] = await tg.texts("/ayuda", OWNER)
    assert [line for line in agent.splitlines() if line.startswith("<b>")] == [
        "<b>Tus comandos (agente de acme)</b>", "<b>Buscar</b>", "<b>Etiquetas y notas</b>",
        "<b>Fusionar y eliminar</b>", "<b>Plan, reinicio y avisos</b>", "<b>Tú y este bot</b>",
    ]  # fmt: skip
    assert "<code>/duplicados</code>" in agent  # an agent sees the pairs, an admin merges them
    assert "/eliminar" not in agent and "/reinicio" not in agent and "/fusionar" not in agent
    assert "/etiquetar_todos" not in agent and "<code>/etiquetar " in agent
    assert "<code>/etiquetar_todos &lt;filtro&gt; &lt;etiqueta&gt;</code>" in owner
    assert "<code>/plan fijar &lt;cupo&gt;</code>" in owner
    listed = owner.split("\n\n")[1:-1]  # the groups (not the title, nor the closing lines)
    typed = re.findall(r"<code>(/[a-z_]+(?: [a-z]+)?)", "\n".join(listed))
    assert len(typed) == len(set(typed)), typed  # each command once
    assert "<code>/reinicio</code>" not in owner  # listed by its subcommands


@time_machine.travel(NOW, tick=False)
async def test_slack_talks_in_the_users_locale_and_shows_slack_commands(
    slack: SlackHarness,
) -> None:
    for user, role in (("U0AGENT01", "agent"), ("U0ADMIN01", "admin")):
        await slack.bind(role, user, english=False)
    slack.fake.locales |= {"U0AGENT01": "es-LA", "U0ADMIN01": None}  # the admin's: unknown
    await people()

    async def ask(line: str, user: str) -> list[str]:
        hook = f"c{len(slack.fake.calls)}"
        await slack.command(line, hook=hook, user_id=user, user_name=user.lower())
        await slack.settle()
        said = []
        for answer in slack.answers(hook):
            labels = [
                e["text"]["text"]
                for block in answer["blocks"]
                if block["type"] == "actions"
                for e in block["elements"]
            ]
            sections = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
            said.append("\n".join([*sections, *labels]))
        return said

    spanish = []
    for user, line in (("U0AGENT01", "ayuda"), ("U0AGENT01", "buscar ana"),
                       ("U0AGENT01", "mostrar #1"), ("U0AGENT01", "etiquetar #3 cliente"),
                       ("U0AGENT01", "desetiquetar #3 vip"), ("U0ADMIN01", "fusionar #1 #2"),
                       ("U0AGENT01", "plan"), ("U0ADMIN01", "reinicio estado"),
                       ("U0AGENT01", "etiquetar"), ("U0AGENT01", "eliminar #1"),
                       ("U0ADMIN01", "exportar country:EC")):  # fmt: skip
        said = await ask(line, user)
        assert said, line
        spanish += said
    check(spanish, es=True)
    assert spanish[0].startswith("*Tus comandos (agente de acme)*")
    full_help = (await ask("ayuda", "U0AGENT01"))[0]
    assert "`/contacts etiquetar &lt;contacto&gt;" in full_help
    assert "/contacts ayuda [comando]" in full_help
    assert spanish[2].endswith("Etiquetar Borrar\nMostrar")  # + Slack's card buttons (agent)
    slack.fake.locales["U0AGENT01"] = "en-US"
    slack.bot._locales.clear()  # Slack's answer is cached per user: a new process asks again
    english = await ask("tag-all country:EC vip", "U0AGENT01")
    assert english == ["Sorry, you cannot do that: this needs the admin role."]
    assert "`/contacts help [command]` explains one command." in (await ask("help", "U0AGENT01"))[0]
    asked = [c.body["user"] for c in slack.fake.of("users.info")]
    assert asked.count("U0AGENT01") == 2 and asked.count("U0ADMIN01") == 1  # cached


async def test_notifications_use_the_workspaces_language(tg: TelegramChat) -> None:
    await h.workspace("acme", tz="America/Guayaquil")
    await speak(workspace="es")
    await tg.command("/suscribir", ADMIN, chat_id=-100200)
    soon = {"period": "2026-11", "mode": "all", "run_at": "2026-12-01T04:00:00+00:00",
            "contacts": 1234, "identities": 7, "messages": 9, "notes": 0}  # fmt: skip
    workspace = int(await h.scalar("SELECT id FROM workspace WHERE slug = 'acme'"))
    async with db.raw_transaction() as tx:
        await events.emit(
            tx, workspace, "reset_soon", "reset_soon:2026-11", soon, datetime.now(UTC)
        )
    tg.fake.calls.clear()
    assert await notify.deliver() == 1
    [sent] = tg.fake.of("sendMessage")
    assert sent.params["text"] == (
        "<b>Pronto el reinicio mensual de acme</b>: el 30 nov 2026 23:00 (America/Guayaquil)"
        " borra todos los contactos, 1.234 contactos en este momento. <code>reinicio prueba</code>"
        " los muestra; <code>reinicio desactivar</code> lo apaga."
    )


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("es", "line", "words"),
    [
        (True, "/exportar pdf", ["Contactos - acme", "4 contactos", "exportado", "Nombre",
                                 "Teléfono", "Etiquetas"]),
        (False, "/export pdf", ["Contacts - acme", "4 contacts", "exported", "Name", "Phone",
                                "Tags"]),
    ],
    ids=["es", "en"],
)  # fmt: skip
async def test_the_pdf_export_has_its_title_and_headings_in_the_language(
    tg: TelegramChat, es: bool, line: str, words: list[str]
) -> None:
    await h.workspace("acme", tz="America/Guayaquil")
    await speak(workspace="es" if es else "en")
    await people()
    app = SPANISH_APP if es else ENGLISH_APP
    [sent] = await tg.command(line, ADMIN, **{"from": {**app, "id": ADMIN}})
    name, data = sent.files["document"]
    assert name == ("contactos-2026-11-20.pdf" if es else "contacts-2026-11-20.pdf")
    text = pypdfium2.PdfDocument(data)[0].get_textpage().get_text_range()
    assert all(word in text for word in words), text
    assert ("20 nov 2026 07:00" if es else "Nov 20, 2026 07:00") in text  # local time
