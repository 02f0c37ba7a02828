"""The contactgate CLI against a real SQLite file, and config-file declarations applied at start."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway import startup
from gateway.app import create_app
from gateway.cli import main
from gateway.settings import load_settings
from store import plan, setup
from store.tokens import hash_token
from tests import helpers as h


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONTACTGATE_DATABASE_URL", f"sqlite://{tmp_path}/cli/cg.db")
    return CliRunner()


def test_setup_commands_end_to_end(cli: CliRunner) -> None:
    applied = "models.0001_initial, models.0002_search_sort, models.0003_filter_indexes,"
    applied += " models.0004_pg_sort_indexes, models.0005_fts_trigger_on_change, models.0006_reset"
    applied += ", models.0007_sms_parts, models.0008_bots, models.0009_phone_key, models.0010_ids"
    applied += ", models.0011_message_content, models.0012_audit_target, models.0013_import_jobs"
    applied += ", models.0014_duplicates, models.0015_statuses, models.0016_language"
    applied += ", models.0017_outbox, models.0018_retention, models.0019_consent"
    assert cli.invoke(main, ["migrate"]).output == f"applied: {applied}\n"
    assert cli.invoke(main, ["migrate"]).output == "schema is up to date\n"
    made = cli.invoke(main, ["workspace", "create", "acme", "--cap", "5", "--region", "ec"])
    assert made.exit_code == 0 and "default_region: EC" in made.output
    assert "language: es" in made.output  # the bots speak Spanish unless told otherwise
    english = cli.invoke(main, ["workspace", "set", "acme", "--language", "en"])
    assert english.exit_code == 0 and "language: en" in english.output
    assert "language=en" in cli.invoke(main, ["workspace", "list"]).output
    wrong = cli.invoke(main, ["workspace", "set", "acme", "--language", "pt"])
    assert wrong.exit_code == 2 and "'pt' is not one of 'es', 'en'" in wrong.output
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
    assert added.output.splitlines()[:2] == [
        "channel telegram added: POST http://127.0.0.1:8080/webhooks/tg-acme-0001",
        "  secret_token: abc",
    ]
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
            ["channel", "add", "acme", "vonage_sms", "--secret", "signature_method=md5hash"],
            "needs secrets: signature_secret",
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


# --- start-up through the real command (a subprocess) --------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
BAD_REQUEST = "bad HTTP request from 127.0.0.1: BadStatusLine (400)"


def _env(database_url: str, **more: str) -> dict[str, str]:
    """The parent's environment without CONTACTGATE_* variables, plus the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CONTACTGATE_")}
    return env | {"CONTACTGATE_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **more}


def _contactgate(
    env: dict[str, str], *args: str, prefix: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """`contactgate ARGS`; a command that hangs fails the test after 60 s."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A folder the command may not write to, and the prefix that makes that true for root
    (setpriv drops the capability that lets root write anywhere)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: every folder is writable")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    yield folder, prefix
    folder.chmod(0o755)


@pytest.mark.parametrize("args", [["workspace", "list"], ["migrate"], ["serve"]])
def test_an_unwritable_sqlite_folder_is_one_line_not_a_hang(
    unwritable: tuple[Path, list[str]], args: list[str]
) -> None:
    folder, prefix = unwritable
    url = f"sqlite://{folder}/cg.db"
    done = _contactgate(_env(url), *args, prefix=prefix)
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        f"Error: CONTACTGATE_DATABASE_URL={url}: cannot open {folder}/cg.db: unable to open"
        f" database file (is {folder} writable?)\n",
    )


def _unreachable(server: str, kind: str, port: int) -> tuple[str, str]:
    """A PostgreSQL URL that cannot be used, and the cause the command must name."""
    if kind == "missing database":
        return f"{server}/cg_missing_db", 'database "cg_missing_db" does not exist'
    if kind == "missing role":
        url = server.replace("://postgres@", "://cg_no_role:hunter2-pw@") + "/test"
        return url, 'role "cg_no_role" does not exist'
    return f"postgres://postgres@127.0.0.1:{port}/test", (
        f"cannot connect: Connect call failed ('127.0.0.1', {port})"
    )


@pytest.mark.pg
@pytest.mark.parametrize(
    ("kind", "args"),
    [
        ("missing database", ["serve"]),
        ("missing role", ["workspace", "list"]),
        ("refused", ["migrate"]),
    ],
)
def test_postgresql_that_cannot_be_used_is_one_line(
    pg_database: str, kind: str, args: list[str]
) -> None:
    url, cause = _unreachable(pg_database.rsplit("/", 1)[0], kind, _free_port())
    done = _contactgate(_env(url), *args)
    shown = url.replace(":hunter2-pw@", ":***@")
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        f"Error: CONTACTGATE_DATABASE_URL={shown}: {cause}\n",
    )


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """The lines the process writes on stdout, as they come ("" at the end)."""
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        for line in iter(stdout.readline, ""):
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_serve_logs_listening_and_stopped_as_json_lines(db_url: str) -> None:
    port = _free_port()
    env = _env(db_url, CONTACTGATE_LOG_LEVEL="INFO", CONTACTGATE_DATABSE_URL="sqlite://typo.db")
    token = "cg_" + "s" * 40
    with subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            lines = _lines(proc)
            said = [json.loads(lines.get(timeout=60)) for _ in range(2)]
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(f"GET /healthz HTTP/1.1\nAuthorization: Bearer {token}\n\n".encode())
                assert sock.recv(100).startswith(b"HTTP/1.0 400 Bad Request")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            out = list(iter(lambda: lines.get(timeout=10), ""))
            assert proc.stderr is not None and proc.stderr.read() == ""
        finally:
            proc.kill()
    said += [json.loads(line) for line in out]  # every line is one JSON object
    events = [(e["level"], e["event"]) for e in said]
    assert events[:2] == [
        (
            "warning",
            "CONTACTGATE_DATABSE_URL is not a setting and is ignored"
            " (did you mean CONTACTGATE_DATABASE_URL?)",
        ),
        ("info", f"listening on http://127.0.0.1:{port}"),
    ]
    assert ("warning", BAD_REQUEST) in events and events[-1] == ("info", "stopped")
    assert token not in "".join(out)


async def test_a_postgresql_that_never_answers_is_named_after_the_probe_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    silent = await asyncio.start_server(
        lambda _r, _w: None, "127.0.0.1", 0
    )  # accepts, says nothing
    port = silent.sockets[0].getsockname()[1]
    monkeypatch.setattr(startup, "PROBE_SECONDS", 0.2)
    url = f"postgres://cg:pw-never-shown@127.0.0.1:{port}/cg"
    try:
        with pytest.raises(startup.DatabaseUnavailable) as caught:
            await startup.check_database(load_settings(database_url=url))
    finally:
        silent.close()
    assert str(caught.value) == (
        f"CONTACTGATE_DATABASE_URL=postgres://cg:***@127.0.0.1:{port}/cg: no answer within 0.2 s"
    )


def test_serve_on_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _contactgate(_env(f"sqlite://{tmp_path}/cg.db"), "serve", "--port", str(port))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"Error: cannot listen on 127.0.0.1:{port} (CONTACTGATE_HOST, CONTACTGATE_PORT): error"
        f" while attempting to bind on address ('127.0.0.1', {port}): address already in use\n"
    )
