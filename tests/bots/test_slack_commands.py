"""Every command through Slack with the real core: signed slash commands and button presses
into our aiohttp app, answers read back from the fake Slack's response_url and file uploads."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bots import buttons, core, notify
from bots.slack import split_command
from store import contacts, db, events, tags
from store.access import allows
from tests import helpers as h
from tests.bots import slack_support
from tests.bots.fake_slack import TEAM
from tests.bots.people import admin_actor, people
from tests.bots.slack_support import CHANNEL, SlackHarness, payload_body

fake_slack, slack, sqlite_settings = (  # the Slack fixtures
    slack_support.fake_slack,
    slack_support.slack,
    slack_support.sqlite_settings,
)
OWNER, ADMIN, AGENT, STRANGER = "U0OWNER01", "U0ADMIN01", "U0AGENT01", "U0STRANGE"


@pytest.fixture
async def acme(slack: SlackHarness) -> dict[str, int]:
    """Workspace acme with a Slack owner, admin and agent, and people."""
    for user, role in ((OWNER, "owner"), (ADMIN, "admin"), (AGENT, "agent")):
        await slack.bind(role, user)
    return await people()


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def ask(slack: SlackHarness, line: str, user: str = OWNER) -> list[dict[str, Any]]:
    """`/contacts <line>` as `user`; the answers posted to its response_url."""
    hook = f"c{len(slack.fake.calls)}"
    resp = await slack.command(line, hook=hook, user_id=user, user_name=user.lower())
    assert resp.status == 200
    await slack.settle()
    return slack.answers(hook)


async def press(
    slack: SlackHarness, answer: dict[str, Any], label: str, user: str = OWNER
) -> list[dict[str, Any]]:
    """Press the button labelled `label` of an answer, as Slack sends it; the answers."""
    found = [
        e
        for block in answer["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["text"]["text"] == label
    ]
    assert len(found) == 1, (label, answer["blocks"])
    return await press_value(slack, found[0]["action_id"], found[0]["value"], user)


async def press_value(
    slack: SlackHarness, action_id: str, value: str, user: str = OWNER
) -> list[dict[str, Any]]:
    """A block_actions request for this button; the answers to its response_url."""
    hook = f"a{len(slack.fake.calls)}"
    who = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM}
    resp = await slack.press(action_id, value, hook=hook, user=who)
    assert resp.status == 200
    await slack.settle()
    return slack.answers(hook)


# Every command once, as the owner: the first line of the first answer (Slack's `text`).
COMMANDS = [
    ("help", "*Commands for you (owner of acme)*"),
    ("lang en", "From now on I answer you in English."),
    ("whoami", f"You are `slack:{TEAM}:{OWNER}` (u0owner01): *owner* of workspace *acme*."),
    ("search ana", "Search `ana`: 2 contacts"),
    ("show ana@example.com", "*#{ana} Ana Pérez*"),
    ("tag beto x y", "Tagged #{beto} Beto Díaz: x, y. Tags now: vip, x, y."),
    ("untag beto vip", "Untagged #{beto} Beto Díaz: vip. Tags now: none."),
    ("borrar #{cris}", "Tagged #{cris} Cris Lara: Borrar. Tags now: Borrar. "
     "The Borrar tag does nothing until the monthly reset is enabled for tagged contacts"
        " (`/contacts reset enable tagged`)."),
    ("note #{ana} Called back", "Note 1 added to #{ana} Ana Pérez."),
    ("add Dana Ruiz, dana@example.com", "Created #5 Dana Ruiz."),
    ("set #{cris} city Lima", "Set City of #{cris} Cris Lara to Lima."),
    ("data #{ana}", "Everything stored about #{ana} Ana Pérez."),
    ("erase #{cris}", "Erase *#{cris} Cris Lara*? This deletes 1 contact and everything of theirs,"
     " and scrubs their details from the audit log. This cannot be undone."),
    ("audit #{beto}", "*Last changes of #{beto} Beto Díaz*"),
    ("send #{ana} Hola", "Channel telegram-acme-key (telegram) cannot send: its secrets lack"
     " bot_token (set them with `contactgate channel add` or in the config file)"),
    ("filter country:EC", "Filter `country:EC`: 2 contacts"),
    ("tag-all country:EC vip", "2 contacts match `country:EC`. Tag them all with *vip*?"),
    ("untag-all country:PE vip", "1 contact matches `country:PE`. Take *vip* off them all?"),
    ("delete-all tag:vip", "1 contact matches `tag:vip`. Delete them all with their messages,"
     " notes and tags? This cannot be undone."),
    ("view", "No saved views yet. Save one:"
     " `/contacts view save &lt;name&gt; &lt;filter&gt;`."),
    ("view save peru country:PE", "Saved view *peru*. Run it: `/contacts view run peru`."),
    ("view list", "No saved views yet. Save one:"
     " `/contacts view save &lt;name&gt; &lt;filter&gt;`."),
    ("view run nope", "No view 'nope'."),
    ("view delete nope", "No view 'nope'."),
    ("merge #{ana} #{gomez}", "*Merge #{gomez} into #{ana}?* #{ana} stays; #{gomez}'s 0 identities,"
     " 0 messages, 0 notes and no tags move to it."),
    ("unmerge #{gomez}", "Contact #{gomez} has no merge to undo."),
    ("duplicates", "No likely duplicates."),
    ("delete beto", "Delete *#{beto} Beto Díaz* with all its messages, notes and tags? This"
     " cannot be undone."),
    ("export", "Exported 4 contacts."),
    ("import", "Send me the CSV file (Telegram: as a document, or reply /contacts import to one;"
     " Slack: share the file and point at it)"),
    ("plan", "*Plan of acme, {period}*"),
    ("plan set 50", "The cap is now 50."),
    ("reset", "*Monthly reset of acme, {period}: off*"),
    ("reset status", "*Monthly reset of acme, {period}: off*"),
    ("reset preview all", "A reset of every contact now would delete 4 contacts (1 message,"
     " 0 notes, 1 identity)."),
    ("reset enable tagged", "Enable the monthly reset of contacts tagged Borrar?"),
    ("reset disable", "Monthly reset turned off, from now on ({month} included)."),
    ("reset time 22:30", "The reset runs at 22:30 (UTC)."),
    ("reset now all", "Run the reset now? A reset of every contact now would delete 4 contacts"
     " (1 message, 0 notes, 1 identity)."),
    ("subscribe", "This chat will get the notifications of *acme*: plan at 80 % and 100 %,"
     " reset coming, done or failed."),
    ("unsubscribe", "This chat got no notifications."),
    ("tags", "*Tags*"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "first"), COMMANDS, ids=[c[0].split(" #")[0] for c in COMMANDS])
async def test_every_command_reaches_the_core_through_slack(
    slack: SlackHarness, acme: dict[str, int], line: str, first: str
) -> None:
    answers = await ask(slack, line.format(**acme))
    now = datetime.now(UTC)
    expected = first.format(**acme, period=f"{now:%B %Y}", month=f"{now:%B %Y}")
    assert answers[0]["text"] == expected
    assert answers[0]["blocks"][0]["type"] == "section"


def test_the_table_covers_every_command() -> None:
    covered = set()
    for line, _first in COMMANDS:
        command, text = split_command(line)
        found = core.find(command, text)
        assert found is not None, line
        covered.add(found[0].name)
    assert covered == {c.name for c in core.listed()}


REFUSALS = [
    (c.name, who, c.role)
    for c in core.listed()
    for who, role in ((AGENT, "agent"), (ADMIN, "admin"))
    if not allows(role, c.role)
]


@pytest.mark.parametrize(
    ("command", "user", "needs"), REFUSALS, ids=[f"{r[0]}-{r[1]}" for r in REFUSALS]
)
async def test_a_command_above_the_users_role_is_refused_and_audited(
    slack: SlackHarness, acme: dict[str, int], command: str, user: str, needs: str
) -> None:
    last = await h.scalar("SELECT COALESCE(MAX(id), 0) AS n FROM audit_log")
    answers = await ask(slack, f"{command} #{acme['beto']} x", user)
    assert [a["text"] for a in answers] == [
        f"Sorry, you cannot do that: this needs the {needs} role."
    ]
    # The refusal is the only thing written: every change would have its own audit line.
    after = await h.rows(
        "SELECT action, actor, surface, target FROM audit_log WHERE id > ? ORDER BY id", last
    )
    actor = f"slack:{TEAM}:{user}"
    assert after == [
        {"action": "bot.refused", "actor": actor, "surface": "slack", "target": command}
    ]


async def test_an_unknown_user_is_refused_politely_and_audited(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    last = await h.scalar("SELECT COALESCE(MAX(id), 0) AS n FROM audit_log")
    answers = await ask(slack, f"delete #{acme['beto']}", STRANGER)
    assert [a["text"] for a in answers] == [
        "Sorry, I do not know you yet. Ask an owner of your workspace to bind your Slack user"
        f" id `{TEAM}:{STRANGER}` (contactgate admin add)."
    ]
    after = await h.rows(
        "SELECT workspace_id, action, actor, target FROM audit_log WHERE id > ?", last
    )
    assert after == [
        {
            "workspace_id": None,
            "action": "bot.refused",
            "actor": f"slack:{TEAM}:{STRANGER}",
            "target": "delete",
        }
    ]
    assert await h.scalar("SELECT COUNT(*) AS n FROM contact") == 4


async def test_a_confirmation_runs_once_and_replaces_its_question(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    (question,) = await ask(slack, "delete beto", ADMIN)
    done = await press(slack, question, "Delete", ADMIN)
    assert [(a["text"], a["replace_original"]) for a in done] == [
        (f"Deleted #{acme['beto']} Beto Díaz.", True)
    ]
    assert await h.scalar("SELECT COUNT(*) AS n FROM contact") == 3
    again = await press(slack, question, "Delete", ADMIN)
    assert [(a["text"], a["replace_original"]) for a in again] == [
        ("That was already done or cancelled.", True)
    ]


async def test_cancel_changes_nothing(slack: SlackHarness, acme: dict[str, int]) -> None:
    (question,) = await ask(slack, "tag-all country:EC vip", ADMIN)
    cancelled = await press(slack, question, "Cancel", ADMIN)
    assert [(a["text"], a["replace_original"]) for a in cancelled] == [
        ("Cancelled; nothing changed.", True)
    ]
    already = "That was already done or cancelled."
    assert await press(slack, question, "Tag 2", ADMIN) == [
        {
            "text": already,
            "blocks": [section(already)],
            "response_type": "ephemeral",
            "replace_original": True,
        }
    ]
    assert await h.scalar("SELECT COUNT(*) AS n FROM contact_tag") == 1  # Beto's vip only


async def test_a_confirmation_is_rechecked_against_the_role_of_who_presses(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    (question,) = await ask(slack, "delete beto", ADMIN)
    refused = await press(slack, question, "Delete", AGENT)
    assert [a["text"] for a in refused] == ["Sorry, you cannot do that: this needs the admin role."]
    assert await h.scalar("SELECT COUNT(*) AS n FROM contact") == 4


async def test_an_expired_button_changes_nothing(slack: SlackHarness, acme: dict[str, int]) -> None:
    workspace = (await admin_actor()).workspace_id
    old = buttons.sign_action(
        workspace, f"borrar:{acme['cris']}", buttons.SHORT_TTL, now=time.time() - 3600
    )
    answers = await press_value(slack, "cg_btn_0", old)
    assert [a["text"] for a in answers] == ["This button has expired; run the command again."]
    assert await h.rows("SELECT tag_id FROM contact_tag WHERE contact_id = ?", acme["cris"]) == []


@pytest.mark.parametrize("forge", ["swap_contact", "other_workspace", "garbage"])
async def test_a_forged_button_is_refused_and_changes_nothing(
    slack: SlackHarness, acme: dict[str, int], forge: str
) -> None:
    workspace = (await admin_actor()).workspace_id
    good = buttons.sign_action(workspace, f"borrar:{acme['beto']}", buttons.SHORT_TTL)
    forged = {
        "swap_contact": good.replace(f"borrar:{acme['beto']}", f"borrar:{acme['cris']}"),
        "other_workspace": buttons.sign_action(workspace + 1, f"borrar:{acme['cris']}",
                                               buttons.SHORT_TTL),
        "garbage": "delete-all:everything",
    }[forge]  # fmt: skip
    answers = await press_value(slack, "cg_btn_0", forged)
    assert len(answers) == 1
    assert answers[0]["text"].startswith(
        "Sorry, you cannot do that: this button is not one of mine"
    )
    assert await h.rows("SELECT tag_id FROM contact_tag WHERE contact_id = ?", acme["cris"]) == []
    refused = await h.rows("SELECT actor FROM audit_log WHERE action = 'bot.refused'")
    assert refused == [{"actor": f"slack:{TEAM}:{OWNER}"}]


async def test_card_buttons_show_and_tag_borrar_the_contact(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    (card,) = await ask(slack, "tag beto x", AGENT)
    (shown,) = await press(slack, card, "Show", AGENT)
    assert shown["text"] == f"*#{acme['beto']} Beto Díaz*"
    (tagged,) = await press(slack, card, "Tag Borrar", AGENT)
    assert tagged["text"] == (
        f"Tagged #{acme['beto']} Beto Díaz: Borrar. Tags now: Borrar, vip, x. "
        "The Borrar tag does nothing until the monthly reset is enabled for tagged contacts"
        " (`/contacts reset enable tagged`)."
    )


async def test_the_card_merge_dialog_leads_to_a_merge_preview_and_the_merge(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    ana, gomez = acme["ana"], acme["gomez"]
    (card,) = await ask(slack, f"show #{ana}", ADMIN)
    assert await press(slack, card, "Merge…", ADMIN) == []
    (opened,) = slack.fake.of("views.open")
    view = opened.body["view"]
    view["state"] = {"values": {"other": {"value": {"type": "plain_text_input",
                                                    "value": "gomez@example.com"}}}}  # fmt: skip
    who = {"id": ADMIN, "username": "admin", "name": "admin", "team_id": TEAM}
    resp = await slack.post(payload_body("view_submission__merge.json", view=view, user=who))
    assert resp.status == 200
    await slack.settle()
    (preview,) = slack.fake.of("chat.postEphemeral")
    assert (preview.body["channel"], preview.body["user"]) == (CHANNEL, ADMIN)
    assert preview.body["text"].startswith(f"*Merge #{gomez} into #{ana}?*")
    merged = await press(slack, {"blocks": preview.body["blocks"]}, "Merge", ADMIN)
    assert merged[0]["text"].startswith(f"Merged #{gomez}")
    assert await h.scalar("SELECT COUNT(*) AS n FROM merge_record") == 1


async def test_export_uploads_the_csv_and_the_pdf_to_the_channel(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    (answer,) = await ask(slack, "export csv", ADMIN)
    assert answer["text"] == "Exported 4 contacts."
    (answer,) = await ask(slack, "export pdf tag:vip", ADMIN)
    assert answer["text"] == "Exported 1 contact (tag:vip)."
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    csv_file, pdf_file = slack.fake.uploads
    assert (csv_file.filename, csv_file.channel_id) == (f"contacts-{day}.csv", CHANNEL)
    rows = list(csv.DictReader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert sorted(r["name"] for r in rows) == ["Ana Gómez", "Ana Pérez", "Beto Díaz", "Cris Lara"]
    assert {r["name"]: r["email"] for r in rows}["Ana Pérez"] == "ana@example.com"
    assert (pdf_file.filename, pdf_file.title, pdf_file.channel_id) == (
        f"tag-vip-{day}.pdf",
        "contacts (tag:vip)",
        CHANNEL,
    )
    assert pdf_file.content.startswith(b"%PDF-") and pdf_file.content.rstrip().endswith(b"%%EOF")


async def test_import_of_a_shared_csv_is_a_dry_run_then_applied_by_its_button(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    shared = slack.fake.share(
        "feria.csv", b"name,email,tags\nDora Paz,dora@example.com,feria\n,,\n"
    )
    answers = await ask(
        slack, f"import https://acme.slack.com/files/{ADMIN}/{shared.id}/feria.csv", ADMIN
    )
    ask_text = answers[-1]["text"]
    assert ask_text.startswith("Dry run of feria.csv:")
    assert await h.scalar("SELECT COUNT(*) AS n FROM contact") == 4
    buttons = [b["text"]["text"] for b in answers[-1]["blocks"][-1]["elements"]]
    assert buttons == ["Import 1 row", "Cancel"]  # the blank row changes nothing
    done = await press(slack, answers[-1], "Import 1 row", ADMIN)
    assert done[0]["text"].startswith("Imported feria.csv:")
    assert await h.scalar("SELECT COUNT(*) AS n FROM contact WHERE email = 'dora@example.com'") == 1


async def test_a_page_too_long_for_a_message_arrives_as_a_file(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    admin = await admin_actor()
    for i in range(120):
        contact, _ = await contacts.upsert(
            admin, {"name": f"Long Name {i:03d} " + "ñ" * 200, "email": f"l{i}@example.com"}
        )
        await tags.add(
            admin,
            contact.id,
            ["long", "fair-2026", "wholesale", "newsletter-es", "quito", "guayaquil", "cuenca"],
        )
    (answer,) = await ask(slack, "filter tag:long", AGENT)
    assert answer["text"] == "Filter `tag:long`: 120 contacts"
    assert "too long for a message" in answer["blocks"][0]["text"]["text"]
    assert answer["blocks"][1]["elements"][0]["text"]["text"].startswith("Next")
    (upload,) = slack.fake.uploads
    text = upload.content.decode()
    assert text.count("\n") >= 100 and "Long Name 000" in text
    assert upload.filename.endswith(".txt")


async def test_notifications_reach_a_subscribed_channel_once_even_after_a_refusal(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    (subscribed,) = await ask(slack, "subscribe", ADMIN)
    assert subscribed["text"].startswith("This chat will get the notifications of *acme*")
    now = datetime.now(UTC)
    workspace = (await admin_actor()).workspace_id
    payload = {"used": 800, "cap": 1000, "period": f"{now:%Y-%m}"}
    async with db.raw_transaction() as tx:
        await events.emit(tx, workspace, "cap_80", f"cap_80:{now:%Y-%m}", payload, now)
    slack.fake.fail("chat.postMessage", "ratelimited")
    assert await notify.deliver(now) == 0
    assert await notify.deliver(now + timedelta(seconds=31)) == 1
    assert await notify.deliver(now + timedelta(hours=1)) == 0
    posts = slack.fake.of("chat.postMessage")
    text = f"*Plan of acme at 80 %*: 800 of 1,000 contacts used in {now:%B %Y}."
    assert [(p.body["channel"], p.body["text"]) for p in posts] == [(CHANNEL, text)] * 2
    assert posts[1].body["blocks"] == [section(text)]
    delivered = await h.scalar("SELECT delivered_at FROM event")
    assert delivered is not None


def mrkdwn(answer: dict[str, Any]) -> list[str]:
    """The lines of an answer's first section block (its whole text; `text` is a summary)."""
    return str(answer["blocks"][0]["text"]["text"]).splitlines()


async def test_merge_in_slack_offers_the_reset_tag_and_says_what_moved(
    slack: SlackHarness, acme: dict[str, int]
) -> None:
    beto, cris = acme["beto"], acme["cris"]
    await ask(slack, f"tag #{cris} Borrar lead", ADMIN)
    (preview,) = await ask(slack, f"merge #{beto} #{cris}", ADMIN)
    assert mrkdwn(preview) == [
        f"*Merge #{cris} into #{beto}?* #{beto} stays; #{cris}'s 0 identities, 0 messages,"
        " 0 notes and tag lead move to it.",
        f"*Borrar* (the reset tag) does not move: #{beto} keeps its own state unless you"
        " press “Also move Borrar”.",
        f"Name: #{beto} `Beto Díaz` | #{cris} `Cris Lara` → keeps `Beto Díaz`",
        f"Phone: #{beto} `+593987654321` | #{cris} `(empty)` → keeps `+593987654321`",
        f"Country: #{beto} `PE` | #{cris} `EC` → keeps `PE`",
    ]
    labels = [e["text"]["text"] for b in preview["blocks"] if b["type"] == "actions"
              for e in b["elements"]]  # fmt: skip
    assert labels == [f"Name: use #{cris}", f"Country: use #{cris}", "Also move Borrar",
                      "Merge", "Cancel"]  # fmt: skip
    (picked,) = await press(slack, preview, "Also move Borrar", ADMIN)
    assert mrkdwn(picked)[1] == (
        f"*Borrar* (the reset tag) moves too: a tagged monthly reset will delete #{beto}."
    )
    (unpicked,) = await press(slack, picked, "Do not move Borrar", ADMIN)
    assert mrkdwn(unpicked) == mrkdwn(preview)
    (merged,) = await press(slack, unpicked, "Merge", ADMIN)
    assert merged["text"] == (
        f"Merged #{cris} into #{beto} Beto Díaz. Tags moved: lead. Borrar (the reset tag) did"
        " not move."
    )
    assert (await contacts.get(await admin_actor(), beto)).tags == ["lead", "vip"]
