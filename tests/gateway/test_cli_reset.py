"""`contactgate reset WORKSPACE …` and `contactgate events WORKSPACE` on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from store import db
from store.channels import channel_by_key
from store.db import raw_transaction
from store.inbound import write_batch
from store.periods import period_of
from store.reset import policy as reset_policy
from store.types import Inbound, Item


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    url = f"sqlite://{tmp_path}/cli/cg.db"
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", url)
    monkeypatch.setenv("CONTACTGATE_RESET_EXPORT_DIR", str(tmp_path / "exports"))
    runner = CliRunner()
    assert runner.invoke(main, ["workspace", "create", "acme", "--region", "EC"]).exit_code == 0
    added = runner.invoke(
        main,
        [
            "channel",
            "add",
            "acme",
            "telegram",
            "--key",
            "tg-acme-0001",
            "--secret",
            "secret_token=s1",
        ],
    )
    assert added.exit_code == 0, added.output
    asyncio.run(_people(url, 3))
    return runner


async def _people(url: str, n: int) -> None:
    await db.init(url)
    try:
        channel = await channel_by_key("tg-acme-0001")
        assert channel is not None
        for i in range(n):
            inbound = Inbound(
                external_id=str(i),
                provider_message_id=str(i),
                type="text",
                sent_at=datetime.now(UTC),
                text="hola",
            )
            async with raw_transaction() as tx:
                await write_batch(tx, [Item(channel, inbound)])
    finally:
        await db.close()


def test_reset_commands_end_to_end(cli: CliRunner) -> None:
    status = cli.invoke(main, ["reset", "acme", "status"])
    assert status.exit_code == 0, status.output
    assert "mode: off in " in status.output and "next run: none scheduled" in status.output

    enabled = cli.invoke(main, ["reset", "acme", "enable", "tagged", "--json"])
    assert enabled.exit_code == 0, enabled.output
    shown = json.loads(enabled.output)
    starts = reset_policy.applies_from(datetime.now(UTC), "UTC", "off", "tagged")
    assert reset_policy.month_name(starts) in shown["message"]
    assert shown["set_by"] == "cli"

    timed = cli.invoke(main, ["reset", "acme", "time", "21:15"])
    assert timed.exit_code == 0 and "The reset runs at 21:15 (UTC)." in timed.output
    bad_time = cli.invoke(main, ["reset", "acme", "time", "9pm"])
    assert bad_time.exit_code == 1 and "reset time must be HH:MM" in bad_time.output

    preview = cli.invoke(main, ["reset", "acme", "preview", "all"])
    assert preview.exit_code == 0
    assert preview.output.startswith("mode all: 3 contacts, 3 identities, 3 messages, 0 notes\n")
    assert preview.output.count("\n  #") == 3
    tagged = json.loads(cli.invoke(main, ["reset", "acme", "preview", "--json"]).output)
    assert (tagged["mode"], tagged["contacts"]) == ("tagged", 0)

    ran = cli.invoke(main, ["reset", "acme", "run", "all"])
    assert ran.exit_code == 0, ran.output
    assert "\tall\tmanual\tdone\tcontacts=3, identities=3, messages=3, notes=0\t" in ran.output
    again = cli.invoke(main, ["reset", "acme", "run", "all"])
    assert again.exit_code == 1
    assert f"the reset of {period_of(datetime.now(UTC), 'UTC')} already ran" in again.output

    events = cli.invoke(main, ["events", "acme"])
    assert events.exit_code == 0 and "\treset_done\treset_done:" in events.output
    listed = json.loads(cli.invoke(main, ["events", "acme", "--json"]).output)
    assert [e["kind"] for e in listed] == ["reset_done"]
    assert listed[0]["payload"]["contacts"] == 3

    disabled = cli.invoke(main, ["reset", "acme", "disable"])
    assert disabled.exit_code == 0 and "mode: off" in disabled.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reset", "acme", "enable", "some"], "Invalid value for '{all|tagged}'"),
        (["reset", "nowhere", "status"], "no workspace 'nowhere'"),
        (["reset", "acme", "run"], "the monthly reset is off for this month"),
        (["reset", "acme", "explode"], "No such command 'explode'"),
    ],
)
def test_reset_commands_refuse_bad_input(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli.invoke(main, args)
    assert result.exit_code != 0 and message in result.output, result.output
