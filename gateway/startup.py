"""Start-up checks that fail fast with one line naming the setting and the cause."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway.settings import Settings

PROBE_SECONDS = 5.0  # longest wait for the database to answer at start
SETTING = "CONTACTGATE_DATABASE_URL"


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message names the setting and the cause."""


def shown_url(url: str) -> str:
    """The database URL without its password (for messages)."""
    from gateway.logs import DSN_PASSWORD

    return DSN_PASSWORD.sub(r"\g<head>***@", url)


def _fail(settings: Settings, cause: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"{SETTING}={shown_url(settings.database_url)}: {cause}")


async def check_database(settings: Settings) -> None:
    """Open the database once, briefly, so a wrong URL, a missing database or role, a refused
    connection or an unwritable SQLite folder is one clear error instead of a hang or a
    traceback."""
    path = settings.sqlite_path()
    if path is not None:
        _check_sqlite(settings, path)
    elif settings.database_url.startswith("postgres://"):
        await _check_postgres(settings)


def _check_sqlite(settings: Settings, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=PROBE_SECONDS)
        try:
            # WAL needs the -wal and -shm files beside the database: a read proves the folder
            # is writable, without waiting for a gateway that is writing.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise _fail(settings, f"cannot open {path}: {exc} (is {path.parent} writable?)") from exc
    except OSError as exc:
        raise _fail(settings, f"cannot create {path.parent}: {exc.strerror}") from exc


async def _check_postgres(settings: Settings) -> None:
    import asyncpg

    try:
        conn = await asyncpg.connect(settings.database_url, timeout=PROBE_SECONDS)
    except asyncpg.PostgresError as exc:
        raise _fail(settings, str(exc)) from exc
    except TimeoutError as exc:
        raise _fail(settings, f"no answer within {PROBE_SECONDS:g} s") from exc
    except OSError as exc:  # refused, unknown host, SSL refused
        raise _fail(settings, f"cannot connect: {exc.strerror or exc}") from exc
    await conn.close()


async def learn_channel_secrets() -> None:
    """Teach the log redactor the credentials of every channel in the database (channels added
    with `contactgate channel add` are in no settings)."""
    from gateway import logs
    from store.channels import list_channels
    from store.setup import list_workspaces

    for workspace in await list_workspaces():
        for channel in await list_channels(workspace.slug):
            logs.learn(logs.channel_secrets(channel.secrets))
