"""Database lifecycle (init, close, migrate) and raw batched SQL on tortoise's own connection."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient

from store.fold import fold
from store.health import DISCARD, classify
from store.pg_conn import DiscardingConnection

APP = "models"
MODELS_MODULES = ["store.models", "store.models_ops"]
MIGRATIONS_MODULE = "store.migrations"
SQLITE_DEFAULTS = {
    "journal_mode": "WAL",
    "synchronous": "NORMAL",
    "busy_timeout": "10000",
    # 64 MiB of page cache: a batch of a big delete (a monthly reset) touches thousands of
    # index pages; with SQLite's 2 MiB default its slowest transaction took 780 ms, not 185.
    "cache_size": "-65536",
    # a WAL that grew during a long write is cut back to 64 MiB once it is reset
    "journal_size_limit": str(64 * 1024 * 1024),
}
T = TypeVar("T")


class SchemaError(Exception):
    """The database schema is missing migrations; run `contactgate migrate`."""


def with_sqlite_defaults(url: str) -> str:
    """Add our SQLite PRAGMAs (WAL, synchronous=NORMAL, busy_timeout) unless the URL sets them."""
    if not url.startswith("sqlite://"):
        return url
    parts = urlsplit(url)
    params = dict(SQLITE_DEFAULTS) | dict(parse_qsl(parts.query))
    return urlunsplit(parts._replace(query=urlencode(params)))


_active_label = "sqlite"


def label_for(url: str) -> str:
    """The connection name for a URL: one per dialect, because tortoise caches SQL per name."""
    return "sqlite" if url.startswith("sqlite://") else "postgres"


def tortoise_config(url: str, *, pool_max: int = 10) -> dict[str, Any]:
    """The tortoise configuration for one database URL."""
    label = label_for(url)
    url = with_sqlite_defaults(url)
    credentials: dict[str, Any] = {}
    if url.startswith(("postgres://", "asyncpg://")):
        credentials = {"maxsize": pool_max, "connection_class": DiscardingConnection}
    from tortoise.backends.base.config_generator import expand_db_url

    conn = expand_db_url(url)
    conn["credentials"].update(credentials)
    return {
        "connections": {label: conn},
        "apps": {
            APP: {
                "models": MODELS_MODULES,
                "default_connection": label,
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def sqlite_datetime(moment: datetime) -> str:
    """How a datetime parameter is written to SQLite: in UTC, so text comparisons order by time.

    sqlite3's default adapter keeps the offset (`2027-01-01 00:00:00-06:00`), and such a value
    compared as text with the stored UTC times (`2027-01-01 05:30:00+00:00`) gives the wrong order.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(" ")


async def init(url: str, *, pool_max: int = 10) -> None:
    """Open the ORM on `url`; the caller must `close()` it."""
    global _active_label
    sqlite3.register_adapter(datetime, sqlite_datetime)
    _active_label = label_for(url)
    await Tortoise.init(
        config=tortoise_config(url, pool_max=pool_max), _enable_global_fallback=True
    )
    db = client()
    if db.capabilities.dialect == "sqlite":
        await db.create_connection(with_db=True)
        await db._connection.create_function("cg_fold", 1, sql_fold, deterministic=True)


async def optimize() -> None:
    """Refresh SQLite's planner statistics where they went stale (PostgreSQL autovacuum does).

    Without them SQLite may walk an unrelated index for a filter: measured 1.8 s instead of
    50 ms for `country:EC` on a million contacts.
    """
    db = client()
    if db.capabilities.dialect != "sqlite":
        await _analyze_postgres(db)
        return
    _count, rows = await db.execute_query("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    # analysis_limit samples each index (approximate, fast statistics, as SQLite advises)
    await db.execute_script(
        "PRAGMA analysis_limit=1000; " + ("PRAGMA optimize" if rows else "ANALYZE")
    )


async def _analyze_postgres(db: BaseDBAsyncClient) -> None:
    """VACUUM and ANALYZE the contact tables when a bulk load outran autovacuum (a million
    imported rows left PostgreSQL planning sorted pages as full scans: 500 ms instead of 2 ms;
    until VACUUM marks the new pages all-visible, the duplicate finder's groupings read the
    table, not their index: 600 ms instead of 190 ms on 200,000 contacts)."""
    _count, rows = await db.execute_query(
        "SELECT n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables WHERE relname = 'contact'"
    )
    if rows and rows[0][0] > 0.1 * rows[0][1] + 1000:
        await db.execute_script("VACUUM (ANALYZE) contact, identity, contact_tag, tag")


def sql_fold(value: object) -> str | None:
    """`cg_fold(x)` on SQLite: store.fold.fold (PostgreSQL has it as lower(unaccent(x)))."""
    return None if value is None else fold(str(value))


async def close() -> None:
    """Close every connection (the aiosqlite thread keeps a process alive otherwise)."""
    await Tortoise.close_connections()


MIGRATION_LOCK = 0x636F6E74  # PostgreSQL advisory lock key held while migrating


async def migrate(url: str) -> list[str]:
    """Apply pending migrations; returns the names applied.

    On PostgreSQL an advisory lock makes processes that start together migrate one at a time.
    """
    from tortoise.migrations.api import migrate as run

    applied: list[str] = []

    def progress(event: str, app: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app}.{name}")

    async with _migration_lock(url):
        await run(config=tortoise_config(url), progress=progress)
    return applied


@asynccontextmanager
async def _migration_lock(url: str) -> AsyncIterator[None]:
    if label_for(url) != "postgres":
        yield
        return
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        yield
    finally:
        await conn.close()  # closing the session releases the lock


async def pending_migrations(url: str) -> list[str]:
    """Names of migrations not yet applied (empty when the schema is current)."""
    from tortoise.migrations.executor import MigrationExecutor

    config = tortoise_config(url)
    await Tortoise.init(config=config, init_connections=False)
    executor = MigrationExecutor(connections.get(label_for(url)), config["apps"])
    steps = await executor.plan(None)
    return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]


def client() -> BaseDBAsyncClient:
    """The tortoise connection of the open database, for raw SQL."""
    return connections.get(_active_label)


async def renew_connections() -> None:
    """Have every pooled PostgreSQL connection replaced on its next use: after a failover or a
    killed backend the other sessions of the pool are as stale as the one that failed."""
    db = client()
    if db.capabilities.dialect == "postgres":
        await db._expire_connections()  # type: ignore[attr-defined]  # asyncpg client's own


async def read_retrying(read: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a read; once more, on renewed connections, when its connection had to be discarded
    (a killed backend, a failover). Reads only: a write may have committed before it failed."""
    try:
        return await read()
    except Exception as exc:
        fault = classify(exc, from_database=True)
        if fault is None or fault.cause not in DISCARD:
            raise
    await renew_connections()
    return await read()


def dialect() -> str:
    """`sqlite` or `postgres`."""
    return str(client().capabilities.dialect)


class RawTx(Protocol):
    """A transaction on which the hot path runs hand-written SQL with `?` placeholders."""

    dialect: str
    for_update: str  # " FOR UPDATE" where row locks exist, "" on SQLite (the write lock serialises)
    for_share: str  # " FOR SHARE" likewise

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


_PLACEHOLDER = re.compile(r"\?")
_pg_sql_cache: dict[str, str] = {}


def to_pg(sql: str) -> str:
    """Rewrite `?` placeholders as `$1, $2…` (our SQL never has `?` inside literals)."""
    cached = _pg_sql_cache.get(sql)
    if cached is None:
        counter = iter(range(1, 1_000_000))
        cached = _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)
        if len(_pg_sql_cache) < 4096:
            _pg_sql_cache[sql] = cached
    return cached


class _SqliteTx:
    dialect = "sqlite"
    for_update = ""
    for_share = ""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await (await self._conn.execute(sql, params)).close()

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await (await self._conn.executemany(sql, rows)).close()


class _PgTx:
    dialect = "postgres"
    for_update = " FOR UPDATE"
    for_share = " FOR SHARE"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        return list(await self._conn.fetch(to_pg(sql), *params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._conn.execute(to_pg(sql), *params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._conn.executemany(to_pg(sql), rows)


class ClientTx:
    """RawTx over a tortoise client (reads outside a transaction, migrations)."""

    for_update = ""
    for_share = ""

    def __init__(self, db: BaseDBAsyncClient | None = None, dialect_name: str | None = None):
        self._db = db or client()
        self.dialect = dialect_name or str(self._db.capabilities.dialect)

    def _sql(self, sql: str) -> str:
        return to_pg(sql) if self.dialect == "postgres" else sql

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        _count, rows = await self._db.execute_query(self._sql(sql), list(params))
        return [tuple(row.values()) if hasattr(row, "values") else tuple(row) for row in rows]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._db.execute_query(self._sql(sql), list(params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._db.execute_many(self._sql(sql), [list(r) for r in rows])


@asynccontextmanager
async def raw_transaction() -> AsyncIterator[RawTx]:
    """A write transaction on tortoise's connection; commits on exit, rolls back on error.

    SQLite starts it with BEGIN IMMEDIATE so a second process waits (busy_timeout) instead of
    failing on a read-to-write upgrade.
    """
    db = client()
    async with db.acquire_connection() as conn:
        if db.capabilities.dialect == "sqlite":
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(conn)
                await conn.execute("COMMIT")
            except BaseException:
                with suppress(Exception):
                    await conn.execute("ROLLBACK")
                raise
        else:
            async with conn.transaction():
                yield _PgTx(conn)


def is_transient(exc: BaseException) -> bool:
    """A failure worth retrying the whole transaction for: a PostgreSQL deadlock or
    serialization failure, a SQLite lock held past busy_timeout."""
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc)
    code = getattr(exc, "sqlstate", None)  # asyncpg errors carry their SQLSTATE
    return code in ("40P01", "40001")


async def run_transaction(work: Callable[[RawTx], Coroutine[Any, Any, T]]) -> T:
    """Run `work(tx)` in one write transaction on the ORM's connection and return its result."""
    async with raw_transaction() as tx:
        return await work(tx)
