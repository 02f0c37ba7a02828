"""`contactgate import` on SQLite and PostgreSQL: counts as text or JSON, dry run, exit codes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from store import db
from tests import helpers as h
from tests.store.test_importer import ERROR_REPORT

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"


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
        "rows: 11\ncreated: 2\nupdated: 1\nskipped: 1\nfailed: 7\n"
        f"errors_path: {errors}\nencoding: utf-8\ndelimiter: ,\ndry_run: False\n"
    )
    assert result.stderr == ""
    assert errors.read_bytes().decode() == ERROR_REPORT
    assert asyncio.run(_names(db_url)) == ["Dup Ana", "Ok Two"]


def test_dry_run_as_json_writes_nothing_and_hints_at_errors(cli: CliRunner, db_url: str) -> None:
    source = FIXTURES / "errors.csv"
    result = cli.invoke(main, ["import", "acme", str(source), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "rows": 11,
        "created": 2,
        "updated": 1,
        "skipped": 1,
        "failed": 7,
        "errors_path": None,
        "encoding": "utf-8",
        "delimiter": ",",
        "dry_run": True,
    }
    assert result.stderr == "7 rows failed: add --errors FILE to get them\n"
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
