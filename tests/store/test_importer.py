"""CSV import on SQLite and PostgreSQL: encodings, delimiters, header synonyms, custom columns,
tags, upsert order, conflicts, dry run, the error report, broken files and a streamed big file;
and the one-parse phone helper the import uses (store.phones.parse_phone)."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import contacts, merge, phones, refs, tags, text
from store.access import Actor
from store.db import raw_transaction
from store.errors import Forbidden, Invalid
from store.files import csvio, importer
from store.files.import_conflicts import Written
from store.files.importer import ImportResult, import_csv
from store.serial import load_json
from store.setup import get_workspace
from tests import helpers

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
JOSE = {
    "name": "José Núñez",
    "email": "jose@example.com",
    "phone": "+593991234567",
    "identifier": None,
    "company": None,
    "city": "Quito",
    "country": "EC",
    "language": None,
    "custom": {"Plan": "oro"},
    "tags": ["Borrar", "VIP"],
    "source": "import",
}
ZOE = {
    **JOSE,
    "name": "Zoë Adams",
    "email": "zoe@example.org",
    "phone": "+51912345678",
    "city": "Lima",
    "country": "PE",
    "custom": {"Plan": "plata"},
    "tags": [],
}
SHOWN = ("name", "email", "phone", "identifier", "company", "city", "country", "language")


async def _actor(role: str = "admin") -> Actor:
    await helpers.workspace("acme", region="EC")
    return Actor((await get_workspace("acme")).id, "cli", "cli", role)


async def _people() -> list[dict[str, Any]]:
    """Every live contact as the import sees it, oldest first."""
    rows = await helpers.rows(
        f"SELECT id, {', '.join(SHOWN)}, custom, source FROM contact"
        " WHERE merged_into_id IS NULL ORDER BY id"
    )
    links = await helpers.rows(
        "SELECT ct.contact_id, t.name FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
        " ORDER BY t.key"
    )
    out = []
    for row in rows:
        person = {k: row[k] for k in SHOWN} | {"custom": load_json(row["custom"])}
        person["tags"] = [str(link["name"]) for link in links if link["contact_id"] == row["id"]]
        out.append(person | {"source": row["source"]})
    return out


async def _snapshot() -> dict[str, Any]:
    """Everything an import may write."""
    return {
        table: await helpers.rows(f"SELECT * FROM {table} ORDER BY id")
        for table in ("contact", "tag", "contact_tag", "audit_log", "event")
    }


def _result(rows: int, created: int, updated: int, skipped: int, failed: int, **kw: Any) -> Any:
    base: dict[str, Any] = {
        **{"conflicts": 0, "errors_path": None, "encoding": "utf-8", "delimiter": ","},
        **{"dry_run": False, "on_conflict": "skip"},
    }
    return ImportResult(rows, created, updated, skipped, failed, **(base | kw))


def _write(tmp_path: Path, text: str, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


@pytest.mark.parametrize(
    ("fixture", "encoding", "delimiter"),
    [
        ("people__utf8_bom_comma.csv", "utf-8-sig", ","),
        ("people__latin1_semicolon.csv", "cp1252", ";"),
        ("people__utf8_tab.csv", "utf-8", "\t"),
    ],
)
async def test_encodings_delimiters_and_header_synonyms_give_the_same_contacts(
    orm: str, fixture: str, encoding: str, delimiter: str
) -> None:
    actor = await _actor()
    result = await import_csv(actor, FIXTURES / fixture)
    assert result == _result(2, 2, 0, 0, 0, encoding=encoding, delimiter=delimiter)
    assert await _people() == [JOSE, ZOE]
    audit = await helpers.rows("SELECT actor, surface, action, target, detail FROM audit_log")
    assert [a | {"detail": load_json(a["detail"])} for a in audit[1:]] == [
        {
            "actor": "cli",
            "surface": "cli",
            "action": "contact.import",
            "target": fixture,
            "detail": {
                **{"rows": 2, "created": 2, "updated": 0, "skipped": 0, "failed": 0},
                **{"conflicts": 0, "on_conflict": "skip", "finished": True},
            },
        }
    ]
    assert await helpers.scalar("SELECT COUNT(*) FROM event") == 0


@pytest.mark.parametrize(
    ("content", "encoding", "names"),
    [
        ("name\nJosé\n".encode(), "utf-8", ["José"]),  # é split across two scanned chunks
        (b"name\nAna\nBob\nJos\xe9\n", "cp1252", ["Ana", "Bob", "José"]),  # a late bad byte
        (b"name\nJos\xe9 \x81\n", "latin-1", ["José \x81"]),  # a byte cp1252 does not define
        ("name\nJosé €\n".encode("cp1252"), "cp1252", ["José €"]),
    ],
)
async def test_encoding_is_decided_from_every_byte_read_in_chunks(
    orm: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    encoding: str,
    names: list[str],
) -> None:
    monkeypatch.setattr(csvio, "CHUNK", 9)
    actor = await _actor()
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    assert (await import_csv(actor, path)).encoding == encoding
    assert [p["name"] for p in await _people()] == names


async def test_spanish_headers_and_custom_columns_as_written(orm: str) -> None:
    actor = await _actor()
    assert await import_csv(actor, FIXTURES / "synonyms.csv") == _result(1, 1, 0, 0, 0)
    assert await _people() == [
        {
            "name": "María Pérez",
            "email": "maria@example.com",
            "phone": "+593987654321",
            "identifier": "crm-7",
            "company": "Acme S.A.",
            "city": "Guayaquil",
            "country": "Ecuador",
            "language": "es",
            "custom": {"Fecha de alta": "2024-05-01", "Segmento": "B2B"},
            "tags": ["Clientes Nuevos"],
            "source": "import",
        }
    ]
    found = await refs.contact(actor, refs.parse("identifier:crm-7"))
    search = await helpers.scalar("SELECT search_text FROM contact WHERE id = ?", found.id)
    assert search == "\n".join(
        [
            *("maria perez", "maria@example.com", "crm-7", "acme s.a.", "guayaquil", "ecuador"),
            *("593987654321", "0987654321", "2024-05-01", "b2b"),
        ]
    )


async def test_tags_in_any_case_or_accent_reuse_one_tag(orm: str, tmp_path: Path) -> None:
    actor = await _actor()
    old, _ = await contacts.upsert(actor, {"name": "Old"})
    await tags.add(actor, old.id, ["Borrar"])
    path = _write(
        tmp_path,
        'name,tags\nAna,"borrar, VIP"\nBea,BÓRRAR|vip; Vip\nCleo,Clientes Nuevos;clientes nuevos\n',
    )
    assert await import_csv(actor, path) == _result(3, 3, 0, 0, 0)
    assert [(p["name"], p["tags"]) for p in await _people()] == [
        ("Old", ["Borrar"]),
        ("Ana", ["Borrar", "VIP"]),
        ("Bea", ["Borrar", "VIP"]),
        ("Cleo", ["Clientes Nuevos"]),
    ]
    assert [(t.name, t.contacts) for t in await tags.list_tags(actor)] == [
        ("Borrar", 3),
        ("Clientes Nuevos", 1),
        ("VIP", 2),
    ]


async def test_upsert_by_identifier_then_email_then_phone(orm: str, tmp_path: Path) -> None:
    actor = await _actor()
    await contacts.upsert(actor, {"name": "A", "identifier": "crm-1", "email": "a@x.com"})
    b, _ = await contacts.upsert(actor, {"name": "B", "email": "b@x.com", "phone": "0992222222"})
    c, _ = await contacts.upsert(actor, {"name": "C", "phone": "0993333333"})
    errors = tmp_path / "errors.csv"
    path = _write(
        tmp_path,
        "identifier,email,phone,city\n"
        "crm-1,new@x.com,,Quito\n"  # identifier beats email: A takes the new address
        "crm-9,B@X.com,0993333333,Lima\n"  # email beats phone: B is matched, C's phone refused
        ",,+593 99 333 3333,Cuenca\n"  # a phone in any format finds C
        ",a@x.com,,Loja\n"  # A's old address is free now: a new contact
        "crm-9,,0992222222,Ambato\n"  # unknown identifier: the phone finds B, which takes it
        "crm-9,,,Manta\n",  # the identifier finds B, but the row above wrote B: a conflict
    )
    result = await import_csv(actor, path, errors_path=errors)
    assert result == _result(6, 1, 3, 0, 1, conflicts=1, errors_path=str(errors))
    people = await _people()
    assert [(p["name"], p["identifier"], p["email"], p["phone"], p["city"]) for p in people] == [
        ("A", "crm-1", "new@x.com", None, "Quito"),
        ("B", "crm-9", "b@x.com", "+593992222222", "Ambato"),
        ("C", None, None, "+593993333333", "Cuenca"),
        (None, None, "a@x.com", None, "Loja"),
    ]
    assert errors.read_text().splitlines()[1:] == [
        f'3,"phone +593993333333 already belongs to contact #{c.id}, not to contact #{b.id}'
        ' that this row matches",crm-9,B@X.com,0993333333,Lima',
        f"7,conflict: an earlier row of this file already wrote contact #{b.id}; not written"
        " (differs: city 'Ambato' -> 'Manta'),crm-9,,,Manta",
    ]


async def test_matched_contact_taking_another_contacts_email_or_phone_is_a_row_error(
    orm: str, tmp_path: Path
) -> None:
    actor = await _actor()
    a, _ = await contacts.upsert(actor, {"name": "A", "identifier": "crm-1", "email": "a@x.com"})
    b, _ = await contacts.upsert(actor, {"name": "B", "email": "b@x.com", "phone": "0992222222"})
    before = await _people()
    errors = tmp_path / "errors.csv"
    path = _write(
        tmp_path,
        "identifier,email,phone,city\ncrm-1,b@x.com,,Quito\n,a@x.com,0992222222,Lima\n",
    )
    assert await import_csv(actor, path, errors_path=errors) == _result(
        2, 0, 0, 0, 2, errors_path=str(errors)
    )
    assert await _people() == before
    assert errors.read_bytes().decode() == (
        "line,error,identifier,email,phone,city\r\n"
        f'2,"email b@x.com already belongs to contact #{b.id}, not to contact #{a.id} that this'
        ' row matches",crm-1,b@x.com,,Quito\r\n'
        f'3,"phone +593992222222 already belongs to contact #{b.id}, not to contact #{a.id}'
        ' that this row matches",,a@x.com,0992222222,Lima\r\n'
    )


async def test_empty_cells_keep_values_and_unchanged_rows_are_skipped(
    orm: str, tmp_path: Path
) -> None:
    actor = await _actor()
    for name, email in (("Ána", "ana@x.com"), ("Bo", "bo@x.com")):
        fields = {"name": name, "email": email, "company": "Acme", "custom": {"plan": "gold"}}
        await contacts.upsert(actor, fields)
    path = _write(
        tmp_path,
        "name,email,company,plan,tags\n"
        "ANA,ana@x.com,,,\n"  # the same name (case and accents aside) is kept as stored
        ",bo@x.com,,silver,\n"  # empty name and company: kept
        "ana,ANA@x.com,Acme,gold,\n"
        ",ana@x.com,,,\n",
    )
    assert await import_csv(actor, path) == _result(4, 0, 1, 3, 0)
    assert await import_csv(actor, path) == _result(4, 0, 0, 4, 0)  # again: nothing changes
    ana: dict[str, Any] = {
        **dict.fromkeys(SHOWN),
        "name": "Ána",
        "email": "ana@x.com",
        "company": "Acme",
        "custom": {"plan": "gold"},
        "tags": [],
        "source": "manual",
    }
    bo = {**ana, "name": "Bo", "email": "bo@x.com", "custom": {"plan": "silver"}}
    assert await _people() == [ana, bo]


async def test_rows_of_merged_away_contacts_update_the_primary(orm: str, tmp_path: Path) -> None:
    actor = await _actor()
    p, _ = await contacts.upsert(actor, {"name": "P", "email": "p@x.com", "identifier": "crm-p"})
    s, _ = await contacts.upsert(actor, {"name": "S", "email": "s@x.com", "identifier": "crm-s"})
    await merge.merge(actor, p.id, s.id)
    by_identifier = _write(tmp_path, "identifier,city\ncrm-s,Lima\n", "a.csv")
    assert await import_csv(actor, by_identifier) == _result(1, 0, 1, 0, 0)
    by_email = _write(tmp_path, "email,company\ns@x.com,Acme\n", "b.csv")
    assert await import_csv(actor, by_email) == _result(1, 0, 1, 0, 0)
    [primary] = await _people()
    assert (primary["name"], primary["email"], primary["city"], primary["company"]) == (
        "P",
        "p@x.com",
        "Lima",
        "Acme",
    )


TWICE = (
    "name,email,phone,city,tags\n"
    "Ana,ana@x.com,,,vip\n"
    "Bob,bob@x.com,,,\n"
    "Ana,ANA@x.com,0991234567,Quito,VIP\n"  # would change the Ana of line 2: a conflict
    "ana,,098 765 4321,,\n"  # no email, an unknown phone: a new contact
    "Ana,ana@x.com,,,\n"  # changes nothing: skipped
    "Bob B,bob@x.com,,,new\n"  # another name, and line 3 wrote Bob: a conflict
)


@pytest.mark.parametrize("batch", [2000, 2])
async def test_a_second_row_for_a_contact_the_file_wrote_is_a_conflict_on_every_run(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", batch)
    actor = await _actor()
    path, errors = _write(tmp_path, TWICE), tmp_path / "errors.csv"
    assert await import_csv(actor, path, errors_path=errors) == _result(
        6, 3, 0, 1, 0, conflicts=2, errors_path=str(errors)
    )
    people = [(p["name"], p["email"], p["phone"], p["city"], p["tags"]) for p in await _people()]
    assert people == [
        ("Ana", "ana@x.com", None, None, ["vip"]),
        ("Bob", "bob@x.com", None, None, []),
        ("ana", None, "+593987654321", None, []),
    ]
    assert errors.read_text().splitlines()[1:] == [
        '4,"conflict: an earlier row of this file already wrote contact #1; not written'
        " (differs: phone (empty) -> '+593991234567', city (empty) -> 'Quito')\","
        "Ana,ANA@x.com,0991234567,Quito,VIP",
        "7,\"conflict: the email matches contact #2, whose name is another person's; not"
        " written (differs: name 'Bob' -> 'Bob B', tags + 'new')\",Bob B,bob@x.com,,,new",
    ]
    # Again: nothing flips back and forth; the same rows are the conflicts.
    again = await import_csv(actor, path, errors_path=errors)
    assert again == _result(6, 0, 0, 4, 0, conflicts=2, errors_path=str(errors))
    assert [(p["name"], p["phone"], p["city"]) for p in await _people()] == [
        ("Ana", None, None),
        ("Bob", None, None),
        ("ana", "+593987654321", None),
    ]


async def test_on_conflict_update_writes_conflicts_but_never_blanks_a_field(
    orm: str, tmp_path: Path
) -> None:
    actor = await _actor()
    await contacts.upsert(actor, {"name": "Bob", "email": "bob@x.com", "city": "Lima"})
    path = _write(tmp_path, TWICE)
    result = await import_csv(actor, path, on_conflict="update")
    assert result == _result(6, 2, 2, 2, 0, on_conflict="update")
    people = [(p["name"], p["email"], p["phone"], p["city"], p["tags"]) for p in await _people()]
    assert people == [
        ("Bob B", "bob@x.com", None, "Lima", ["new"]),
        ("Ana", "ana@x.com", "+593991234567", "Quito", ["vip"]),
        ("ana", None, "+593987654321", None, []),
    ]
    audit = await helpers.rows("SELECT detail FROM audit_log WHERE action = 'contact.import'")
    assert [load_json(a["detail"]) for a in audit] == [
        {
            **{"rows": 6, "created": 2, "updated": 2, "skipped": 2, "failed": 0},
            **{"conflicts": 0, "on_conflict": "update", "finished": True},
        }
    ]


@pytest.mark.parametrize(
    ("stored", "given", "outcome"),
    [
        ("José Pérez", "jose perez", "skipped"),  # folded, the same name: kept as stored
        ("José Pérez", "JOSÉ PÉREZ", "skipped"),
        ("José Pérez", "José Peña", "conflicts"),
        ("José Pérez", "", "skipped"),  # an empty name cell is no name
        (None, "José Pérez", "updated"),  # a contact without a name gets one
    ],
)
async def test_a_name_is_another_persons_only_when_both_differ_folded(
    orm: str, tmp_path: Path, stored: str | None, given: str, outcome: str
) -> None:
    actor = await _actor()
    await contacts.upsert(actor, {"name": stored, "email": "jp@x.com", "phone": "0991234567"})
    for column in ("email", "phone"):
        value = "jp@x.com" if column == "email" else "099 123 4567"
        path = _write(tmp_path, f"name,{column}\n{given},{value}\n")
        counts = dict.fromkeys(("created", "updated", "skipped", "conflicts"), 0) | {outcome: 1}
        result = await import_csv(actor, path, dry_run=True)
        assert result == _result(1, **counts, failed=0, dry_run=True)


async def test_a_match_by_identifier_is_never_a_name_conflict(orm: str, tmp_path: Path) -> None:
    actor = await _actor()
    await contacts.upsert(actor, {"name": "Ana", "identifier": "crm-1", "email": "a@x.com"})
    path = _write(tmp_path, "identifier,name,email\ncrm-1,Ana Ruiz,a@x.com\n")
    assert await import_csv(actor, path) == _result(1, 0, 1, 0, 0)
    assert [p["name"] for p in await _people()] == ["Ana Ruiz"]


async def test_conflicts_are_tracked_across_batches_as_a_set_of_ids(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 1)
    actor = await _actor()
    old, _ = await contacts.upsert(actor, {"name": "Old", "email": "old@x.com"})
    path = _write(
        tmp_path, "name,email,city\nOld,old@x.com,Quito\nNew,new@x.com,\nOld,old@x.com,Lima\n"
    )
    assert await import_csv(actor, path) == _result(3, 1, 1, 0, 0, conflicts=1)
    assert [(p["name"], p["city"]) for p in await _people()] == [("Old", "Quito"), ("New", None)]
    written = Written()
    for cid in (old.id, 9, 70_000):
        written.add(cid)
    assert [c in written for c in (old.id, 9, 70_000, 8, 10, 69_999, 10**9, -1)] == [
        True, True, True, False, False, False, False, False,
    ]  # fmt: skip


async def test_dry_run_counts_like_the_real_run_and_writes_nothing(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 3)  # batches see the rows earlier ones wrote
    actor = await _actor()
    await contacts.upsert(actor, {"name": "Ana", "email": "ana@example.com"})
    before = await _snapshot()
    dry_errors, real_errors = tmp_path / "dry.csv", tmp_path / "real.csv"
    dry = await import_csv(actor, FIXTURES / "errors.csv", dry_run=True, errors_path=dry_errors)
    assert await _snapshot() == before
    real = await import_csv(actor, FIXTURES / "errors.csv", errors_path=real_errors)
    expected = _result(11, 1, 1, 1, 7, conflicts=1)
    assert dry == replace(expected, errors_path=str(dry_errors), dry_run=True)
    assert real == replace(expected, errors_path=str(real_errors))
    # The same report, but for the id a contact created by an earlier batch of the file gets:
    # PostgreSQL does not roll sequences back, so the real run's ids come after the dry run's.
    assert _ids_masked(dry_errors) == _ids_masked(real_errors)
    assert "already belongs to contact #1, not to contact #" in dry_errors.read_text()
    assert len(await helpers.rows("SELECT id FROM contact")) == 2


def _ids_masked(path: Path) -> str:
    return re.sub(r"#\d+", "#N", path.read_bytes().decode())


async def test_a_batch_that_lost_a_race_is_redone(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = await _actor()
    run, calls = importer.Batch.run, []

    async def racing(batch: importer.Batch, tx: Any, now: Any) -> None:
        calls.append(len(batch.rows))
        await run(batch, tx, now)
        if len(calls) == 1:  # as if a webhook had taken the email first: the batch rolls back
            raise asyncpg.UniqueViolationError("duplicate key")

    monkeypatch.setattr(importer.Batch, "run", racing)
    path = _write(tmp_path, "name,email\nAna,ana@x.com\nBob,bob@x.com\n")
    assert await import_csv(actor, path) == _result(2, 2, 0, 0, 0)
    assert calls == [2, 2]
    assert [p["name"] for p in await _people()] == ["Ana", "Bob"]


async def test_an_import_stopped_part_way_keeps_its_batches_and_audits_them(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    actor = await _actor()
    run = importer.Batch.run

    async def failing(batch: importer.Batch, tx: Any, now: Any) -> None:
        if batch.rows[0].line > 3:
            raise RuntimeError("disk full")
        await run(batch, tx, now)

    monkeypatch.setattr(importer.Batch, "run", failing)
    path = _write(tmp_path, "name\nAna\nBob\nCleo\nDan\n")
    with pytest.raises(RuntimeError, match="disk full"):
        await import_csv(actor, path)
    assert [p["name"] for p in await _people()] == ["Ana", "Bob"]
    audit = await helpers.rows("SELECT detail FROM audit_log WHERE action = 'contact.import'")
    assert [load_json(a["detail"]) for a in audit] == [
        {
            **{"rows": 2, "created": 2, "updated": 0, "skipped": 0, "failed": 0},
            **{"conflicts": 0, "on_conflict": "skip", "finished": False},
        }
    ]


ERROR_REPORT = (
    "line,error,name,email,phone,notes\r\n"
    "4,email 'not-an-email' is not a valid address,Bad Email,not-an-email,,\r\n"
    "6,this row has 5 cells but the header has 4 columns,Too Many,tm@example.com,,x,extra\r\n"
    '7,"a contact needs at least one of name, email, phone, identifier",,,,only a note\r\n'
    "8,phone '12' is not a valid phone number (region EC),Bad Phone,bp@example.com,12,\r\n"
    "9,\"malformed CSV (',' expected after '\"\"'); quote cells that hold quotes or"
    ' delimiters"\r\n'
    "12,\"conflict: the email matches contact #1, whose name is another person's; not written"
    " (differs: name 'Ana' -> 'Dup Ana')\",Dup Ana,ANA@example.com,,\r\n"
    '13,"phone +593991111111 already belongs to the contact of line 2, not to the contact of'
    ' line 10 that this row matches",Shared Phone,two@example.com,0991111111,\r\n'
    "14,unterminated quoted cell: lines 14 to 15 (end of file) were not imported\r\n"
)


async def test_error_report_has_every_failed_row_with_its_physical_line(
    orm: str, tmp_path: Path
) -> None:
    actor = await _actor()
    errors = tmp_path / "errors.csv"
    result = await import_csv(actor, FIXTURES / "errors.csv", errors_path=errors)
    assert result == _result(11, 2, 0, 1, 7, conflicts=1, errors_path=str(errors))
    assert errors.read_bytes().decode() == ERROR_REPORT
    assert [(p["name"], p["email"], p["phone"], p["custom"]) for p in await _people()] == [
        ("Ana", "ana@example.com", "+593991111111", {"notes": "first line\nsecond line"}),
        ("Ok Two", "two@example.com", None, {"notes": "multi\nline"}),
    ]


async def test_no_error_file_without_errors_and_an_empty_body_is_fine(
    orm: str, tmp_path: Path
) -> None:
    actor = await _actor()
    errors = tmp_path / "errors.csv"
    path = _write(tmp_path, "name,email\r\n")
    assert await import_csv(actor, path, errors_path=errors) == _result(0, 0, 0, 0, 0)
    assert not errors.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf\r\n  \n", "the file is empty"),
        (b"name,email\n\x00\x00\n", "the file contains NUL bytes: it is not a CSV text file"),
        ("name\n".encode("utf-16"), "the file is UTF-16 text: save it as CSV UTF-8"),
        (b"\nAna,ana@x.com\n", "line 1 must be a header naming the columns; it is empty"),
        (
            b"Ana,ana@example.com,0991234567\n",
            "line 1 must be a header with at least one of name, email, phone, identifier"
            " (or nombre, correo, teléfono…); found 'Ana', 'ana@example.com', '0991234567'",
        ),
        (b"plan,notes\ngold,x\n", "found 'plan', 'notes'"),
        (b"name,email,Correo\n", "the header has columns 'email' and 'Correo': both are email"),
        (b"name,Plan,plan \n", "the header has columns 'Plan' and 'plan'; keep one"),
        (b'name,"email\nAna,a@x.com\n', "line 1 (the header) is not valid CSV: unterminated"),
        (b"name," + b"x" * 65 + b"\n", "is longer than 64 characters"),
    ],
)
async def test_broken_files_are_refused_whole_with_a_clear_reason(
    orm: str, tmp_path: Path, content: bytes, message: str
) -> None:
    actor = await _actor()
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(Invalid) as caught:
        await import_csv(actor, path, errors_path=tmp_path / "errors.csv")
    assert message in str(caught.value)
    assert await helpers.scalar("SELECT COUNT(*) FROM contact") == 0
    assert not (tmp_path / "errors.csv").exists()


async def test_missing_file_and_roles(orm: str, tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no file at"):
        await import_csv(await _actor(), tmp_path / "nope.csv")
    with pytest.raises(Forbidden, match="this needs the admin role; you are agent"):
        await import_csv(await _actor("agent"), FIXTURES / "synonyms.csv")


@pytest.mark.parametrize("parallel", [False, True])
async def test_a_big_file_streams_in_batches(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    if parallel:  # clean rows in worker processes, as for files of several MiB
        monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 0)
    actor = await _actor()
    path, errors = tmp_path / "big.csv", tmp_path / "errors.csv"
    _big_file(path, 20_000)
    result = await import_csv(actor, path, errors_path=errors)
    # 20,000 rows: every 100th repeats an earlier person with another city (a conflict: the
    # file wrote that person already), every 250th has a bad email.
    assert result == _result(20_000, 19_720, 0, 0, 80, conflicts=200, errors_path=str(errors))
    assert await helpers.scalar("SELECT COUNT(*) FROM contact") == 19_720
    assert await helpers.scalar("SELECT COUNT(*) FROM contact_tag") == 19_720
    assert [t.name for t in await tags.list_tags(actor)] == ["lead", "VIP"]
    assert len(errors.read_text().splitlines()) == 281
    # Again: every row is unchanged but the same 200 conflicts (nothing flips back and forth).
    again = await import_csv(actor, path, dry_run=True)
    assert again == _result(20_000, 0, 0, 19_720, 80, conflicts=200, dry_run=True)


def _big_file(path: Path, rows: int) -> None:
    rnd = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("name,email,phone,city,country,tags,plan,segment\n")
        for i in range(rows):
            n = i - 50 if i % 100 == 99 else i  # an earlier person again, with a new city
            email = "broken" if i % 250 == 3 else f"p{n}@example.com"
            city = "Lima" if n != i else rnd.choice(["Quito", "Guayaquil"])
            tag = "VIP" if n % 2 else "lead"
            fh.write(f"Persona {n},{email},09{80000000 + n},{city},EC,{tag},p{n % 7},s{n % 3}\n")


def test_header_fields_fold_case_accents_and_punctuation() -> None:
    assert [
        csvio.header_field(h)
        for h in ("E-mail", "TELÉFONO", "phone_number", "País", "company name", "Etiquetas", "x")
    ] == ["email", "phone", "phone", "country", "company", "tags", None]


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("099 123 4567", "EC", ("+593991234567", ["593991234567", "0991234567"])),
        ("+51 912 345 678", "ec", ("+51912345678", ["51912345678"])),
        ("(202) 555-0143 ext. 12", "US", ("+12025550143", ["12025550143"])),  # no extension
        # Read again from its E.164 form, this national number loses a leading 0 as a prefix:
        ("08182807210", "BY", ("+3758182807210", ["3758182807210", "80182807210"])),
        ("12", "EC", None),
        ("not a phone", "EC", None),
        ("", "EC", None),
    ],
)
def test_parse_phone_is_to_e164_and_its_search_variants(
    raw: str, region: str, expected: tuple[str, list[str]] | None
) -> None:
    assert phones.parse_phone(raw, region) == expected
    e164 = phones.to_e164(raw, region)
    assert expected == (None if e164 is None else (e164, text.phone_variants(e164)))


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="+0123456789 -x", max_size=18),
    st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
)
def test_parse_phone_agrees_with_two_parses(raw: str, region: str) -> None:
    e164 = phones.to_e164(raw, region)
    reference = None if e164 is None else (e164, text.phone_variants(e164))
    assert phones.parse_phone(raw, region) == reference


async def test_imported_search_text_is_what_refresh_writes_with_one_parse_per_phone(
    orm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = await _actor()
    await contacts.upsert(actor, {"name": "Ana", "email": "ana@x.com"})
    parse, calls = phonenumbers.parse, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return parse(*args, **kwargs)

    monkeypatch.setattr(phonenumbers, "parse", counted)
    path = _write(
        tmp_path, "name,email,phone,city\nAna,ana@x.com,099 123 4567,Quito\nBo,,+51912345678,\n"
    )
    assert await import_csv(actor, path) == _result(2, 1, 1, 0, 0)
    assert calls == ["099 123 4567", "+51912345678"]  # updated or created: parsed once
    written = await helpers.rows("SELECT id, search_text, name_key FROM contact ORDER BY id")
    assert [(r["search_text"], r["name_key"]) for r in written] == [
        ("ana\nana@x.com\nquito\n593991234567\n0991234567", "ana"),
        ("bo\n51912345678", "bo"),
    ]
    async with raw_transaction() as tx:
        await text.refresh(tx, [r["id"] for r in written])
    assert (
        await helpers.rows("SELECT id, search_text, name_key FROM contact ORDER BY id") == written
    )


async def test_progress_is_told_after_each_batch_up_to_the_total(orm: str, tmp_path: Path) -> None:
    actor = await _actor()
    path = tmp_path / "many.csv"
    rows = importer.BATCH_ROWS * 2 + 7
    path.write_text("name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(rows)))
    seen: list[tuple[int, int]] = []
    result = await import_csv(actor, path, progress=lambda done, total: seen.append((done, total)))
    assert result.created == rows
    assert seen == [(importer.BATCH_ROWS, rows), (importer.BATCH_ROWS * 2, rows), (rows, rows)]
    checked: list[tuple[int, int]] = []
    await import_csv(actor, path, dry_run=True, progress=lambda d, t: checked.append((d, t)))
    assert checked[-1] == (rows, rows) and len(checked) == 3
