"""`contactgate retention WORKSPACE show|set|preview|run` on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from click.testing import CliRunner

from gateway.cli import main
from tests.gateway.test_cli_reset import cli

__all__ = ["cli"]  # the fixture, used by name
# the three contacts of the fixture wrote on the real day; this is long after it, in UTC
LATER = datetime(2100, 3, 1, 12, 0, tzinfo=UTC)


@time_machine.travel(LATER, tick=True)
def test_retention_commands_end_to_end(cli: CliRunner) -> None:
    shown = cli.invoke(main, ["retention", "acme", "show"])
    assert shown.exit_code == 0, shown.output
    assert shown.output == (
        "contacts: off\nmessages: off\ntime: 23:00 UTC (the reset's time), daily\n"
        "next run: none scheduled\n"
    )
    none_set = cli.invoke(main, ["retention", "acme", "run"])
    assert none_set.exit_code == 1 and "no retention rule is set" in none_set.output

    ruled = cli.invoke(main, ["retention", "acme", "set", "--contacts", "30", "--messages", "90"])
    assert ruled.exit_code == 0, ruled.output
    assert ruled.output.startswith(
        "Every day the retention run deletes contacts with no activity for 30 days and messages"
        " older than 90 days, export first.\ncontacts: older than 30 days\n"
        "messages: older than 90 days\ntime: 23:00 UTC (the reset's time), daily\n"
        "next run: 2100-03-01 23:00 UTC\nset by: cli at "
    )
    preview = cli.invoke(main, ["retention", "acme", "preview"])
    assert preview.exit_code == 0, preview.output
    assert preview.output.startswith(
        "2100-03-01: 3 contacts, 3 identities, 3 messages (0 old messages of contacts that"
        " stay), 0 notes\n"
    )
    assert preview.output.count("\n  #") == 3
    nothing = json.loads(
        cli.invoke(main, ["retention", "acme", "preview", "--contacts", "off", "--json"]).output
    )
    assert (nothing["contacts"], nothing["messages"], nothing["old_messages"]) == (0, 3, 3)

    ran = cli.invoke(main, ["retention", "acme", "run"])
    assert ran.exit_code == 0, ran.output
    assert "\t2100-03-01\tcontacts:30 messages:90\tmanual\tdone\t" in ran.output
    assert "contacts=3, identities=3, messages=3, notes=0" in ran.output
    again = cli.invoke(main, ["retention", "acme", "run"])
    assert again.exit_code == 1
    assert "the retention run of 2100-03-01 already ran" in again.output
    listed = cli.invoke(main, ["retention", "acme", "show"])
    assert "next run: 2100-03-02 23:00 UTC" in listed.output
    assert "\t2100-03-01\tcontacts:30 messages:90\tmanual\tdone\t" in listed.output
    events = json.loads(cli.invoke(main, ["events", "acme", "--json"]).output)
    assert [e["kind"] for e in events] == ["retention_done"]

    off = cli.invoke(main, ["retention", "acme", "set", "--contacts", "off", "--messages", "off"])
    assert off.exit_code == 0 and off.output.startswith("Retention rules turned off")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["retention", "acme", "set"], "give --contacts DAYS|off and/or --messages DAYS|off"),
        (["retention", "acme", "set", "--contacts", "soon"], "a number of days, or off"),
        (["retention", "acme", "set", "--messages", "3"], "messages_older_than_days must be"),
        (["retention", "nowhere", "show"], "no workspace 'nowhere'"),
    ],
)
def test_retention_commands_refuse_bad_input(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli.invoke(main, args)
    assert result.exit_code != 0 and message in result.output, result.output
