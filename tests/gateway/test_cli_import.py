"""`contactgate import` on SQLite and PostgreSQL: counts as text or JSON, dry run, exit codes."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from store import contacts, db
from store.access import Actor
from store.setup import get_workspace
from tests import helpers as h
from tests.store.test_importer import ERROR_REPORT

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
ROOT = Path(__file__).parents[2]


async def _seed(url: str) -> None:
    await db.init(url)
    try:
        await h.workspace("acme", region="EC")
    finally:
        await db.close()


async def _names(url: str) -> list[str]:
    await db.init(url)
    try:
        return [r["name"] for r in await h.rows("SELECT name FROM contact ORDER BY id")]
    finally:
        await db.close()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", db_url)
    asyncio.run(_seed(db_url))
    return CliRunner()


def test_import_prints_the_counts_and_writes_the_error_report(
    cli: CliRunner, db_url: str, tmp_path: Path
) -> None:
    errors = tmp_path / "errors.csv"
    source = FIXTURES / "errors.csv"
    result = cli.invoke(main, ["import", "acme", str(source), "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "rows: 11\ncreated: 2\nupdated: 0\nskipped: 1\nfailed: 7\nconflicts: 1\n"
        f"errors_path: {errors}\nencoding: utf-8\ndelimiter: ,\ndry_run: False\n"
        "on_conflict: skip\n"
    )
    assert result.stderr == (
        f"1 row not written: each would overwrite another person (listed in {errors});"
        " --on-conflict update writes them\n"
    )
    assert errors.read_bytes().decode() == ERROR_REPORT
    assert asyncio.run(_names(db_url)) == ["Ana", "Ok Two"]


def test_dry_run_as_json_writes_nothing_and_hints_at_errors(cli: CliRunner, db_url: str) -> None:
    source = FIXTURES / "errors.csv"
    result = cli.invoke(main, ["import", "acme", str(source), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "rows": 11,
        "created": 2,
        "updated": 0,
        "skipped": 1,
        "failed": 7,
        "conflicts": 1,
        "errors_path": None,
        "encoding": "utf-8",
        "delimiter": ",",
        "dry_run": True,
        "on_conflict": "skip",
    }
    assert result.stderr == (
        "7 rows failed: add --errors FILE to get them\n"
        "1 row would not be written: each would overwrite another person (add --errors FILE"
        " to list them); --on-conflict update writes them\n"
    )
    assert asyncio.run(_names(db_url)) == []


def test_latin1_semicolon_file(cli: CliRunner, db_url: str) -> None:
    source = FIXTURES / "people__latin1_semicolon.csv"
    result = cli.invoke(main, ["import", "acme", str(source), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["created"], shown["encoding"], shown["delimiter"]) == (2, "cp1252", ";")
    assert asyncio.run(_names(db_url)) == ["José Núñez", "Zoë Adams"]


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"Ana,ana@example.com\n", 2, "line 1 must be a header with at least one of name"),
        (b"", 2, "the file is empty"),
        (None, 2, "does not exist"),
    ],
)
def test_unusable_files_exit_2_with_the_reason(
    cli: CliRunner, tmp_path: Path, content: bytes | None, code: int, message: str
) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    result = cli.invoke(main, ["import", "acme", str(path)])
    assert result.exit_code == code
    assert message in result.output


def test_unknown_workspace_is_an_error(cli: CliRunner) -> None:
    result = cli.invoke(main, ["import", "nope", str(FIXTURES / "synonyms.csv")])
    assert result.exit_code == 1
    assert "no workspace 'nope'" in result.output


CONFLICTS = (
    "name,email,city\n"
    "Bea Ruiz,ana@x.com,Lima\n"  # Ana's email, another person's name
    "Nuevo,nuevo@x.com,\n"
    "Nuevo,nuevo@x.com,Cuenca\n"  # the row above wrote this contact
)


def _contactgate(url: str, *args: str) -> tuple[int, dict[str, object], str]:
    """`contactgate ARGS --json` in a child process: exit status, its JSON, its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTGATE_")}
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args, "--json"],
        cwd=ROOT,
        env={**env, "CONTACTGATE_DATABASE_URL": url, "CONTACTGATE_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


async def _seed_ana(url: str) -> None:
    await db.init(url)
    try:
        await h.workspace("acme", region="EC")
        actor = Actor((await get_workspace("acme")).id, "cli", "cli", "owner")
        await contacts.upsert(actor, {"name": "Ana", "email": "ana@x.com", "city": "Quito"})
    finally:
        await db.close()


async def _people(url: str) -> list[dict[str, object]]:
    await db.init(url)
    try:
        return await h.rows("SELECT id, name, email, city FROM contact ORDER BY id")
    finally:
        await db.close()


def _counts(created: int, updated: int, skipped: int, conflicts: int) -> dict[str, object]:
    return {
        **{"rows": 3, "created": created, "updated": updated, "skipped": skipped, "failed": 0},
        **{"conflicts": conflicts, "encoding": "utf-8", "delimiter": ","},
    }


def test_conflicts_are_not_written_until_on_conflict_update_as_a_subprocess(
    db_url: str, tmp_path: Path
) -> None:
    asyncio.run(_seed_ana(db_url))
    source, errors = tmp_path / "in.csv", tmp_path / "errors.csv"
    source.write_text(CONFLICTS)
    code, dry, said = _contactgate(db_url, "import", "acme", str(source), "--dry-run")
    assert (code, dry) == (
        0,
        {**_counts(1, 0, 0, 2), "errors_path": None, "dry_run": True, "on_conflict": "skip"},
    )
    assert said == (
        "2 rows would not be written: each would overwrite another person (add --errors FILE"
        " to list them); --on-conflict update writes them\n"
    )
    shown = {"errors_path": str(errors), "dry_run": False, "on_conflict": "skip"}
    for created, skipped in ((1, 0), (0, 1)):  # the second run: the same conflicts, no flip
        code, real, _ = _contactgate(db_url, "import", "acme", str(source), "--errors", str(errors))
        assert (code, real) == (0, {**_counts(created, 0, skipped, 2), **shown})
        ana, nuevo = asyncio.run(_people(db_url))  # PostgreSQL: the dry run used an id
        assert (ana, {**nuevo, "id": 0}) == (
            {"id": 1, "name": "Ana", "email": "ana@x.com", "city": "Quito"},
            {"id": 0, "name": "Nuevo", "email": "nuevo@x.com", "city": None},
        )
        assert list(csv.reader(errors.open(newline=""))) == [
            ["line", "error", "name", "email", "city"],
            [
                "2",
                "conflict: the email matches contact #1, whose name is another person's; not"
                " written (differs: name 'Ana' -> 'Bea Ruiz', city 'Quito' -> 'Lima')",
                *("Bea Ruiz", "ana@x.com", "Lima"),
            ],
            [
                "4",
                f"conflict: an earlier row of this file already wrote contact #{nuevo['id']}; not"
                " written"
                " (differs: city (empty) -> 'Cuenca')",
                *("Nuevo", "nuevo@x.com", "Cuenca"),
            ],
        ]
    code, forced, said = _contactgate(
        db_url, "import", "acme", str(source), "--on-conflict", "update"
    )
    assert (code, forced, said) == (
        0,
        {**_counts(0, 2, 1, 0), "errors_path": None, "dry_run": False, "on_conflict": "update"},
        "",
    )
    assert asyncio.run(_people(db_url)) == [
        {"id": 1, "name": "Bea Ruiz", "email": "ana@x.com", "city": "Lima"},
        {**nuevo, "city": "Cuenca"},
    ]


def test_an_unknown_on_conflict_choice_is_refused(cli: CliRunner) -> None:
    source = str(FIXTURES / "synonyms.csv")
    result = cli.invoke(main, ["import", "acme", source, "--on-conflict", "merge"])
    assert result.exit_code == 2
    assert "Invalid value for '--on-conflict': 'merge' is not one of 'skip', 'update'." in (
        result.output
    )
