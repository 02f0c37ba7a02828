"""store.health: which errors are storage faults, and one log line per cause and interval."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest
import structlog
from tortoise.exceptions import OperationalError

from store.health import Fault, StorageHealth, classify, unknown


def sqlite_error(tmp_path: Path, sql: str, *, read_only: bool = False) -> sqlite3.Error:
    """The error SQLite raises for `sql` on a small database (opened read-only if asked)."""
    path = tmp_path / "h.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER PRIMARY KEY)")
        setup.execute("INSERT OR IGNORE INTO t VALUES (1)")
    conn = sqlite3.connect(f"file:{path}?mode=ro" if read_only else path, uri=read_only)
    try:
        conn.execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError(f"{sql} did not fail")


def test_sqlite_read_only_is_a_fault_and_a_bad_statement_is_not(tmp_path: Path) -> None:
    read_only = sqlite_error(tmp_path, "INSERT INTO t VALUES (2)", read_only=True)
    assert classify(read_only) == Fault(
        "read_only", "OperationalError: attempt to write a readonly database"
    )
    assert classify(sqlite_error(tmp_path, "INSERT INTO t VALUES (1)")) is None  # a duplicate
    assert classify(sqlite_error(tmp_path, "SELEC 1")) is None  # a bug, not the storage


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (asyncpg.exceptions.ReadOnlySQLTransactionError("read-only"), "read_only"),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), "disconnected"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), "disconnected"),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), "unavailable"),
        (asyncpg.exceptions.DiskFullError("no space"), "disk_full"),
        (asyncpg.exceptions.TooManyConnectionsError("too many"), "resources"),
        (asyncpg.InterfaceError("another operation is in progress"), "protocol"),
    ],
)
def test_postgresql_faults_by_sqlstate(error: Exception, cause: str) -> None:
    assert classify(error) == Fault(cause, f"{type(error).__name__}: {error}")


def test_postgresql_data_errors_are_not_faults() -> None:
    assert classify(asyncpg.exceptions.UniqueViolationError("duplicate key")) is None
    assert classify(asyncpg.exceptions.SerializationError("could not serialize")) is None


def test_a_wrapped_fault_is_found_through_its_cause_chain() -> None:
    root = asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT")
    try:
        try:
            raise root
        except asyncpg.PostgresError as exc:
            raise OperationalError(exc) from exc
    except OperationalError as wrapped:
        assert classify(wrapped) == Fault(
            "read_only", "ReadOnlySQLTransactionError: cannot execute INSERT"
        )


def test_a_refused_connection_is_a_fault_only_when_it_came_from_the_database() -> None:
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    assert classify(refused) is None  # a provider's API may refuse too
    assert classify(refused, from_database=True) == Fault(
        "unavailable", "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432)"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


FULL = Fault("disk_full", "OperationalError: database or disk is full")
READ_ONLY = Fault("read_only", "ReadOnlySQLTransactionError: cannot execute INSERT")


def test_one_line_per_cause_and_interval_with_the_count_of_the_silent_ones() -> None:
    clock = Clock()
    health = StorageHealth(log_interval=10, clock=clock)
    with structlog.testing.capture_logs() as logs:
        for _ in range(5):  # t = 100..104
            health.failed(FULL, "write")
            clock.now += 1
        health.failed(READ_ONLY, "write")  # another cause speaks at once
        clock.now = 111
        health.failed(FULL, "write")
        clock.now = 112.5
        health.succeeded()
        health.succeeded()  # no fault, no line
    line = {"event": "storage_fault", "during": "write", "log_level": "error"}
    assert logs == [
        {**line, "cause": "disk_full", "detail": FULL.detail, "repeats": 0},
        {**line, "cause": "read_only", "detail": READ_ONLY.detail, "repeats": 0},
        {**line, "cause": "disk_full", "detail": FULL.detail, "repeats": 4},
        {
            "event": "storage_recovered",
            "cause": "disk_full",
            "seconds": 12.5,
            "log_level": "warning",
        },
    ]
    assert health.counts == {"disk_full": 6, "read_only": 1}
    assert health.fault is None


def test_report_counts_without_readiness_and_an_unknown_cause_keeps_its_traceback() -> None:
    health = StorageHealth(clock=Clock())
    try:
        raise RuntimeError("something new")
    except RuntimeError as exc:
        error = exc
    with structlog.testing.capture_logs() as logs:
        health.report(unknown(error), "checkpoint", error)
    assert health.fault is None
    assert health.counts == {"other": 1}
    assert logs == [
        {
            "event": "storage_fault",
            "cause": "other",
            "detail": "RuntimeError: something new",
            "during": "checkpoint",
            "repeats": 0,
            "exc_info": error,
            "log_level": "error",
        }
    ]
