"""Storage health: which storage faults we know, the one we are in, and when to say so.

A write that fails on a full disk, a read-only database or a lost connection fails for every
request until the fault ends. `StorageHealth` turns that stream into one JSON log line per cause
and interval, a count per cause (/metrics) and a readiness answer (/readyz).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
import structlog

if TYPE_CHECKING:  # for annotations only: store.db imports this module at run time
    from store.db import RawTx

log = structlog.get_logger("contactgate.storage")
LOG_INTERVAL = 10.0  # seconds between two log lines of one cause

# SQLite result codes (sqlite3.Error.sqlite_errorname, extended codes by prefix)
_SQLITE_CAUSES = {
    "SQLITE_FULL": "disk_full",
    "SQLITE_READONLY": "read_only",
    "SQLITE_IOERR": "io_error",
    "SQLITE_CANTOPEN": "unavailable",
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
    "SQLITE_CORRUPT": "corrupt",
    "SQLITE_NOTADB": "corrupt",
}
# PostgreSQL SQLSTATEs, then their classes (the first two characters)
_PG_STATES = {
    "25006": "read_only",  # read_only_sql_transaction
    "57P01": "disconnected",  # admin_shutdown: pg_terminate_backend
    "57P02": "disconnected",  # crash_shutdown
    "57P03": "unavailable",  # cannot_connect_now: starting up or in recovery
    "53100": "disk_full",
    "58030": "io_error",
}
_PG_CLASSES = {"08": "disconnected", "53": "resources", "58": "io_error"}
# Causes after which a PostgreSQL connection is closed and replaced (store.pg_conn): its session
# may hold a stale `default_transaction_read_only` or a broken protocol state.
_PROTOCOL = (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)
DISCARD = frozenset({"read_only", "disconnected", "protocol"})


@dataclass(frozen=True, slots=True)
class Fault:
    """One storage fault: a short stable cause (a metric label) and what the driver said."""

    cause: str
    detail: str


def classify(exc: BaseException, *, from_database: bool = False) -> Fault | None:
    """The storage fault behind `exc` (its cause chain included), or None for any other error.

    A plain network error (refused, reset, timed out) is a storage fault only when the caller
    knows it came from the database (`from_database`): elsewhere it may be a provider's API.
    """
    for err in _chain(exc):
        cause = _cause_of(err, from_database)
        if cause is not None:
            return Fault(cause, _detail(err))
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _cause_of(err: BaseException, from_database: bool) -> str | None:
    if isinstance(err, sqlite3.Error):
        name = getattr(err, "sqlite_errorname", "") or ""
        return next((c for code, c in _SQLITE_CAUSES.items() if name.startswith(code)), None)
    state = getattr(err, "sqlstate", None)  # asyncpg's server errors
    if isinstance(state, str) and state:
        return _PG_STATES.get(state) or _PG_CLASSES.get(state[:2])
    if isinstance(err, _PROTOCOL):
        return "protocol"  # "connection is closed", "another operation is in progress"
    if from_database and (isinstance(err, (ConnectionError, TimeoutError)) or type(err) is OSError):
        return "unavailable"  # refused, reset, unreachable while (re)connecting
    return None


def _detail(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200] if text else ''}".rstrip(": ")


def unknown(exc: BaseException) -> Fault:
    """A failure we cannot name: still a fault of the write, under cause `other`."""
    return Fault("other", _detail(exc))


class StorageHealth:
    """The current storage fault (until a write succeeds), counts per cause, log throttling."""

    def __init__(
        self, log_interval: float = LOG_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = log_interval
        self._clock = clock
        self.fault: Fault | None = None
        self.since = 0.0  # clock time the current fault began
        self.last_failure = 0.0
        self.counts: dict[str, int] = {}
        self._logged: dict[str, float] = {}  # cause -> clock time of its last line
        self._repeats: dict[str, int] = {}  # cause -> failures not logged since

    def failed(self, fault: Fault, during: str, exc: BaseException | None = None) -> None:
        """A write failed: remember the fault (not ready until a write succeeds) and report it."""
        now = self._clock()
        if self.fault is None:
            self.since = now
        self.fault, self.last_failure = fault, now
        self.report(fault, during, exc)

    def report(self, fault: Fault, during: str, exc: BaseException | None = None) -> None:
        """Count a storage error and log it, once per cause and interval (no readiness change).

        Known causes are logged without a traceback; an unknown one (`other`) carries it.
        """
        now = self._clock()
        self.counts[fault.cause] = self.counts.get(fault.cause, 0) + 1
        last = self._logged.get(fault.cause)
        if last is not None and now - last < self._interval:
            self._repeats[fault.cause] = self._repeats.get(fault.cause, 0) + 1
            return
        self._logged[fault.cause] = now
        repeats = self._repeats.pop(fault.cause, 0)
        trace = {"exc_info": exc} if fault.cause == "other" and exc is not None else {}
        log.error(
            "storage_fault",
            cause=fault.cause,
            detail=fault.detail,
            during=during,
            repeats=repeats,
            **trace,
        )

    def succeeded(self) -> None:
        """A write committed: the fault, if any, is over."""
        if self.fault is None:
            return
        log.warning(
            "storage_recovered",
            cause=self.fault.cause,
            seconds=round(self._clock() - self.since, 3),
        )
        self.fault = None

    def seconds_since_failure(self) -> float:
        """Seconds since the last failed write (large when there was none)."""
        return self._clock() - self.last_failure


async def touch(tx: RawTx) -> None:
    """A write that changes nothing but must reach the database (the readiness probe).

    SQLite: rewrite `user_version` with its own value, so the commit appends a WAL frame (fails
    on a full disk). PostgreSQL: an UPDATE of no rows, refused in a read-only transaction.
    """
    if tx.dialect == "sqlite":
        [(version,)] = await tx.fetch("PRAGMA user_version")
        await tx.execute(f"PRAGMA user_version = {int(version)}")
    else:
        await tx.execute("UPDATE workspace SET id = id WHERE false")
