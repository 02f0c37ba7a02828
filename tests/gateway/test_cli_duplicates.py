"""`contactgate duplicates WORKSPACE [dismiss A B]` on a real SQLite file, seeded with planted
duplicates (tests/dupes_seed.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from gateway.provision import known_kinds
from store import db
from store.channels import upsert_channel
from store.setup import get_workspace
from tests import dupes_seed


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, dict[str, int]]:
    url = f"sqlite://{tmp_path}/cli/cg.db"
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(main, ["workspace", "create", "acme", "--region", "EC"]).exit_code == 0
    return runner, asyncio.run(_seed(url))


async def _seed(url: str) -> dict[str, int]:
    await db.init(url)
    try:
        mail = await upsert_channel(
            "acme", "email", "email-acme", {"signing_key": "k" * 16}, known_kinds=known_kinds()
        )
        return await dupes_seed.seed((await get_workspace("acme")).id, mail)
    finally:
        await db.close()


def test_lists_pairs_then_dismisses_one(seeded: tuple[CliRunner, dict[str, int]]) -> None:
    cli, ids = seeded
    listed = cli.invoke(main, ["duplicates", "acme", "--limit", "2"])
    assert listed.exit_code == 0, listed.output
    ines, marta = (ids["ines_a"], ids["ines_b"]), (ids["mail_form"], ids["mail_chan"])
    assert listed.output == (
        f"90\t#{ines[0]} Inés Mora\t#{ines[1]} Ines Mora\tidentifier X-1; name_city Inés Mora,"
        " Cuenca\n"
        f"70\t#{marta[0]} Marta Díaz\t#{marta[1]} Marta\temail marta@example.com\n"
    )
    as_json = json.loads(cli.invoke(main, ["duplicates", "acme", "--json"]).output)
    assert len(as_json) == 8 and as_json[0]["reasons"][0] == {"kind": "identifier", "value": "X-1"}

    done = cli.invoke(main, ["duplicates", "acme", "dismiss", "email:marta@example.com", "#" +
                             str(marta[1])])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert done.output == f"#{marta[0]} and #{marta[1]}: dismissed; the pair is not listed again\n"
    again = cli.invoke(main, ["duplicates", "acme", "--json", "dismiss", *map(str, marta)])
    assert json.loads(again.output) == {"a": marta[0], "b": marta[1], "already": True}
    after = cli.invoke(main, ["duplicates", "acme", "--json"])
    assert len(json.loads(after.output)) == 7


def test_errors_are_one_line(seeded: tuple[CliRunner, dict[str, int]]) -> None:
    cli, ids = seeded
    same = cli.invoke(main, ["duplicates", "acme", "dismiss", str(ids["crm_a"]), str(ids["crm_a"])])
    assert same.exit_code == 1
    assert same.output.strip().endswith("are one contact: nothing to dismiss")
    missing = cli.invoke(main, ["duplicates", "nowhere"])
    assert (missing.exit_code, missing.output) == (1, "Error: no workspace 'nowhere'\n")
