"""What admins do in chat: bulk ops, views, merge/unmerge, delete, export and import files."""

from __future__ import annotations

import csv
import io

from bots.core import InFile, Reply
from store.serial import load_json
from tests import helpers as h
from tests.bots.chat import ADMIN, Chat, labels
from tests.bots.people import people


async def test_bulk_operations_show_the_count_and_apply_on_confirmation(chat: Chat) -> None:
    await people()
    ask = await chat.one('tag-all country:EC "Zona Norte"', ADMIN)
    assert (ask.text, labels(ask)) == (
        "2 contacts match `country:EC`. Tag them all with *Zona Norte*?",
        ["Tag 2", "Cancel"],
    )
    assert await chat.press(ask, "Tag 2", ADMIN) == [
        Reply("Tagged 2 contacts (Zona Norte).", replace=True)
    ]
    ask = await chat.one("untag-all tag:vip vip", ADMIN)
    assert ask.text == "1 contact matches `tag:vip`. Take *vip* off them all?"
    assert (await chat.press(ask, "Untag 1", ADMIN))[0].text == "Untagged 1 contact (vip)."
    assert (await chat.one("delete-all tag:nothing", ADMIN)).text == (
        "No contacts match `tag:nothing`; nothing to do."
    )
    ask = await chat.one('delete-all tag:"zona norte"', ADMIN)
    assert ask.text == (
        '2 contacts match `tag:"zona norte"`. Delete them all with their messages, notes and'
        " tags? This cannot be undone."
    )
    await chat.one("tag #1 zona-norte", ADMIN)
    await chat.one('tag #1 "Zona Norte"', ADMIN)  # a third match since the count was shown
    assert await chat.press(ask, "Delete 2", ADMIN) == [
        Reply("3 contacts match now, not the 2 confirmed.")
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4
    ask = await chat.one('delete-all tag:"zona norte"', ADMIN)
    assert (await chat.press(ask, "Delete 3", ADMIN))[0].text == "Deleted 3 contacts."
    assert await h.rows("SELECT name FROM contact") == [{"name": "Beto Díaz"}]
    assert (await chat.one("tag-all country:EC", ADMIN)).text.startswith(
        "Give a filter expression, then the tag."
    )


async def test_views_save_list_run_replace_and_delete(chat: Chat) -> None:
    await people()
    assert (await chat.one("view list")).text == (
        "No saved views yet. Save one: `/view save <name> <filter>`."
    )
    assert (await chat.one('view save "Ecuador" country:EC', ADMIN)).text == (
        "Saved view *Ecuador*. Run it: `/view run Ecuador`."
    )
    ask = await chat.one("view save Ecuador country:PE", ADMIN)
    assert (ask.text, labels(ask)) == ("A view named *Ecuador* exists. Replace it?",
                                       ["Replace", "Cancel"])  # fmt: skip
    assert (await chat.press(ask, "Replace", ADMIN))[0].text == "Replaced view *Ecuador*."
    assert (await chat.one("views")).text == (
        '*Saved views*\n*Ecuador*: `{"field":"country","op":"eq","value":"PE"}`'
        " sorted -last_activity_at"
    )
    assert (await chat.one("view run Ecuador")).text == (
        "View *Ecuador*: 1 contact\n`#3` *Beto Díaz* · +593987654321 · [vip]"
    )
    assert (await chat.one("view run Nope")).text == "No view 'Nope'."
    assert (await chat.one("view frob")).text.startswith("Unknown view subcommand 'frob'")
    assert (await chat.one("view delete Ecuador", ADMIN)).text == "Deleted view *Ecuador*."
    assert await h.scalar("SELECT COUNT(*) FROM view") == 0


async def test_merge_previews_each_field_lets_picks_flip_and_confirms(chat: Chat) -> None:
    ids = await people()
    ask = await chat.one(f"merge #{ids['ana']} gomez@example.com", ADMIN)
    assert ask.text == (
        "*Merge #2 into #1?* #1 stays; #2's 0 identities, 0 messages, 0 notes and no tags"
        " move to it.\n"
        "Name: #1 `Ana Pérez` | #2 `Ana Gómez` → keeps `Ana Pérez`\n"
        "Email: #1 `ana@example.com` | #2 `gomez@example.com` → keeps `ana@example.com`\n"
        "Phone: #1 `+593991234567` | #2 `(empty)` → keeps `+593991234567`\n"
        "Country: #1 `(empty)` | #2 `EC` → keeps `EC`"
    )
    # No pick for phone or country: one side is empty, and a pick never blanks a value.
    assert labels(ask) == ["Name: use #2", "Email: use #2", "Merge", "Cancel"]
    [flipped] = await chat.press(ask, "Email: use #2", ADMIN)
    assert flipped.replace and flipped.text.splitlines()[2] == (
        "Email: #1 `ana@example.com` | #2 `gomez@example.com` → keeps `gomez@example.com`"
    )
    assert labels(flipped)[1] == "Email: use #1"
    [merged] = await chat.press(flipped, "Merge", ADMIN)
    assert merged == Reply("Merged #2 into #1 Ana Pérez. No tag moved.", contact_id=1, replace=True)
    assert await h.rows("SELECT email, country FROM contact WHERE id = 1") == [
        {"email": "gomez@example.com", "country": "EC"}
    ]
    assert (await chat.press(flipped, "Merge", ADMIN))[0].text == (
        "That was already done or cancelled."
    )
    assert (await chat.one("unmerge #2", ADMIN)).text == (
        "Unmerged: #1 Ana Pérez and #2 Ana Gómez are separate again."
    )
    assert (await chat.one("unmerge #2", ADMIN)).text == "Contact #2 has no merge to undo."
    assert (await chat.one("merge #1", ADMIN)).text.startswith("Say what to do with the contact")
    assert (await chat.one("merge #1 #1", ADMIN)).text == "Cannot merge contact #1 with itself."
    assert await h.rows(
        "SELECT actor, action FROM audit_log WHERE action LIKE 'contact.%merge' ORDER BY id"
    ) == [
        {"actor": "telegram:200", "action": "contact.merge"},
        {"actor": "telegram:200", "action": "contact.unmerge"},
    ]


async def test_export_uploads_a_csv_or_pdf_of_all_a_filter_or_a_view(chat: Chat) -> None:
    await people()
    everything = await chat.one("export", ADMIN)
    assert everything.text == "Exported 4 contacts."
    assert everything.file is not None and everything.file.mime == "text/csv"
    assert everything.file.name.startswith("contacts-") and everything.file.name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(everything.file.content.decode("utf-8-sig"))))
    assert rows == [
        ["id", "name", "email", "phone", "company", "city", "country", "tags"],
        ["1", "Ana Pérez", "ana@example.com", "+593 991234567", "", "", "", ""],
        ["2", "Ana Gómez", "gomez@example.com", "", "", "", "EC", ""],
        ["3", "Beto Díaz", "", "+593 987654321", "", "", "PE", "vip"],
        ["4", "Cris Lara", "", "", "", "", "EC", ""],
    ]
    await chat.one("view save peru country:PE", ADMIN)
    by_view = await chat.one("export csv peru", ADMIN)
    assert by_view.text == "Exported 1 contact (peru)."
    assert by_view.file is not None and b"Beto" in by_view.file.content
    pdf = await chat.one("export pdf tag:vip", ADMIN)
    assert pdf.text == "Exported 1 contact (tag:vip)."
    assert pdf.file is not None and pdf.file.mime == "application/pdf"
    assert pdf.file.content.startswith(b"%PDF-")
    assert (await chat.one("export csv bogus:1", ADMIN)).text.startswith("Unknown field")
    assert (
        await h.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'contact.export' AND actor = ?",
            "telegram:200",
        )
        == 3
    )


CSV = (
    b"name,email,phone,tags\n"
    b"Dana Ruiz,dana@example.com,+593 98 111 2222,nuevo\n"
    b"Ana P.,ana@example.com,,\n"
    b"Bad Row,not-an-email,,\n"
)


async def test_import_runs_dry_first_then_applies_on_confirmation(chat: Chat) -> None:
    await people()
    assert (await chat.one("import", ADMIN)).text.startswith("Send me the CSV file")
    upload = InFile("nuevos.csv", CSV)
    errors, ask = await chat.say("import", ADMIN, file=upload)
    assert ask.text == (
        "Dry run of nuevos.csv: 3 rows: 1 new, 0 updated, 0 skipped (unchanged or blank),"
        " 1 conflict (would overwrite another person: not written), 1 with errors.\nApply it?"
    )
    assert labels(ask) == ["Import 1 row", "Import 2 rows, overwriting 1 conflict", "Cancel"]
    assert errors.text == "Rows with errors or conflicts:" and errors.file is not None
    assert errors.file.name == "errors-nuevos.csv"
    assert list(csv.reader(io.StringIO(errors.file.content.decode()))) == [
        ["line", "error", "name", "email", "phone", "tags"],
        [
            "3",
            "conflict: the email matches contact #1, whose name is another person's; not"
            " written (differs: name 'Ana Pérez' -> 'Ana P.')",
            *("Ana P.", "ana@example.com", "", ""),
        ],
        ["4", "email 'not-an-email' is not a valid address", "Bad Row", "not-an-email", "", ""],
    ]
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 4  # a dry run writes nothing
    done = await chat.press(ask, "Import 1 row", ADMIN)
    assert [r.text for r in done] == [
        "Imported nuevos.csv: 3 rows: 1 new, 0 updated, 0 skipped (unchanged or blank),"
        " 1 conflict (would overwrite another person: not written), 1 with errors.",
        "Rows with errors or conflicts:",
    ]
    assert done[0].replace
    assert await h.rows("SELECT name, phone FROM contact WHERE email = 'dana@example.com'") == [
        {"name": "Dana Ruiz", "phone": "+593981112222"}
    ]
    assert await h.scalar("SELECT name FROM contact WHERE id = 1") == "Ana Pérez"
    assert (await chat.press(ask, "Import 1 row", ADMIN))[0].text == (
        "That was already done or cancelled."
    )
    assert await h.scalar("SELECT COUNT(*) FROM contact") == 5
    assert await h.rows(
        "SELECT actor, action, target FROM audit_log WHERE action = 'contact.import'"
    ) == [{"actor": "telegram:200", "action": "contact.import", "target": "nuevos.csv"}]
    empty = await chat.say("import", ADMIN, file=InFile("x.csv", b"name,email\n,not-an-email\n"))
    assert [r.text.splitlines()[-1] for r in empty] == ["Nothing to import."]
    assert (await chat.one("import", ADMIN, file=InFile("x.csv", b"\xff\xfe\x00"))).text


async def test_import_counts_the_rows_that_would_change_and_can_overwrite_conflicts(
    chat: Chat,
) -> None:
    await people()
    upload = InFile("nuevos.csv", CSV)
    _errors, first = await chat.say("import", ADMIN, file=upload)
    await chat.press(first, "Import 1 row", ADMIN)
    _errors, ask = await chat.say("import", ADMIN, file=upload)  # Dana is there now: unchanged
    assert ask.text == (
        "Dry run of nuevos.csv: 3 rows: 0 new, 0 updated, 1 skipped (unchanged or blank),"
        " 1 conflict (would overwrite another person: not written), 1 with errors.\nApply it?"
    )
    assert labels(ask) == ["Import 1 row, overwriting 1 conflict", "Cancel"]
    done = await chat.press(ask, "Import 1 row, overwriting 1 conflict", ADMIN)
    assert [r.text for r in done] == [
        "Imported nuevos.csv: 3 rows: 0 new, 1 updated, 1 skipped (unchanged or blank),"
        " 1 with errors.",
        "Rows with errors:",
    ]
    assert await h.rows("SELECT name, email FROM contact WHERE id = 1") == [
        {"name": "Ana P.", "email": "ana@example.com"}
    ]
    audit = await h.rows("SELECT detail FROM audit_log WHERE action = 'contact.import'")
    assert [load_json(a["detail"])["on_conflict"] for a in audit] == ["skip", "update"]
    again = await chat.say("import", ADMIN, file=upload)
    assert [r.text.splitlines()[-1] for r in again] == ["Nothing to import."]
