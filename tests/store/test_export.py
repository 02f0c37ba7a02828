"""Contact export: CSV content, columns, filters and views, keyset batches, PDF pages."""

from __future__ import annotations

import io
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pypdfium2
import pytest

from store import views
from store.access import Actor
from store.contacts import insert, upsert
from store.db import ClientTx, raw_transaction
from store.errors import Forbidden, Invalid
from store.files import export, pdf
from store.serial import load_json
from store.setup import get_workspace
from store.tags import add as add_tags
from tests import helpers as h

on_both_databases = pytest.mark.usefixtures("orm")


@dataclass
class Seeded:
    actor: Actor
    ids: dict[str, int]


async def _contact(actor: Actor, tags: list[str] | None = None, **fields: Any) -> int:
    contact, _created = await upsert(actor, fields)
    if tags:
        await add_tags(actor, contact.id, tags)
    return contact.id


async def _identity(ws: int, channel_id: int, contact_id: int, external_id: str) -> None:
    async with raw_transaction() as tx:
        await tx.execute(
            "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, period,"
            " created_at) VALUES (?,?,?,?,?,?)",
            [ws, channel_id, contact_id, external_id, "2026-10", datetime.now(UTC)],
        )


async def _sql(sql: str, params: list[Any]) -> None:
    async with raw_transaction() as tx:
        await tx.execute(sql, params)


async def seed() -> Seeded:
    """Four live contacts of acme, one merged away, one of another workspace."""
    await h.workspace("acme", region="EC")
    await h.workspace("other", region="EC")
    ws = (await get_workspace("acme")).id
    actor = Actor(ws, "tester", "api", "admin")
    tg, wa = await h.channel("telegram"), await h.channel("whatsapp")
    ids = {
        "jose": await _contact(
            actor,
            ["vip", "Borrar"],
            name="José Ñúñez",
            email="jose@example.com",
            phone="0991234567",
            company="Ñandú, S.A.",
            city="Quito",
            country="EC",
            custom={"plan": "gold", "vip": True},
        ),
        "zoe": await _contact(
            actor,
            ["vip"],
            name='Zoë "Z" Adams',
            email="zoe@example.org",
            company="Casa\nMatriz",
            city="Lima",
            country="PE",
            custom={"score": 7},
        ),
        "formula": await _contact(actor, name="=1+2", phone="+51987654321", country="PE"),
        "nameless": await _contact(actor, email="someone@example.net", country="EC"),
        "old": await _contact(actor, name="José Viejo", identifier="legacy-1", country="EC"),
    }
    await _identity(ws, tg.id, ids["jose"], "111")
    await _identity(ws, wa.id, ids["jose"], "593991234567")
    await _identity(ws, tg.id, ids["jose"], "112")
    await _identity(ws, wa.id, ids["zoe"], "51999888777")
    await _sql("UPDATE contact SET merged_into_id = ? WHERE id = ?", [ids["jose"], ids["old"]])
    await _sql("UPDATE contact SET last_channel_id = ? WHERE id = ?", [tg.id, ids["jose"]])
    other = Actor((await get_workspace("other")).id, "tester", "api", "admin")
    await _contact(other, name="José Otro", country="EC", custom={"secret": "x"})
    return Seeded(actor, ids)


async def csv_text(actor: Actor, **options: Any) -> str:
    out = io.BytesIO()
    await export.write_csv(actor, out, **options)
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    return data[3:].decode()


@on_both_databases
async def test_default_columns_written_out_in_full() -> None:
    seeded = await seed()
    i = seeded.ids
    assert await csv_text(seeded.actor) == (
        "id,name,email,phone,company,city,country,tags\r\n"
        f'{i["jose"]},José Ñúñez,jose@example.com,+593 991234567,"Ñandú, S.A.",Quito,EC,'
        '"Borrar, vip"\r\n'
        f'{i["zoe"]},"Zoë ""Z"" Adams",zoe@example.org,,"Casa\nMatriz",Lima,PE,vip\r\n'
        f"{i['formula']},'=1+2,,+51 987654321,,,PE,\r\n"
        f"{i['nameless']},,someone@example.net,,,,EC,\r\n"
    )


@on_both_databases
async def test_chosen_columns_name_first_channels_and_custom() -> None:
    seeded = await seed()
    text = await csv_text(
        seeded.actor, columns=["channels", "custom.plan", "last_channel", "name", "channels"]
    )
    assert text == (
        "name,channels,custom.plan,last_channel\r\n"
        'José Ñúñez,"telegram, whatsapp",gold,telegram\r\n'
        '"Zoë ""Z"" Adams",whatsapp,,\r\n'
        "'=1+2,,,\r\n"
        ",,,\r\n"
    )


@on_both_databases
async def test_custom_expands_to_the_keys_of_the_exported_set() -> None:
    seeded = await seed()
    everyone = await csv_text(seeded.actor, columns=["email", "custom"])
    assert everyone.splitlines()[0] == "name,email,custom.plan,custom.score,custom.vip"
    assert everyone.splitlines()[1] == "José Ñúñez,jose@example.com,gold,,true"
    zoe = await csv_text(seeded.actor, columns=["custom", "custom.plan"], q="zoe")
    assert zoe == 'name,custom.score,custom.plan\r\n"Zoë ""Z"" Adams",7,\r\n'


@on_both_databases
async def test_times_are_written_and_empty_when_unset() -> None:
    seeded = await seed()
    await _sql("UPDATE workspace SET timezone = 'UTC' WHERE id = ?", [seeded.actor.workspace_id])
    at = datetime(2026, 10, 1, 12, 30, 5, tzinfo=UTC)
    await _sql(
        "UPDATE contact SET created_at = ?, last_incoming_at = ? WHERE id = ?",
        [at, at, seeded.ids["jose"]],
    )
    text = await csv_text(
        seeded.actor, columns=["created_at", "last_incoming_at", "source"], q="jose"
    )
    assert text.splitlines() == [
        "name,created_at,last_incoming_at,source",
        "José Ñúñez,2026-10-01 12:30:05,2026-10-01 12:30:05,api",
    ]


@on_both_databases
async def test_search_excludes_merged_away_and_other_workspaces() -> None:
    seeded = await seed()
    assert await csv_text(seeded.actor, columns=["country"], q="jose") == (
        "name,country\r\nJosé Ñúñez,EC\r\n"
    )


@on_both_databases
async def test_filter_and_view() -> None:
    seeded = await seed()
    assert await csv_text(seeded.actor, columns=["country"], filter="country:PE") == (
        'name,country\r\n"Zoë ""Z"" Adams",PE\r\n\'=1+2,PE\r\n'
    )
    await views.save(seeded.actor, "peru vip", filter="country:PE tag:vip", columns=["email"])
    assert await csv_text(seeded.actor, view="peru vip") == (
        'name,email\r\n"Zoë ""Z"" Adams",zoe@example.org\r\n'
    )
    both = await csv_text(seeded.actor, view="peru vip", filter="-tag:vip", columns=["city"])
    assert both == "name,city\r\n"


@on_both_databases
async def test_view_columns_apply_unless_columns_are_chosen() -> None:
    seeded = await seed()
    await views.save(seeded.actor, "mail", columns=["email", "tags"])
    text = await csv_text(seeded.actor, view="mail")
    assert text.splitlines()[:2] == ["name,email,tags", 'José Ñúñez,jose@example.com,"Borrar, vip"']
    assert (await csv_text(seeded.actor, view="mail", columns=["city"])).splitlines()[0] == (
        "name,city"
    )


@on_both_databases
async def test_unknown_column_names_it_and_lists_the_valid_ones() -> None:
    seeded = await seed()
    with pytest.raises(Invalid) as caught:
        await export.write_csv(seeded.actor, io.BytesIO(), columns=["email", "salary"])
    assert str(caught.value) == (
        "unknown column 'salary'; valid columns: id, name, email, phone, identifier, company,"
        " city, country, language, assignee, source, created_at, updated_at, last_activity_at,"
        " last_incoming_at, last_channel, tags, channels, custom; custom fields: plan, score,"
        " vip; channels: telegram, whatsapp"
    )
    with pytest.raises(Invalid, match=r"unknown column 'custom\.'"):
        await export.export_rows(seeded.actor, columns=["custom."])


@on_both_databases
async def test_custom_fields_and_channels_are_chosen_by_their_own_names() -> None:
    seeded = await seed()
    text = await csv_text(seeded.actor, columns=["PLAN", "whatsapp", "telegram", "id"], q="jose")
    assert text == (
        "id,name,custom.plan,channel.whatsapp,channel.telegram\r\n"
        f'{seeded.ids["jose"]},José Ñúñez,gold,593991234567,"111, 112"\r\n'
    )


@on_both_databases
async def test_times_are_in_the_workspaces_timezone() -> None:
    seeded = await seed()
    when = datetime(2026, 3, 1, 3, 30, tzinfo=UTC)
    await _sql("UPDATE contact SET created_at = ? WHERE id = ?", [when, seeded.ids["jose"]])
    zone = ["America/Guayaquil", seeded.actor.workspace_id]
    await _sql("UPDATE workspace SET timezone = ? WHERE id = ?", zone)
    text = await csv_text(seeded.actor, columns=["created_at"], q="jose")
    assert text.splitlines()[1] == "José Ñúñez,2026-02-28 22:30:00"


@on_both_databases
async def test_agents_may_not_export() -> None:
    seeded = await seed()
    agent = Actor(seeded.actor.workspace_id, "ana", "api", "agent")
    with pytest.raises(Forbidden, match="needs the admin role"):
        await export.write_csv(agent, io.BytesIO())
    with pytest.raises(Forbidden):
        await export.write_pdf(agent, io.BytesIO())


async def _many(actor: Actor, n: int) -> list[int]:
    async with raw_transaction() as tx:
        return [
            await insert(
                tx, actor.workspace_id, {"name": f"Persona {i:03d}", "city": "Cuenca"}, "api"
            )
            for i in range(n)
        ]


@on_both_databases
async def test_keyset_batches_return_each_contact_once_in_id_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded = await seed()
    ids = await _many(seeded.actor, 8)
    await _sql("UPDATE contact SET merged_into_id = ? WHERE id = ?", [ids[0], ids[4]])
    cursors: list[tuple[Any, Any]] = []
    fetch = ClientTx.fetch

    async def spy(self: ClientTx, sql: str, params: Any = ()) -> Any:
        if "c.id > ?" in sql:
            cursors.append((params[-2], params[-1]))
        return await fetch(self, sql, params)

    monkeypatch.setattr(ClientTx, "fetch", spy)
    header, body = await export.export_rows(seeded.actor, columns=["city"], q="persona", batch=3)
    got = [row async for row in body]
    live = [i for n, i in enumerate(ids) if n != 4]
    assert header == ["name", "city"]
    assert got == [[f"Persona {n:03d}", "Cuenca"] for n in range(8) if n != 4]
    assert cursors == [(0, 3), (live[2], 3), (live[5], 3)]


async def _audits() -> list[dict[str, Any]]:
    found = await h.rows(
        "SELECT actor, action, target, detail FROM audit_log WHERE action = ? ORDER BY id",
        "contact.export",
    )
    return [{**r, "detail": load_json(r["detail"])} for r in found]


@on_both_databases
async def test_export_is_audited_with_count_and_options(tmp_path: Any) -> None:
    seeded = await seed()
    path = tmp_path / "out.csv"
    result = await export.write_csv(seeded.actor, path, columns=["email"], q="example")
    assert result == export.ExportResult(3, ["name", "email"], str(path))
    assert path.read_bytes().count(b"\r\n") == 4
    assert await _audits() == [
        {
            "actor": "tester",
            "action": "contact.export",
            "target": "csv",
            "detail": {
                "format": "csv",
                "rows": 3,
                "columns": ["name", "email"],
                "filter": None,
                "view": None,
                "q": "example",
                "complete": True,
            },
        }
    ]


@on_both_databases
async def test_streamed_csv_matches_the_file_and_audits_partial_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seeded = await seed()
    chunks = await export.iter_csv(seeded.actor, columns=["country"])
    streamed = b"".join([chunk async for chunk in chunks])
    out = io.BytesIO()
    await export.write_csv(seeded.actor, out, columns=["country"])
    assert streamed == out.getvalue()
    monkeypatch.setattr(export, "CHUNK_ROWS", 1)
    partial = await export.iter_csv(seeded.actor)
    async with aclosing(partial):
        first = await anext(partial)
    assert first.startswith(b"\xef\xbb\xbfid,name,email")
    assert [(a["detail"]["rows"], a["detail"]["complete"]) for a in await _audits()] == [
        (4, True),
        (4, True),
        (1, False),
    ]


def _pdf_pages(data: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(data)
    return [page.get_textpage().get_text_range() for page in document]


@on_both_databases
async def test_pdf_table_has_header_names_with_accents_and_draws_ink() -> None:
    seeded = await seed()
    out = io.BytesIO()
    result = await export.write_pdf(seeded.actor, out, columns=["email", "tags", "channels"])
    assert result == export.ExportResult(4, ["name", "email", "tags", "channels"], None)
    data = out.getvalue()
    assert data.startswith(b"%PDF-")
    [page] = _pdf_pages(data)
    for text in ("Contacts - acme", "4 contacts", "name", "email", "tags", "channels"):
        assert text in page
    for text in ("José Ñúñez", 'Zoë "Z" Adams', "=1+2", "Borrar, vip", "telegram, whatsapp"):
        assert text in page
    assert page.splitlines()[-1] == "page 1"
    image = pypdfium2.PdfDocument(data)[0].render(scale=1).to_pil().convert("L")
    assert image.size == (842, 596)  # landscape A4 at 72 dpi
    darkest, lightest = image.getextrema()
    assert lightest == 255 and darkest < 80
    assert sum(1 for v in image.get_flattened_data() if v < 128) > 1000


@on_both_databases
async def test_pdf_repeats_the_header_on_every_page() -> None:
    seeded = await seed()
    await _many(seeded.actor, 120)
    out = io.BytesIO()
    result = await export.write_pdf(seeded.actor, out, columns=["city"], q="persona")
    pages = _pdf_pages(out.getvalue())
    assert result.rows == 120 and len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        lines = text.splitlines()
        assert lines[2 if number == 1 else 0] == "name city"
        assert lines[-1] == f"page {number}"
    assert pages[0].splitlines()[3] == "Persona 000 Cuenca"
    assert pages[-1].splitlines()[-2] == "Persona 119 Cuenca"


@on_both_databases
async def test_pdf_above_the_row_limit_suggests_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = await seed()
    monkeypatch.setattr(export, "PDF_ROW_LIMIT", 3)
    with pytest.raises(Invalid) as caught:
        await export.write_pdf(seeded.actor, io.BytesIO())
    assert str(caught.value) == (
        "4 contacts is more than a PDF export holds (3); export CSV instead,"
        " or narrow it with a filter"
    )


def test_column_widths_share_the_page() -> None:
    assert pdf.share([10, 20], 100) == [45, 55]
    assert pdf.share([10, 80, 80, 80], 100) == [10, 30, 30, 30]  # capped at 40% each first
    assert pdf.share([10, 200], 100) == [35, 65]


def test_cells_are_cut_with_an_ellipsis_on_one_line() -> None:
    table = pdf.TablePdf("t", "s", ["name"])
    table.set_font(table.family, "", 8)
    assert table.fit("Zoë", 30) == "Zoë"
    assert table.fit("Casa\nMatriz\t SA", 60) == "Casa Matriz SA"
    cut = table.fit("Compañía " * 20, 30)
    assert cut == "Compañía Compa…"
    assert table.get_string_width(cut) <= 30 - 2 * table.c_margin
    assert table.get_string_width("Compañía Compañ…") > 30 - 2 * table.c_margin


def test_characters_no_font_has_become_question_marks() -> None:
    assert pdf.printable("张伟 José", set(map(ord, "José "))) == "?? José"
    assert pdf._core_printable("José Ñúñez Erdős Łukasz 张") == "José Ñúñez Erdos ?ukasz ?"


async def _pdf_of(rows: list[list[str]], header: list[str]) -> list[str]:
    async def body() -> Any:
        for row in rows:
            yield row

    done = await pdf.render_table("Contacts - acme", "2 contacts", header, body())
    return _pdf_pages(done.data)


async def test_without_dejavu_the_core_font_keeps_western_accents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pdf, "FONT_DIRS", ())
    [page] = await _pdf_of([["José Ñúñez", "Zoë"], ["张伟", "{nb}"]], ["name", "city"])
    assert page.splitlines() == [
        "Contacts - acme",
        "2 contacts",
        "name city",
        "José Ñúñez Zoë",
        "?? {nb}",
        "page 1",
    ]


@on_both_databases
async def test_long_cells_are_truncated_in_the_export() -> None:
    seeded = await seed()
    await _sql("UPDATE contact SET company = ? WHERE id = ?", ["Compañía " * 25, seeded.ids["zoe"]])
    out = io.BytesIO()
    await export.write_pdf(seeded.actor, out, columns=["company", "city"], q="zoe")
    [page] = _pdf_pages(out.getvalue())
    row = page.splitlines()[3]
    assert row.startswith('Zoë "Z" Adams Compañía Compañía') and row.endswith("… Lima")


@on_both_databases
async def test_an_empty_selection_gives_a_header_only() -> None:
    seeded = await seed()
    assert await csv_text(seeded.actor, q="nobody-matches") == (
        "id,name,email,phone,company,city,country,tags\r\n"
    )
    out = io.BytesIO()
    result = await export.write_pdf(seeded.actor, out, q="nobody-matches", columns=["city"])
    [page] = _pdf_pages(out.getvalue())
    assert result.rows == 0
    assert page.splitlines()[0] == "Contacts - acme"
    assert page.splitlines()[1].startswith("0 contacts · exported ")
    assert page.splitlines()[1].endswith(" UTC · search: nobody-matches")
    assert page.splitlines()[2:] == ["name city", "page 1"]


@on_both_databases
async def test_progress_counts_every_chunk_against_the_matching_total() -> None:
    seeded = await seed()
    for i in range(export.CHUNK_ROWS + 3):
        await _contact(seeded.actor, name=f"Extra {i}", email=f"extra{i}@example.com")
    total = await export.count_rows(seeded.actor, q="extra")
    assert total == export.CHUNK_ROWS + 3
    seen: list[tuple[int, int]] = []
    done = await export.write_csv(
        seeded.actor, io.BytesIO(), progress=lambda d, t: seen.append((d, t)), q="extra"
    )
    assert done.rows == total
    assert seen == [(export.CHUNK_ROWS, total), (total, total)]
