"""Telegram admin bot flows: confirmations by inline keyboard (confirm, cancel, forged,
expired, picks), replies that name a contact, CSV import by document, files, long replies."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bots.buttons import sign_action
from tests import helpers as h
from tests.bots import updates as u
from tests.bots.chat import TelegramChat
from tests.bots.fake_telegram import parsed
from tests.bots.people import many, people

OWNER, ADMIN, AGENT = 100, 200, 300


async def test_confirm_edits_the_question_and_a_second_press_does_nothing(tg: TelegramChat) -> None:
    await people()
    [ask] = await tg.command("/delete #4", ADMIN)
    assert ask.buttons()[0][0] == "Delete" and ask.buttons()[1][0] == "Cancel"
    done = await tg.press(ask, "Delete", ADMIN)
    assert [(c.method, c.params.get("text"), c.params.get("reply_markup")) for c in done] == [
        ("editMessageText", "Deleted #4 Cris Lara.", None)
    ]
    assert done[0].params["message_id"] == str(ask.result["message_id"])
    assert len(tg.fake.of("answerCallbackQuery")) == 1
    again = await tg.press(ask, "Delete", ADMIN)
    assert [c.params.get("text") for c in again] == ["That was already done or cancelled."]
    assert await h.scalar("SELECT COUNT(*) FROM contact WHERE id = 4") == 0


async def test_cancel_forged_and_expired_presses_change_nothing(tg: TelegramChat) -> None:
    await people()
    [ask] = await tg.command("/delete_all country:EC", ADMIN)
    cancelled = await tg.press(ask, "Cancel", ADMIN)
    assert [(c.method, c.params["text"]) for c in cancelled] == [
        ("editMessageText", "Cancelled; nothing changed.")
    ]
    [ask] = await tg.command("/delete_all country:EC", ADMIN)
    data = dict(ask.buttons())["Delete 2"]
    action, expiry, mac = data.split(".")
    forged = f"p:1:ok.{expiry}.{mac}"  # the cancelled action's id under this one's signature
    sent = await tg.send(u.press(forged, ADMIN, ask.result))
    assert [(c.method, c.params["text"]) for c in sent] == [
        ("sendMessage", "Sorry, you cannot do that: this button is not one of mine (or not for"
         " your workspace).")
    ]  # fmt: skip
    ws = await h.scalar("SELECT id FROM workspace WHERE slug = 'acme'")
    expired = sign_action(ws, action, timedelta(seconds=-5))
    sent = await tg.send(u.press(expired, ADMIN, ask.result))
    assert [c.params["text"] for c in sent] == ["This button has expired; run the command again."]
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4
    assert len(tg.fake.of("answerCallbackQuery")) == 3
    assert await h.rows("SELECT actor, target FROM audit_log WHERE action = 'bot.refused'") == [
        {"actor": "telegram:200", "target": "button"}
    ]


async def test_merge_picks_edit_the_preview_in_place(tg: TelegramChat) -> None:
    await people()
    [ask] = await tg.command("/merge #1 #2", ADMIN)
    [flipped] = await tg.press(ask, "Name: use #2", ADMIN)
    assert flipped.method == "editMessageText"
    assert parsed(flipped.params["text"]).splitlines()[1] == (
        "Name: #1 Ana Pérez | #2 Ana Gómez → keeps Ana Gómez"
    )
    assert [label for label, _ in flipped.buttons()][:1] == ["Name: use #1"]
    [merged] = await tg.press(flipped, "Merge", ADMIN)
    assert (merged.method, merged.params["text"]) == (
        "editMessageText",
        "Merged #2 into #1 Ana Gómez. No tag moved.",
    )


async def test_a_reply_to_a_card_a_forward_or_a_shared_contact_names_that_contact(
    tg: TelegramChat,
) -> None:
    await people()
    [card] = await tg.command("/show #3", AGENT)
    assert card.result["text"].startswith("#3 Beto Díaz\n")
    reply = await tg.texts("/borrar", AGENT, reply_to_message=card.result)
    assert reply == [
        "Tagged #3 Beto Díaz: Borrar. Tags now: Borrar, vip. "
        "The Borrar tag does nothing until the monthly reset is enabled for tagged contacts"
        " (<code>/reset enable tagged</code>)."
    ]
    forward = u.forwarded(from_user=5551, chat_id=AGENT)
    shown = await tg.texts("/show", AGENT, reply_to_message=forward)
    assert shown[0].splitlines()[0] == "<b>#1 Ana Pérez</b>"
    shared = u.message(AGENT, contact={"phone_number": "593987654321", "first_name": "Beto"})
    assert await tg.texts("/tag amigo", AGENT, reply_to_message=shared) == [
        "Tagged #3 Beto Díaz: amigo. Tags now: amigo, Borrar, vip."
    ]
    stranger = u.forwarded(from_user=424242, chat_id=AGENT)
    assert (await tg.texts("/borrar", AGENT, reply_to_message=stranger))[0].startswith(
        "Name a contact, or send this as a reply to a contact card."
    )


CSV = b"name,email\nDana Ruiz,dana@example.com\nBad,not-an-email\n"


async def test_a_csv_document_starts_an_import_dry_run_then_a_button_applies_it(
    tg: TelegramChat,
) -> None:
    await people()
    tg.fake.files["f1"] = CSV
    sent = await tg.send(u.document(ADMIN, "f1", "nuevos.csv", len(CSV)))
    assert [c.method for c in tg.fake.calls if c.method == "getFile"] == ["getFile"]
    assert [(c.method, c.params.get("caption") or c.params.get("text")) for c in sent] == [
        ("sendDocument", "Rows with errors:"),
        ("sendMessage", "Dry run of nuevos.csv: 2 rows: 1 new, 0 updated, 0 skipped (unchanged"
         " or blank), 1 with errors.\nApply it?"),
    ]  # fmt: skip
    name, report = sent[0].files["document"]
    assert name == "errors-nuevos.csv"
    assert list(csv.reader(io.StringIO(report.decode("utf-8-sig")))) == [
        ["line", "error", "name", "email"],
        ["3", "email 'not-an-email' is not a valid address", "Bad", "not-an-email"],
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4
    applied = await tg.press(sent[1], "Import 1 row", ADMIN)
    assert [(c.method, c.params.get("text") or c.params.get("caption")) for c in applied] == [
        ("editMessageText", "Imported nuevos.csv: 2 rows: 1 new, 0 updated, 0 skipped"
         " (unchanged or blank), 1 with errors."),
        ("sendDocument", "Rows with errors:"),
    ]  # fmt: skip
    assert await h.scalar("SELECT name FROM contact WHERE email = 'dana@example.com'") == (
        "Dana Ruiz"
    )
    uploaded = u.document(ADMIN, "f1", "again.csv", len(CSV))["message"]
    replied = await tg.command("/import", ADMIN, reply_to_message=uploaded)
    assert [(c.method, c.params.get("caption")) for c in replied] == [
        ("sendDocument", "Dry run of again.csv: 2 rows: 0 new, 0 updated, 1 skipped (unchanged"
         " or blank), 1 with errors.\nNothing to import."),
    ]  # fmt: skip
    tg.fake.files["f2"] = b"%PDF-1.4"
    picture = u.document(ADMIN, "f2", "scan.pdf", 8)
    picture["message"]["document"]["mime_type"] = "application/pdf"
    assert [c.params["text"] for c in await tg.send(picture)] == [
        "I import CSV files (up to 20 MB): send a .csv file as a document."
    ]
    refused = await tg.send(u.document(AGENT, "f1", "x.csv", len(CSV)))
    assert [c.params["text"] for c in refused] == [
        "Sorry, you cannot do that: this needs the admin role."
    ]


CONFLICTING = b"name,email\nAna P.,ana@example.com\nNadia Vera,nadia@example.com\n"


async def test_an_import_with_a_conflict_offers_a_button_that_overwrites_it(
    tg: TelegramChat,
) -> None:
    await people()
    tg.fake.files["f3"] = CONFLICTING
    sent = await tg.send(u.document(ADMIN, "f3", "conflictos.csv", len(CONFLICTING)))
    assert [(c.method, c.params.get("caption") or c.params.get("text")) for c in sent] == [
        ("sendDocument", "Rows with errors or conflicts:"),
        ("sendMessage", "Dry run of conflictos.csv: 2 rows: 1 new, 0 updated, 0 skipped"
         " (unchanged or blank), 1 conflict (would overwrite another person: not written),"
         " 0 with errors.\nApply it?"),
    ]  # fmt: skip
    assert [label for label, _data in sent[1].buttons()] == [
        "Import 1 row",
        "Import 2 rows, overwriting 1 conflict",
        "Cancel",
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4
    applied = await tg.press(sent[1], "Import 2 rows, overwriting", ADMIN)
    assert [(c.method, c.params.get("text")) for c in applied] == [
        ("editMessageText", "Imported conflictos.csv: 2 rows: 1 new, 1 updated, 0 skipped"
         " (unchanged or blank), 0 with errors."),
    ]  # fmt: skip
    assert await h.rows("SELECT name, email FROM contact WHERE id = 1 OR id > 4 ORDER BY id") == [
        {"name": "Ana P.", "email": "ana@example.com"},
        {"name": "Nadia Vera", "email": "nadia@example.com"},
    ]


async def test_exports_arrive_as_documents(tg: TelegramChat) -> None:
    await people()
    [sent] = await tg.command("/export csv tag:vip", ADMIN)
    name, content = sent.files["document"]
    assert (sent.method, sent.params["caption"], name[-4:]) == (
        "sendDocument",
        "Exported 1 contact (tag:vip).",
        ".csv",
    )
    assert content.decode("utf-8-sig").splitlines() == [
        "id,name,email,phone,company,city,country,tags",
        "3,Beto Díaz,,+593 987654321,,,PE,vip",
    ]
    [pdf] = await tg.command("/export pdf", ADMIN)
    assert pdf.files["document"][0].endswith(".pdf")
    assert pdf.files["document"][1].startswith(b"%PDF-")


async def test_a_long_list_is_split_on_lines_and_a_huge_one_becomes_a_file(
    tg: TelegramChat,
) -> None:
    await many(120, name_width=40)
    sent = await tg.command("/filter country:EC", AGENT)
    assert [c.method for c in sent] == ["sendMessage", "sendMessage"]
    texts = [parsed(c.params["text"]) for c in sent]
    assert all(len(t) <= 4096 for t in texts)
    lines = "\n".join(texts).splitlines()
    assert lines[0] == "Filter country:EC: 120 contacts" and len(lines) == 101
    assert [c.buttons()[0][0] if c.buttons() else None for c in sent] == [None, "Next page"]
    rest = await tg.press(sent[1], "Next page", AGENT)
    assert parsed(rest[0].params["text"]).splitlines()[0] == "Filter country:EC, more:"
    assert len(parsed(rest[0].params["text"]).splitlines()) == 21
    await many(105, name_width=200, prefix="Wide")
    huge = await tg.command("/search wide", AGENT)
    assert [c.method for c in huge] == ["sendDocument", "sendMessage"]
    name, content = huge[0].files["document"]
    assert name.startswith("reply-") and name.endswith(".txt")
    assert content.decode().splitlines()[0] == "Search `wide`: 105 contacts"
    assert len(content.decode().splitlines()) == 101
    assert (
        huge[0].params["caption"]
        == "Search <code>wide</code>: 105 contacts (the list is in the file)"
    )
    assert (huge[1].params["text"], huge[1].buttons()[0][0]) == ("More:", "Next page")


async def _vip_and_doomed() -> None:
    """#3 Beto Díaz (vip) is kept; #4 Cris Lara, his duplicate, carries Borrar and lead."""
    from store import tags
    from tests.bots.people import admin_actor

    await people()
    await tags.add(await admin_actor(), 4, ["Borrar", "lead"])


PREVIEW = [
    "Merge #4 into #3? #3 stays; #4's 0 identities, 0 messages, 0 notes and tag lead move to it.",
    "Borrar (the reset tag) does not move: #3 keeps its own state unless you press “Also move"
    " Borrar”.",
    "Name: #3 Beto Díaz | #4 Cris Lara → keeps Beto Díaz",
    "Phone: #3 +593987654321 | #4 (empty) → keeps +593987654321",
    "Country: #3 PE | #4 EC → keeps PE",
]


async def test_merge_names_the_moving_tags_and_holds_the_reset_tag_back(tg: TelegramChat) -> None:
    await _vip_and_doomed()
    [ask] = await tg.command("/merge #3 #4", ADMIN)
    assert parsed(ask.params["text"]).splitlines() == PREVIEW
    assert [label for label, _ in ask.buttons()] == [
        "Name: use #4", "Country: use #4", "Also move Borrar", "Merge", "Cancel",
    ]  # fmt: skip
    [merged] = await tg.press(ask, "Merge", ADMIN)
    assert (merged.method, merged.params["text"]) == (
        "editMessageText",
        "Merged #4 into #3 Beto Díaz. Tags moved: lead. Borrar (the reset tag) did not move.",
    )
    assert await h.rows(
        "SELECT t.name FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
        " WHERE ct.contact_id = 3 ORDER BY t.key"
    ) == [{"name": "lead"}, {"name": "vip"}]
    assert await tg.texts("/unmerge #4", ADMIN) == [
        "Unmerged: #3 Beto Díaz and #4 Cris Lara are separate again."
    ]
    assert await h.rows("SELECT contact_id FROM contact_tag ORDER BY contact_id, tag_id") == [
        {"contact_id": 3}, {"contact_id": 4}, {"contact_id": 4},
    ]  # fmt: skip


async def test_the_reset_tag_moves_when_its_button_is_pressed(tg: TelegramChat) -> None:
    await _vip_and_doomed()
    [ask] = await tg.command("/merge #3 #4", ADMIN)
    [picked] = await tg.press(ask, "Also move Borrar", ADMIN)
    assert picked.method == "editMessageText"
    assert parsed(picked.params["text"]).splitlines() == [
        PREVIEW[0],
        "Borrar (the reset tag) moves too: a tagged monthly reset will delete #3.",
        *PREVIEW[2:],
    ]
    assert [label for label, _ in picked.buttons()][2] == "Do not move Borrar"
    [merged] = await tg.press(picked, "Merge", ADMIN)
    assert merged.params["text"] == "Merged #4 into #3 Beto Díaz. Tags moved: Borrar, lead."
    assert await h.rows(
        "SELECT t.name FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
        " WHERE ct.contact_id = 3 ORDER BY t.key"
    ) == [{"name": "Borrar"}, {"name": "lead"}, {"name": "vip"}]


async def test_a_pick_that_would_blank_a_value_is_refused_even_when_forged(
    tg: TelegramChat,
) -> None:
    await _vip_and_doomed()
    [ask] = await tg.command("/merge #3 #4", ADMIN)
    ws = await h.scalar("SELECT id FROM workspace WHERE slug = 'acme'")
    pid = await h.scalar("SELECT id FROM bot_action WHERE kind = 'merge'")
    phone = sign_action(ws, f"p:{pid}:f1", timedelta(minutes=5))  # the phone: #4 has none
    sent = await tg.send(u.press(phone, ADMIN, ask.result))
    assert [parsed(c.params["text"]) for c in sent if "text" in c.params] == [
        "That field has an empty side: a pick never blanks a value."
    ]
    await tg.press(ask, "Merge", ADMIN)
    assert await h.rows("SELECT phone FROM contact WHERE id = 3") == [{"phone": "+593987654321"}]
