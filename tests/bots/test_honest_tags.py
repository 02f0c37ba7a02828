"""Honest replies, on Telegram and Slack, in Spanish and English: tag replies say what really
changed (a tag the contact already had, one it did not have, `Borrar` while the reset ignores
tagged contacts); an export refuses a format it does not write and sends no empty file."""

from __future__ import annotations

import pytest
import time_machine

from store import db, reset
from tests import helpers as h
from tests.bots import slack_support
from tests.bots.chat import TelegramChat
from tests.bots.people import people
from tests.bots.slack_support import SlackHarness

fake_slack, slack, sqlite_settings = (
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)
AGENT = 300
SLACK_AGENT = "U0AGENT01"
NOW = "2026-11-10T12:00:00+00:00"  # far from the month's end: a mode set now counts now


async def speak(code: str) -> None:
    """Everyone in acme, and acme itself, speak `code` to the bots."""
    async with db.raw_transaction() as tx:
        await tx.execute("UPDATE admin_binding SET language = ?", [code])
        await tx.execute("UPDATE workspace SET language = ?", [code])


SAID = {
    "en": [
        "Tagged #3 Beto Díaz: gold. #3 Beto Díaz already had the tag vip. Tags now: gold, vip.",
        "#3 Beto Díaz already had the tags vip, gold. Tags now: gold, vip.",
        "Untagged #3 Beto Díaz: gold. #3 Beto Díaz did not have the tag x. Tags now: vip.",
        "Tagged #3 Beto Díaz: Borrar. Tags now: Borrar, vip. The Borrar tag does nothing until"
        " the monthly reset is enabled for tagged contacts ({enable} tagged{end}).",
        "#3 Beto Díaz already had the tag Borrar. Tags now: Borrar, vip.",
        "Tagged #4 Cris Lara: Borrar. Tags now: Borrar.",
    ],
    "es": [
        "Etiquetado #3 Beto Díaz: gold. #3 Beto Díaz ya tenía la etiqueta vip. Etiquetas ahora:"
        " gold, vip.",
        "#3 Beto Díaz ya tenía las etiquetas vip, gold. Etiquetas ahora: gold, vip.",
        "Desetiquetado #3 Beto Díaz: gold. #3 Beto Díaz no tenía la etiqueta x. Etiquetas"
        " ahora: vip.",
        "Etiquetado #3 Beto Díaz: Borrar. Etiquetas ahora: Borrar, vip. La etiqueta Borrar no"
        " hace nada hasta que el reinicio mensual se active para los contactos etiquetados"
        " ({enable} etiquetados{end}).",
        "#3 Beto Díaz ya tenía la etiqueta Borrar. Etiquetas ahora: Borrar, vip.",
        "Etiquetado #4 Cris Lara: Borrar. Etiquetas ahora: Borrar.",
    ],
}


def lines(code: str, prefix: str) -> list[str]:
    """The commands, in the language's names (`prefix`: `/` on Telegram, none on Slack)."""
    es = code == "es"
    tag, untag = ("etiquetar", "desetiquetar") if es else ("tag", "untag")
    return [f"{prefix}{tag} #3 gold vip", f"{prefix}{tag} #3 vip gold",
            f"{prefix}{untag} #3 gold x", f"{prefix}borrar #3", f"{prefix}borrar #3"]  # fmt: skip


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", ["es", "en"])
async def test_tag_replies_on_telegram(tg: TelegramChat, code: str) -> None:
    await people()
    await speak(code)
    said = [(await tg.texts(line, AGENT))[0] for line in lines(code, "/")]
    await reset.set_mode(await h.owner(), "tagged")
    said += await tg.texts("/borrar #4", AGENT)
    enable = "<code>/reinicio activar" if code == "es" else "<code>/reset enable"
    assert said == [s.format(enable=enable, end="</code>") for s in SAID[code]]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("code", ["es", "en"])
async def test_tag_replies_on_slack(slack: SlackHarness, code: str) -> None:
    await slack.bind("agent", SLACK_AGENT)
    await people()
    await speak(code)

    async def ask(line: str) -> str:
        hook = f"c{len(slack.fake.calls)}"
        await slack.command(line, hook=hook, user_id=SLACK_AGENT, user_name="agent")
        await slack.settle()
        return str(slack.answers(hook)[0]["text"])

    said = [await ask(line) for line in lines(code, "")]
    await reset.set_mode(await h.owner(), "tagged")
    said.append(await ask("borrar #4"))
    enable = "`/contacts reinicio activar" if code == "es" else "`/contacts reset enable"
    assert said == [s.format(enable=enable, end="`") for s in SAID[code]]


EXPORTS = {
    "en": [
        "I do not export xlsx; say csv or pdf.\nUsage: <code>/export [csv|pdf] [filter or view"
        " name]</code>",
        "No contacts match (country:AR); nothing to export.",
    ],
    "es": [
        "No exporto xlsx; di csv o pdf.\nUso: <code>/exportar [csv|pdf] [filtro o nombre de"
        " vista]</code>",
        "Ningún contacto coincide (country:AR); no hay nada que exportar.",
    ],
}


@pytest.mark.parametrize("code", ["es", "en"])
async def test_export_refuses_other_formats_and_sends_no_empty_file_on_telegram(
    tg: TelegramChat, code: str
) -> None:
    await people()
    await speak(code)
    export = "/exportar" if code == "es" else "/export"
    calls = [
        *await tg.command(f"{export} xlsx", 200),
        *await tg.command(f"{export} country:AR", 200),
    ]
    assert [(c.method, c.params.get("text")) for c in calls] == [
        ("sendMessage", text) for text in EXPORTS[code]
    ]


@pytest.mark.parametrize("code", ["es", "en"])
async def test_export_refuses_other_formats_and_sends_no_empty_file_on_slack(
    slack: SlackHarness, code: str
) -> None:
    await slack.bind("admin", "U0ADMIN01")
    await people()
    await speak(code)
    export = "exportar" if code == "es" else "export"
    said = []
    for line in (f"{export} xlsx", f"{export} country:AR"):
        hook = f"c{len(slack.fake.calls)}"
        await slack.command(line, hook=hook, user_id="U0ADMIN01", user_name="admin")
        await slack.settle()
        said += [a["text"] for a in slack.answers(hook)]
    assert said[1] == EXPORTS[code][1]
    assert said[0].startswith(EXPORTS[code][0].split(".")[0])
    assert slack.fake.uploads == []


@pytest.mark.parametrize("code", ["es", "en"])
async def test_a_spanish_workspace_gets_semicolons_on_telegram(tg: TelegramChat, code: str) -> None:
    await people()
    await speak(code)
    [sent] = await tg.command("/export csv country:PE", 200)
    _name, data = sent.files["document"]
    header, row = data.decode("utf-8-sig").splitlines()[:2]
    sep = ";" if code == "es" else ","
    assert header.split(sep)[:3] == ["id", "name", "email"]
    assert row.split(sep)[:2] == ["3", "Beto Díaz"]


@pytest.mark.parametrize("code", ["es", "en"])
async def test_a_spanish_workspace_gets_semicolons_on_slack(slack: SlackHarness, code: str) -> None:
    await slack.bind("admin", "U0ADMIN01")
    await people()
    await speak(code)
    await slack.command("export csv country:PE", user_id="U0ADMIN01", user_name="admin")
    await slack.settle()
    [upload] = slack.fake.uploads
    header = upload.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("id;name;email;" if code == "es" else "id,name,email,")
