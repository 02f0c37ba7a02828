"""`contactgate audit`, `contact data|erase` and `exports purge` on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from store import db
from store.access import Actor, audit
from store.contacts import upsert
from store.db import raw_transaction
from store.setup import get_workspace
from tests import helpers as h


async def _seed(url: str) -> None:
    await db.init(url)
    try:
        await h.workspace("acme", region="EC", tz="America/Guayaquil")
        ws = (await get_workspace("acme")).id
        actor = Actor(ws, "seed", "cli", "admin")
        ana, _ = await upsert(actor, {"name": "Ana", "email": "ana@example.com"})
        async with raw_transaction() as tx:
            for i, (action, target) in enumerate(
                [("tag.add", f"#{ana.id}"), ("note.add", f"#{ana.id}"), ("view.save", "VIP")]
            ):
                at = datetime(2001, 3, 1 + i, 12, tzinfo=UTC)
                await audit(
                    tx, Actor(ws, "telegram:42", "telegram", "agent"), action, target, at=at
                )
    finally:
        await db.close()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", db_url)
    asyncio.run(_seed(db_url))
    return CliRunner()


def test_lines_newest_first_in_the_workspace_zone(cli: CliRunner) -> None:
    result = cli.invoke(main, ["audit", "acme", "--actor", "telegram:42", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "2001-03-03T07:00:00-05:00\ttelegram:42 (telegram)\tview.save\tVIP\n"
        "2001-03-02T07:00:00-05:00\ttelegram:42 (telegram)\tnote.add\t#1\n"
    )
    cursor = result.stderr.strip().removeprefix("more: --cursor ")
    rest = cli.invoke(main, ["audit", "acme", "--actor", "telegram:42", "--cursor", cursor])
    assert rest.stdout == "2001-03-01T07:00:00-05:00\ttelegram:42 (telegram)\ttag.add\t#1\n"
    assert rest.stderr == ""


def test_contact_filter_json_and_csv(cli: CliRunner, tmp_path: Path) -> None:
    found = cli.invoke(main, ["audit", "acme", "--contact", "email:ana@example.com", "--json"])
    assert found.exit_code == 0, found.output
    actions = [line["action"] for line in json.loads(found.stdout)]
    assert actions == ["note.add", "tag.add", "contact.create"]
    out = tmp_path / "audit.csv"
    written = cli.invoke(
        main, ["audit", "acme", "--since", "2001-03-02", "--until", "2002-01-01", "--csv", str(out)]
    )
    assert written.exit_code == 0, written.output
    assert written.stderr == f"wrote 2 audit lines to {out}\n"
    lines = out.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0] == "id,at,actor,surface,action,target,detail"
    assert [line.split(",")[4] for line in lines[1:]] == ["view.save", "note.add"]


def test_bad_input_is_one_line(cli: CliRunner) -> None:
    bad = cli.invoke(main, ["audit", "acme", "--since", "ayer"])
    assert bad.exit_code == 1
    assert bad.stderr == (
        "Error: not a date or time: 'ayer' (use 2026-12-01 or 2026-12-01T09:30)\n"
    )
    nobody = cli.invoke(main, ["audit", "acme", "--contact", "email:x@example.com"])
    assert nobody.exit_code == 1 and "no contact" in nobody.stderr
    empty = cli.invoke(main, ["audit", "acme", "--action", "reset.*"])
    assert (empty.exit_code, empty.stdout) == (0, "no audit lines match\n")


def test_contact_data_writes_the_archive(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "ana.zip"
    result = cli.invoke(main, ["contact", "data", "acme", "email:ana@example.com", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote the data of contact #1 to {out}\n"
    with zipfile.ZipFile(out) as archive:
        profile = json.loads(archive.read("person.json"))
        assert profile["contact"]["email"] == "ana@example.com"
        assert "Data held about Ana (contact #1)" in archive.read("summary.txt").decode()
    missing = tmp_path / "nobody.zip"
    refused = cli.invoke(main, ["contact", "data", "acme", "#99", "-o", str(missing)])
    assert (refused.exit_code, refused.stderr) == (1, "Error: no contact #99\n")
    assert not missing.exists()


def test_contact_erase_asks_for_the_count_then_erases(cli: CliRunner) -> None:
    unconfirmed = cli.invoke(main, ["contact", "erase", "acme", "email:ana@example.com"])
    assert (unconfirmed.exit_code, unconfirmed.stderr) == (
        1,
        "Error: erasing #1 Ana deletes 1 contact and everything of theirs: confirm with 1\n",
    )
    done = cli.invoke(main, ["contact", "erase", "acme", "#1", "--confirm", "1"])
    assert done.exit_code == 0, done.output
    assert done.stdout == "erased #1 (contacts: 1, audit lines scrubbed: 1)\n"
    lines = cli.invoke(main, ["audit", "acme", "--contact", "#1", "--json"])
    shown = json.loads(lines.stdout)
    assert [line["action"] for line in shown] == [
        "contact.erase",
        "note.add",
        "tag.add",
        "contact.create",
    ]
    assert "ana@example.com" not in lines.stdout and "Ana" not in lines.stdout


def test_exports_purge_removes_old_folders_only(
    cli: CliRunner, db_url: str, tmp_path: Path
) -> None:
    old, new = tmp_path / "2001-01-run1", tmp_path / "2001-03-run2"
    for folder in (old, new):
        folder.mkdir()
        (folder / "contacts.csv").write_text("id\r\n1\r\n")

    async def runs() -> None:
        await db.init(db_url)
        try:
            ws = (await get_workspace("acme")).id
            for period, folder, ended in (
                ("2001-01", old, datetime(2001, 2, 1, tzinfo=UTC)),
                ("2001-03", new, datetime(2001, 4, 1, tzinfo=UTC)),
            ):
                await h.rows(
                    "INSERT INTO reset_run (workspace_id, period, mode, state, trigger, counts,"
                    " progress, export_path, started_at, finished_at)"
                    " VALUES (?, ?, 'all', 'done', 'schedule', '{}', '{}', ?, ?, ?)",
                    ws, period, str(folder), ended, ended,
                )  # fmt: skip
        finally:
            await db.close()

    asyncio.run(runs())
    dry = cli.invoke(main, ["exports", "purge", "acme", "--before", "2001-03-01", "--dry-run"])
    assert dry.stdout == f"would remove {old} (run 1, 2001-01)\n" and old.exists()
    done = cli.invoke(main, ["exports", "purge", "acme", "--before", "2001-03-01"])
    assert done.stdout == f"removed {old} (run 1, 2001-01)\n"
    assert not old.exists() and new.exists()
    again = cli.invoke(main, ["exports", "purge", "acme", "--before", "2001-03-01"])
    assert again.stdout == "no reset export finished before that date\n"


def test_workspace_consent_words(cli: CliRunner) -> None:
    done = cli.invoke(main, ["workspace", "set", "acme", "--opt-out-words", "BAJA, No más"])
    assert done.exit_code == 0, done.output
    assert done.stdout == (
        "opt-out words: BAJA, No más\nopt-in words: START, UNSTOP, ALTA, SUSCRIBIR\n"
    )
    clash = cli.invoke(main, ["workspace", "set", "acme", "--opt-in-words", "baja"])
    assert (clash.exit_code, clash.stderr) == (
        1,
        "Error: a word cannot both opt out and opt in: baja\n",
    )
    nothing = cli.invoke(main, ["workspace", "set", "acme"])
    assert nothing.exit_code == 2 and "give --language, --opt-out-words" in nothing.stderr
