"""`contactgate channel | token | admin | plan | events` through click against a real SQLite file:
whole outputs, and the errors (unknown workspace, unknown channel, bad kind)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli import main

CURL_TG = """curl -sS -X POST http://127.0.0.1:8080/webhooks/tg-acme-0001 \\
  -H 'Content-Type: application/json' \\
  -H 'X-Telegram-Bot-Api-Secret-Token: abc' \\
  --data-binary '{"update_id": 1, "message": {"message_id": 1, "date": 1795000000, "text": "hola",\
 "from": {"id": 4242, "is_bot": false, "first_name": "Ana"}, "chat": {"id": 4242,\
 "type": "private", "first_name": "Ana"}}}'"""


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli" / "cg.db"
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", f"sqlite://{path}")
    for name in ("CONTACTGATE_PUBLIC_URL", "CONTACTGATE_HOST", "CONTACTGATE_PORT"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def cg(db_file: Path) -> CgRunner:
    runner = CgRunner()
    assert runner("workspace", "create", "acme", "--region", "EC").exit_code == 0
    return runner


class CgRunner(CliRunner):
    """`contactgate ARGS…` in-process."""

    def __call__(self, *args: str) -> Result:
        return self.invoke(main, list(args))


def _add_tg(cg: CgRunner, *more: str) -> Result:
    return cg("channel", "add", "acme", "telegram", "--key", "tg-acme-0001", *more)


def test_channel_add_prints_the_secret_once_and_a_ready_curl(cg: CgRunner) -> None:
    added = _add_tg(cg, "--secret", "secret_token=abc")
    assert added.output == (
        "channel telegram added: POST http://127.0.0.1:8080/webhooks/tg-acme-0001\n"
        "  secret_token: abc\n"
        "try it (a sample telegram delivery):\n"
        f"{CURL_TG}\n"
    )
    assert cg("channel", "list", "acme").output == "tg-acme-0001\ttelegram\tactive\n"


def test_channel_add_makes_up_the_secrets_that_are_ours(cg: CgRunner) -> None:
    lines = _add_tg(cg).output.splitlines()
    secret = lines[1].removeprefix("  secret_token: ")
    assert len(secret) == 32 and f"-H 'X-Telegram-Bot-Api-Secret-Token: {secret}'" in lines[5]
    wa = cg("channel", "add", "acme", "whatsapp", "--secret", "app_secret=s3", "--key", "wa-acme-1")
    assert wa.output.splitlines()[1] == "  app_secret: s3"
    assert wa.output.splitlines()[2].startswith("  verify_token: ")


def test_channel_add_again_with_the_same_key_updates_it(cg: CgRunner) -> None:
    _add_tg(cg, "--secret", "secret_token=abc")
    again = _add_tg(cg, "--name", "Shop bot")
    assert again.output.splitlines()[:2] == [
        "channel telegram updated: POST http://127.0.0.1:8080/webhooks/tg-acme-0001",
        "  secret_token: abc",  # kept: not given again
    ]
    assert cg("channel", "list", "acme").output == "tg-acme-0001\ttelegram\tactive\n"
    other = cg("channel", "add", "acme", "webchat", "--key", "tg-acme-0001")
    assert other.exit_code == 1
    assert "is a telegram channel; remove it to reuse its key" in other.output


def test_channel_add_help_lists_every_kind_and_its_secrets(cg: CgRunner) -> None:
    shown = cg("channel", "add", "--help").output
    assert "Kinds and their secrets:" in shown
    for line in (
        "telegram         secret_token (made up when omitted)",
        "twilio_sms       auth_token",
        "vonage_sms       signature_secret, signature_method",
        "whatsapp         app_secret, verify_token (made up when omitted)",
    ):
        assert line in shown


def test_other_kinds_print_their_curl_or_where_to_read(cg: CgRunner) -> None:
    bird = cg(
        "channel", "add", "acme", "bird_sms", "--secret", "signing_key=k", "--key", "bird-0001"
    )
    assert bird.output.splitlines()[-1] == "sample delivery: see docs/channels.md (bird_sms)"
    origin = "allowed_origins=https://shop.example.com"
    chat = cg("channel", "add", "acme", "webchat", "--secret", origin, "--key", "web-0001")
    assert "  -H 'Origin: https://shop.example.com' \\\n" in chat.output


def test_public_url_is_the_base_of_the_printed_url(
    cg: CgRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTGATE_PUBLIC_URL", "https://hooks.example.com")
    first = _add_tg(cg, "--secret", "secret_token=abc").output.splitlines()[0]
    assert first == "channel telegram added: POST https://hooks.example.com/webhooks/tg-acme-0001"


def test_channel_list_json_leaves_secrets_out(cg: CgRunner) -> None:
    assert cg("channel", "list", "acme").output == "no channels in acme\n"
    _add_tg(cg, "--secret", "secret_token=abc")
    shown = json.loads(cg("channel", "list", "acme", "--json").output)
    assert shown == [{"key": "tg-acme-0001", "kind": "telegram", "active": True}]


def test_disable_and_enable(cg: CgRunner) -> None:
    _add_tg(cg, "--secret", "secret_token=abc")
    assert cg("channel", "disable", "acme", "tg-acme-0001").output == (
        "channel tg-acme-0001 is now disabled\n"
    )
    assert cg("channel", "disable", "acme", "tg-acme-0001").output == (
        "channel tg-acme-0001 was already disabled\n"
    )
    assert cg("channel", "list", "acme").output == "tg-acme-0001\ttelegram\tdisabled\n"
    _add_tg(cg)  # updating a disabled channel leaves it disabled
    assert cg("channel", "list", "acme").output == "tg-acme-0001\ttelegram\tdisabled\n"
    assert cg("channel", "enable", "acme", "tg-acme-0001").output == (
        "channel tg-acme-0001 is now enabled\n"
    )
    assert cg("channel", "list", "acme").output == "tg-acme-0001\ttelegram\tactive\n"


def test_rotate_secret_prints_the_new_value_once(cg: CgRunner) -> None:
    _add_tg(cg, "--secret", "secret_token=abc")
    given = cg("channel", "rotate-secret", "acme", "tg-acme-0001", "secret_token", "--value", "n3w")
    assert given.output == "channel tg-acme-0001 secret_token: n3w\n"
    made = cg("channel", "rotate-secret", "acme", "tg-acme-0001", "secret_token").output
    assert made.startswith("channel tg-acme-0001 secret_token: ") and len(made) == 68
    wrong = cg("channel", "rotate-secret", "acme", "tg-acme-0001", "app_secret")
    assert wrong.exit_code == 1
    assert "channel tg-acme-0001 has no secret 'app_secret'; its secrets: secret_token" in (
        wrong.output
    )


def test_remove_refuses_a_channel_with_history_unless_forced(cg: CgRunner, db_file: Path) -> None:
    _add_tg(cg, "--secret", "secret_token=abc")
    _add_tg_history(db_file)
    refused = cg("channel", "remove", "acme", "tg-acme-0001")
    assert refused.exit_code == 1
    assert (
        "channel tg-acme-0001 has 1 identities and 1 messages of contacts; disable it instead,"
        " or remove it with --force to delete them"
    ) in refused.output
    forced = cg("channel", "remove", "acme", "tg-acme-0001", "--force")
    assert forced.output == "channel tg-acme-0001 removed with 1 identities and 1 messages\n"
    assert cg("channel", "list", "acme").output == "no channels in acme\n"
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT count(*) FROM contact").fetchone() == (1,)  # stays
        assert conn.execute("SELECT action, target FROM audit_log ORDER BY id DESC").fetchone() == (
            "channel.remove",
            "tg-acme-0001",
        )


def test_remove_an_unused_channel(cg: CgRunner) -> None:
    _add_tg(cg, "--secret", "secret_token=abc")
    assert cg("channel", "remove", "acme", "tg-acme-0001").output == (
        "channel tg-acme-0001 removed\n"
    )


def _add_tg_history(db_file: Path) -> None:
    """One contact with an identity and a message on tg-acme-0001, written as the gateway would."""
    with sqlite3.connect(db_file) as conn:
        ws, ch = conn.execute("SELECT workspace_id, id FROM channel").fetchone()
        at = "2026-12-01 10:00:00+00:00"
        contact = conn.execute(
            "INSERT INTO contact (workspace_id, name, custom, source, created_at, updated_at,"
            " search_text) VALUES (?, 'Ana', '{}', 'inbound', ?, ?, 'ana')",
            (ws, at, at),
        ).lastrowid
        identity = conn.execute(
            "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, period,"
            " created_at) VALUES (?, ?, ?, '4242', '2026-12', ?)",
            (ws, ch, contact, at),
        ).lastrowid
        columns = [r[1] for r in conn.execute("PRAGMA table_info(message)")]
        values = {
            "workspace_id": ws,
            "channel_id": ch,
            "identity_id": identity,
            "contact_id": contact,
            "direction": "in",
        }
        for name in columns:
            values.setdefault(name, _filler(conn, name))
        values.pop("id")
        marks = ", ".join("?" * len(values))
        conn.execute(
            f"INSERT INTO message ({', '.join(values)}) VALUES ({marks})", list(values.values())
        )


def _filler(conn: sqlite3.Connection, column: str) -> object:
    notnull = {r[1]: r[3] for r in conn.execute("PRAGMA table_info(message)")}
    if not notnull[column]:
        return None
    return "2026-12-01 10:00:00+00:00" if column.endswith("_at") else "x"


def test_tokens_list_without_secrets_and_revoke(cg: CgRunner) -> None:
    assert cg("token", "list", "acme").output == "no tokens in acme\n"
    made = cg("token", "create", "acme", "ci", "--role", "agent").output.strip()
    listed = cg("token", "list", "acme").output
    assert listed.startswith("ci\tagent\tcreated ") and listed.endswith("\tused never\n")
    assert made not in listed
    shown = json.loads(cg("token", "list", "acme", "--json").output)
    assert [(t["name"], t["role"], t["last_used_at"], t["revoked_at"]) for t in shown] == [
        ("ci", "agent", None, None)
    ]
    assert cg("token", "revoke", "acme", "ci").output == "revoked 1 token named ci\n"
    assert "\trevoked " in cg("token", "list", "acme").output
    again = cg("token", "revoke", "acme", "ci")
    assert again.exit_code == 1 and "no live token 'ci' in this workspace" in again.output


def test_admins_list_and_remove(cg: CgRunner) -> None:
    assert cg("admin", "list", "acme").output == "no chat users bound to acme\n"
    cg("admin", "add", "acme", "telegram", "111", "owner", "--name", "Ana")
    cg("admin", "add", "acme", "slack", "T1:U1", "agent")
    assert cg("admin", "list", "acme").output == "slack\tT1:U1\tagent\ntelegram\t111\towner\tAna\n"
    assert json.loads(cg("admin", "list", "acme", "--json").output)[0] == {
        "platform": "slack",
        "user": "T1:U1",
        "role": "agent",
        "name": "",
    }
    assert cg("admin", "remove", "acme", "slack", "T1:U1").output == (
        "slack user T1:U1 is no longer bound to acme\n"
    )
    assert cg("admin", "list", "acme").output == "telegram\t111\towner\tAna\n"
    gone = cg("admin", "remove", "acme", "slack", "T1:U1")
    assert gone.exit_code == 1 and "slack user T1:U1 is not bound to this workspace" in gone.output


def test_plan_and_events_speak_to_humans(cg: CgRunner) -> None:
    cg("workspace", "create", "acme", "--cap", "5", "--region", "EC")
    _add_tg(cg, "--secret", "secret_token=abc")
    lines = cg("plan", "acme").output.splitlines()
    assert lines[0].startswith("acme in ") and lines[0].endswith(
        ": 0 of 5 contacts (0 carried over from earlier periods)"
    )
    assert lines[1] == "held: 0 messages from 0 new senders"
    assert lines[2].startswith("next period in ") and lines[2].endswith(" days")
    assert cg("events", "acme").output == "no events in acme\n"
    assert cg("events", "acme", "--json").output == "[]\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["channel", "list", "nope"], "no workspace 'nope'"),
        (["channel", "disable", "nope", "tg-acme-0001"], "no workspace 'nope'"),
        (["channel", "disable", "acme", "nope-0001"], "no channel 'nope-0001' in this workspace"),
        (["channel", "enable", "acme", "nope-0001"], "no channel 'nope-0001' in this workspace"),
        (["channel", "remove", "acme", "nope-0001"], "no channel 'nope-0001' in this workspace"),
        (
            ["channel", "rotate-secret", "acme", "nope-0001", "secret_token"],
            "no channel 'nope-0001' in this workspace",
        ),
        (["channel", "add", "acme", "fax"], "unknown channel kind 'fax'"),
        (["token", "list", "nope"], "no workspace 'nope'"),
        (["token", "revoke", "nope", "ci"], "no workspace 'nope'"),
        (["admin", "list", "nope"], "no workspace 'nope'"),
        (["admin", "remove", "nope", "slack", "T1:U1"], "no workspace 'nope'"),
        (["events", "nope"], "no workspace 'nope'"),
    ],
)
def test_errors_are_one_clear_line(cg: CgRunner, args: list[str], message: str) -> None:
    result = cg(*args)
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n" or message in result.output


def test_a_channel_of_another_workspace_is_not_yours(cg: CgRunner) -> None:
    _add_tg(cg, "--secret", "secret_token=abc")
    cg("workspace", "create", "other")
    taken = cg("channel", "disable", "other", "tg-acme-0001")
    assert taken.output == "Error: no channel 'tg-acme-0001' in this workspace\n"
    moved = cg("channel", "add", "other", "telegram", "--key", "tg-acme-0001")
    assert moved.output == "Error: channel key 'tg-acme-0001' belongs to another workspace\n"
