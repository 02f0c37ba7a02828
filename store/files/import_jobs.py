"""Import jobs: a CSV import the API answers at once (202) and runs in the background.

The job row holds what a client polls: the state, rows done of the file's rows (about: its
lines), and once done the import's counts and its error report (whole lines up to 1 MiB). The
import itself is the same `import_csv` the CLI runs, audited the same way. A job runs in the
process that took the upload; if that process dies the job stops being heard of, and after
STALE it reads as `failed` ("interrupted": the batches written before stay, as with any
import that stops part-way).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store.access import Actor, require
from store.contacts import as_datetime, stamp
from store.db import ClientTx, raw_transaction
from store.errors import NotFound
from store.files.importer import ImportResult, OnConflict
from store.serial import dump_json, load_json

STALE = timedelta(seconds=60)
INLINE_ERRORS = 1024 * 1024
COLUMNS = (
    "id, state, dry_run, on_conflict, rows_done, rows_total, result, errors_csv,"
    " errors_truncated, error, created_by, created_at, heartbeat_at, finished_at"
)


@dataclass(frozen=True, slots=True)
class ImportJob:
    """An import job as the API shows it."""

    id: int
    state: str  # running | done | failed
    dry_run: bool
    on_conflict: str
    rows_done: int
    rows_total: int
    result: dict[str, Any] | None
    errors_csv: str | None
    errors_truncated: bool
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None


async def create(
    actor: Actor, *, dry_run: bool, on_conflict: OnConflict, rows_total: int
) -> ImportJob:
    """Record a job about to run (admins)."""
    require(actor, "admin")
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "INSERT INTO import_job (workspace_id, state, dry_run, on_conflict, rows_done,"
            " rows_total, errors_truncated, created_by, created_at, heartbeat_at)"
            " VALUES (?, 'running', ?, ?, 0, ?, ?, ?, ?, ?) RETURNING id",
            [actor.workspace_id, dry_run, on_conflict, rows_total, False, actor.name, now, now],
        )
    return await get(actor, int(rows[0][0]))


async def report_progress(job_id: int, done: int, total: int) -> None:
    """Rows done so far (and the total, which the import counts itself); a heartbeat."""
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE import_job SET rows_done = ?, rows_total = ?, heartbeat_at = ?"
            " WHERE id = ? AND state = 'running'",
            [done, total, datetime.now(UTC), job_id],
        )


async def finish(job_id: int, result: ImportResult) -> None:
    """The import ended: its counts and error report."""
    errors, truncated = _errors(result.errors_path, result.encoding)
    counts = {
        k: getattr(result, k)
        for k in ("rows", "created", "updated", "skipped", "failed", "conflicts")
    }
    shown = {**counts, "encoding": result.encoding, "delimiter": result.delimiter}
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE import_job SET state = 'done', rows_done = ?, result = ?, errors_csv = ?,"
            " errors_truncated = ?, heartbeat_at = ?, finished_at = ? WHERE id = ?",
            [result.rows, dump_json(shown), errors, truncated, now, now, job_id],
        )


async def fail(job_id: int, error: str) -> None:
    """The import stopped: why (a file it cannot read, a database fault)."""
    now = datetime.now(UTC)
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE import_job SET state = 'failed', error = ?, heartbeat_at = ?,"
            " finished_at = ? WHERE id = ?",
            [error[:2000], now, now, job_id],
        )


async def get(actor: Actor, job_id: int, now: datetime | None = None) -> ImportJob:
    """One job of the actor's workspace (admins); NotFound otherwise."""
    require(actor, "admin")
    if not 0 < job_id < 2**31:
        raise NotFound(f"no import job {job_id}")
    rows = await ClientTx().fetch(
        f"SELECT {COLUMNS} FROM import_job WHERE id = ? AND workspace_id = ?",
        [job_id, actor.workspace_id],
    )
    if not rows:
        raise NotFound(f"no import job {job_id}")
    return _job(rows[0], now or datetime.now(UTC))


def _job(row: Any, now: datetime) -> ImportJob:
    (i, state, dry_run, conflicts, done, total, result, errors, truncated, error, by,
     created, heartbeat, finished) = row  # fmt: skip
    state, finished_at = str(state), as_datetime(finished)
    if state == "running" and now - stamp(heartbeat) > STALE:
        state, finished_at = "failed", stamp(heartbeat)
        error = "interrupted: the gateway process running it stopped; rows written stay"
    loaded = load_json(result) if result is not None else None
    return ImportJob(
        int(i), state, bool(dry_run), str(conflicts), int(done), int(total),
        loaded if isinstance(loaded, dict) else None, errors, bool(truncated), error, str(by),
        stamp(created), finished_at,
    )  # fmt: skip


def _errors(report: str | None, encoding: str) -> tuple[str | None, bool]:
    """The error CSV (written in the upload's encoding), whole lines up to INLINE_ERRORS."""
    if report is None:
        return None, False
    with Path(report).open("rb") as source:
        data = source.read(INLINE_ERRORS + 1)
    truncated = len(data) > INLINE_ERRORS
    if truncated:  # whole lines only
        data = data[: data.rfind(b"\n", 0, INLINE_ERRORS) + 1]
    return data.decode(encoding, errors="replace"), truncated
