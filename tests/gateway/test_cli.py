"""The contactgate CLI against a real SQLite file, and config-file declarations applied at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.app import create_app
from gateway.cli import main
from gateway.settings import load_settings
from store import plan, setup
from store.setup import hash_token
from tests import helpers as h


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", f"sqlite://{tmp_path}/cli/cg.db")
    return CliRunner()


def test_setup_commands_end_to_end(cli: CliRunner) -> None:
    applied = "models.0001_initial, models.0002_search_sort, models.0003_filter_indexes,"
    applied += " models.0004_pg_sort_indexes, models.0005_fts_trigger_on_change, models.0006_reset"
    applied += ", models.0007_sms_parts, models.0008_bots"
    assert cli.invoke(main, ["migrate"]).output == f"applied: {applied}\n"
    assert cli.invoke(main, ["migrate"]).output == "schema is up to date\n"
    made = cli.invoke(main, ["workspace", "create", "acme", "--cap", "5", "--region", "ec"])
    assert made.exit_code == 0 and "default_region: EC" in made.output
    added = cli.invoke(
        main,
        [
            "channel",
            "add",
            "acme",
            "telegram",
            "--key",
            "tg-acme-0001",
            "--secret",
            "secret_token=abc",
        ],
    )
    assert added.output == "channel telegram ready: POST /webhooks/tg-acme-0001\n"
    listed = cli.invoke(main, ["channel", "list", "acme"])
    assert listed.output == "tg-acme-0001\ttelegram\tactive\n"
    bound = cli.invoke(main, ["admin", "add", "acme", "telegram", "111", "owner"])
    assert bound.output == "telegram user 111 is owner of acme\n"
    token = cli.invoke(main, ["token", "create", "acme", "ci", "--role", "agent"]).output.strip()
    assert token.startswith("cg_") and len(token) > 40
    shown = json.loads(cli.invoke(main, ["plan", "acme", "--json"]).output)
    assert (shown["cap"], shown["used"], shown["held_messages"]) == (5, 0, 0)
    raised = json.loads(cli.invoke(main, ["plan", "acme", "--cap", "9", "--json"]).output)
    assert raised["cap"] == 9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["workspace", "create", "Bad Slug"], "workspace slug 'Bad Slug' must be"),
        (["workspace", "create", "acme2", "--timezone", "Mars/Base"], "unknown timezone"),
        (["channel", "add", "acme", "fax"], "unknown channel kind 'fax'"),
        (
            ["channel", "add", "acme", "whatsapp", "--secret", "app_secret=x"],
            "needs secrets: verify_token",
        ),
        (["channel", "add", "acme", "telegram", "--secret", "novalue"], "must be NAME=VALUE"),
        (["channel", "add", "nope", "telegram", "--secret", "secret_token=x"], "no workspace"),
        (["plan", "nope"], "no workspace 'nope'"),
        (["plan", "acme", "--cap", "-1"], "plan cap must be 0 or more"),
    ],
)
def test_bad_input_is_a_clear_error(cli: CliRunner, args: list[str], message: str) -> None:
    cli.invoke(main, ["workspace", "create", "acme"])
    result = cli.invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output


async def test_config_declarations_are_applied_at_start(
    aiohttp_client: object, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        database_url=db_url,
        workspaces=[{"slug": "acme", "plan_cap": 7, "timezone": "America/Lima"}],
        channels=[
            {
                "workspace": "acme",
                "kind": "telegram",
                "key": "tg-declared-1",
                "secrets": {"secret_token": h.TG_SECRET},
            }
        ],
        admins=[{"workspace": "acme", "platform": "slack", "user": "T1:U1", "role": "admin"}],
        tokens=[{"workspace": "acme", "name": "sync", "role": "owner", "token": "t" * 30}],
    )
    client = await aiohttp_client(create_app(settings))  # type: ignore[operator]
    resp = await h.send_telegram(client, "tg-declared-1", h.telegram_update(5))
    assert resp.status == 200
    assert (await setup.get_workspace("acme")).timezone == "America/Lima"
    assert (await plan.usage("acme")).used == 1
    assert await h.rows("SELECT platform, platform_user, role FROM admin_binding") == [
        {"platform": "slack", "platform_user": "T1:U1", "role": "admin"}
    ]
    assert await h.scalar("SELECT token_hash FROM api_token") == hash_token("t" * 30)
