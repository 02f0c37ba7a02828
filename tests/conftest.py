"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL, and the gateway.

PostgreSQL tests need a server (CONTACTGATE_TEST_PG_ADMIN, default
postgres://postgres@127.0.0.1:5432/test). Without one they skip with the reason, except when
CI=true or CONTACTGATE_REQUIRE_PG=1, where a missing server fails the run.

CONTACTGATE_TEST_CLOCK=<ISO instant with offset> moves this process's clock there for the whole
run (time-machine, ticking), so a test that reads the wall clock where it should inject time fails
on any day, not only on an awkward one. `.ci/run` runs the date-sensitive modules that way.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest
import time_machine
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.settings import Settings, load_settings
from store import db

PG_ADMIN = os.environ.get("CONTACTGATE_TEST_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("CI") == "true" or os.environ.get("CONTACTGATE_REQUIRE_PG") == "1"
BACKENDS = ["sqlite", pytest.param("pg", marks=pytest.mark.pg)]
OFFLINE = {  # port 9 (discard) on loopback: nothing listens, so nothing leaves the machine
    f"{name}_url": "http://127.0.0.1:9"
    for name in ("telegram_api", "meta_graph", "instagram_graph", "twilio_api")
}


TEST_CLOCK = os.environ.get("CONTACTGATE_TEST_CLOCK", "")


def pytest_configure(config: pytest.Config) -> None:
    """Move the clock for the whole run when CONTACTGATE_TEST_CLOCK says so."""
    if TEST_CLOCK:
        moment = datetime.fromisoformat(TEST_CLOCK)
        if moment.tzinfo is None:
            raise pytest.UsageError("CONTACTGATE_TEST_CLOCK needs an offset, e.g. +00:00")
        time_machine.travel(moment, tick=True).start()


def pytest_report_header() -> str | None:
    return f"clock moved to {TEST_CLOCK} (CONTACTGATE_TEST_CLOCK)" if TEST_CLOCK else None


def _pg_server_url(database: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_reason() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN}: {exc}"
    return None


async def _migrate(url: str) -> None:
    await db.migrate(url)
    await db.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite://{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database for this test session, dropped at the end."""
    reason = _pg_reason()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"{reason} (required because CI=true or CONTACTGATE_REQUIRE_PG=1)")
        pytest.skip(reason)
    name = f"cg_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = _pg_server_url(name)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_truncate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'tortoise_migrations'"
        )
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a fresh SQLite file, or the session's PostgreSQL, emptied."""
    if request.param == "sqlite":
        path = tmp_path / "cg.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite://{path}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_pg_truncate(url))
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its database, no declarations, no cache delay, reset exports in
    the test's folder, and every provider API on a closed local port (a test that sends must
    point them at a fake)."""
    return load_settings(
        database_url=db_url,
        channel_cache_seconds=0,
        log_level="WARNING",
        reset_export_dir=tmp_path / "reset-exports",
        events_out=False,  # no deliverer unless a test starts one (it POSTs to subscribed URLs)
        **OFFLINE,
    )


@pytest.fixture
async def client(aiohttp_client: object, settings: Settings) -> AsyncIterator[TestClient]:
    """The gateway behind aiohttp's test client (the ORM is open for the test's own calls)."""
    app = create_app(settings)
    test_client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    yield test_client


@pytest.fixture
async def orm(db_url: str) -> AsyncIterator[str]:
    """The ORM open on an empty migrated database, without the HTTP app."""
    await db.init(db_url)
    yield db_url
    await db.close()
