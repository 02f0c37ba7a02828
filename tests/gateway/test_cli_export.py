"""`contactgate export` on SQLite and PostgreSQL: CSV to a file or stdout, PDF, clear errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pypdfium2
import pytest
from click.testing import CliRunner

from gateway.cli import main
from store import db
from store.access import Actor
from store.contacts import upsert
from store.setup import get_workspace
from store.tags import add as add_tags
from tests import helpers as h

CSV = (
    "\ufeffname,email,country,tags\r\n"
    'José Ñúñez,jose@example.com,EC,"Borrar, vip"\r\n'
    "Zoë Adams,zoe@example.org,PE,\r\n"
)


async def _seed(url: str) -> None:
    await db.init(url)
    try:
        await h.workspace("acme", region="EC")
        actor = Actor((await get_workspace("acme")).id, "seed", "cli", "admin")
        jose, _ = await upsert(
            actor, {"name": "José Ñúñez", "email": "jose@example.com", "country": "EC"}
        )
        await add_tags(actor, jose.id, ["vip", "Borrar"])
        await upsert(actor, {"name": "Zoë Adams", "email": "zoe@example.org", "country": "PE"})
    finally:
        await db.close()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", db_url)
    asyncio.run(_seed(db_url))
    return CliRunner()


COLUMNS = ["--columns", "email,country,tags"]


def test_csv_to_a_file(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "contacts.csv"
    result = cli.invoke(main, ["export", "acme", *COLUMNS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().decode() == CSV
    assert result.stderr == f"exported 2 contacts (4 columns) to {out}\n"
    assert result.stdout == ""


def test_csv_to_stdout_with_a_search(cli: CliRunner) -> None:
    result = cli.invoke(main, ["export", "acme", *COLUMNS, "--q", "zoe", "-o", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode() == (
        "\ufeffname,email,country,tags\r\nZoë Adams,zoe@example.org,PE,\r\n"
    )
    assert result.stderr == "exported 1 contacts (4 columns) to stdout\n"


def test_pdf_chosen_by_format_or_file_name(cli: CliRunner, tmp_path: Path) -> None:
    for args, out in (
        (["-o", str(tmp_path / "a.pdf")], tmp_path / "a.pdf"),
        (["--format", "pdf", "-o", str(tmp_path / "b.bin")], tmp_path / "b.bin"),
    ):
        result = cli.invoke(main, ["export", "acme", *args])
        assert result.exit_code == 0, result.output
        assert result.stderr == f"exported 2 contacts (8 columns) to {out}\n"
        text = pypdfium2.PdfDocument(out.read_bytes())[0].get_textpage().get_text_range()
        assert text.splitlines()[2:5] == [
            "id name email phone company city country tags",
            "1 José Ñúñez jose@example.com EC Borrar, vip",
            "2 Zoë Adams zoe@example.org PE",
        ]


CHATWOOT = '[{"attribute_key": "country", "filter_operator": "equal_to", "values": ["PE"]}]'


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("tag:vip", '1,José Ñúñez,jose@example.com,,,,EC,"Borrar, vip"'),
        (CHATWOOT, "2,Zoë Adams,zoe@example.org,,,,PE,"),
    ],
)
def test_filter_as_text_or_json(cli: CliRunner, expr: str, expected: str) -> None:
    result = cli.invoke(main, ["export", "acme", "--filter", expr, "-o", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode().splitlines()[1:] == [expected]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme", "--columns", "email,salary"], "unknown column 'salary'; valid columns: id,"),
        (["nope"], "no workspace 'nope'"),
        (["acme", "--view", "missing"], "no view 'missing'"),
        (["acme", "--filter", "{bad json"], "Invalid value for --filter: not valid JSON"),
        (["acme", "--format", "xls"], "'xls' is not one of 'csv', 'pdf'"),
    ],
)
def test_bad_input_is_a_clear_error(
    cli: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "never.csv"
    result = cli.invoke(main, ["export", *args, "-o", str(out)])
    assert result.exit_code != 0
    assert message in result.output
    assert not out.exists()
