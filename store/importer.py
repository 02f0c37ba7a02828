"""CSV import of contacts: upsert by identifier, then email, then phone, in streamed batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from store import csvio, import_rows, tags
from store.access import Actor, audit, require
from store.contacts import workspace_region
from store.csvio import Row
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Invalid
from store.import_rows import STATE, UNIQUE, Target
from store.serial import load_json

BATCH_ROWS = 2000
PARALLEL_MIN_BYTES = 4 << 20  # smaller files are cleaned in this process (no worker start-up)
RETRIES = 3  # a batch that lost a race with a concurrent writer (unique value, deadlock) is redone
RACES = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)
OUTCOMES = ("created", "updated", "skipped", "failed")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    errors_path: str | None
    encoding: str
    delimiter: str
    dry_run: bool


@dataclass(slots=True)
class Counts:
    """Outcomes of the rows written so far."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def rows(self) -> int:
        """Rows read so far."""
        return self.created + self.updated + self.skipped + self.failed

    def result(self, errors_path: str | None, fmt: csvio.Format, dry_run: bool) -> ImportResult:
        """The final result of an import with these counts."""
        counts = (self.rows, self.created, self.updated, self.skipped, self.failed)
        return ImportResult(*counts, errors_path, fmt.encoding, fmt.delimiter, dry_run)

    def detail(self) -> dict[str, int]:
        """The counts as the audit line records them."""
        return {"rows": self.rows, **{k: getattr(self, k) for k in OUTCOMES}}

    def recorder(self, report: csvio.ErrorReport) -> Callable[[Batch], None]:
        """What to do once a batch is written: count its rows, report its errors."""

        def done(batch: Batch) -> None:
            for row, outcome, error in batch.results:
                setattr(self, outcome, getattr(self, outcome) + 1)
                if error is not None:
                    report.add(row.line, error, row.cells)

        return done


class _Rollback(Exception):
    """Ends a dry run's transaction without committing."""


async def import_csv(
    actor: Actor, source: Path, *, dry_run: bool = False, errors_path: Path | None = None
) -> ImportResult:
    """Import contacts from a CSV file: row errors go to `errors_path`, file errors are Invalid.

    Rows are written in batches of BATCH_ROWS, each in its own transaction; a dry run does the
    same work in one transaction it rolls back (on SQLite it holds the write lock throughout).
    Files of several MiB are cleaned in worker processes (multiprocessing "spawn"): a script
    that calls this must keep its top-level code under `if __name__ == "__main__":`.
    """
    require(actor, "admin")
    fmt = csvio.sniff(source)
    region = await workspace_region(ClientTx(), actor.workspace_id)
    counts = Counts()
    with source.open(encoding=fmt.encoding, newline="") as fh:
        stream = csvio.records(fh, fmt)
        columns = csvio.map_header(next(stream, None))
        report = csvio.ErrorReport(errors_path, columns.header, fmt)
        parallel = fmt.size >= PARALLEL_MIN_BYTES
        batches = csvio.prepared(stream, columns, region, BATCH_ROWS, parallel=parallel)
        finished = False
        try:
            async with aclosing(batches):
                await _run(actor.workspace_id, batches, counts.recorder(report), dry_run)
            finished = True
        finally:
            written = report.close()
            if not dry_run and (finished or counts.rows):
                await _audit(actor, source, {**counts.detail(), "finished": finished})
    return counts.result(written, fmt, dry_run)


async def _audit(actor: Actor, source: Path, detail: dict[str, Any]) -> None:
    """One audit line per import, also when it stopped part-way (the batches before stay)."""
    async with raw_transaction() as tx:
        await audit(tx, actor, "contact.import", source.name[:200], detail)


async def _run(
    ws: int, batches: AsyncIterator[list[Row]], done: Callable[[Batch], None], dry_run: bool
) -> None:
    """Every batch in its own transaction, or (dry run) all in one that is rolled back."""
    if not dry_run:
        await _pipeline(batches, lambda rows: _commit(ws, rows, done))
        return
    try:
        async with raw_transaction() as tx:
            await _pipeline(batches, lambda rows: _apply(tx, Batch(ws, rows, lock=False), done))
            raise _Rollback
    except _Rollback:
        pass


async def _pipeline(
    batches: AsyncIterator[list[Row]], work: Callable[[list[Row]], Coroutine[Any, Any, None]]
) -> None:
    """Write each batch while the next one is read and cleaned (the database works off-thread)."""
    pending: asyncio.Task[None] | None = None
    try:
        async for rows in batches:
            if pending is not None:
                await pending
            pending = asyncio.create_task(work(rows))
        if pending is not None:
            await pending
    finally:
        if pending is not None:
            await _settle(pending)


async def _settle(task: asyncio.Task[None]) -> None:
    """Stop a batch left running by an error (its transaction rolls back) and wait for it."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: the error that stopped the import is the one raised


async def _apply(tx: RawTx, batch: Batch, done: Callable[[Batch], None]) -> None:
    await batch.run(tx, datetime.now(UTC))
    done(batch)


async def _commit(ws: int, rows: list[Row], done: Callable[[Batch], None]) -> None:
    for attempt in range(RETRIES):
        batch = Batch(ws, rows)
        try:
            async with raw_transaction() as tx:
                await batch.run(tx, datetime.now(UTC))
        except RACES:
            if attempt == RETRIES - 1:
                raise
            continue
        done(batch)
        return


class Batch:
    """Rows written in one transaction: read what they touch, decide in memory, write in bulk."""

    def __init__(self, ws: int, rows: list[Row], *, lock: bool = True) -> None:
        self.ws = ws
        self.rows = rows
        self.lock = lock  # lock the contacts it reads (a dry run changes nothing)
        self.results: list[tuple[Row, str, str | None]] = []
        self.targets: dict[int, Target] = {}  # existing contacts by live id
        self.created: list[Target] = []
        self.by_identifier: dict[str, Target] = {}
        self.owners: dict[tuple[str, str], tuple[Target, bool]] = {}  # (column, value) -> owner
        self.tag_ids: dict[str, int] = {}
        self.tag_names: dict[str, str] = {}  # folded key -> first spelling in the file

    async def run(self, tx: RawTx, now: datetime) -> None:
        """Decide every row and write the outcome in `tx`."""
        live = [r for r in self.rows if r.error is None and not r.blank]
        await self._load(tx, live)
        for row in self.rows:
            self.results.append(self._decide(row))
        await self._write(tx, now)

    async def _load(self, tx: RawTx, rows: list[Row]) -> None:
        hits: list[tuple[str, str, int, int | None]] = []
        for key in ("identifier", *UNIQUE):
            values = list({r.fields[key] for r in rows if r.fields.get(key)})
            hits += await import_rows.lookup(tx, self.ws, key, values)
        ids = {merged or own for _k, _v, own, merged in hits}
        live = await import_rows.live(tx, self.ws, ids, lock=self.lock)
        for key, value, own, merged in hits:
            target = self._target(live.get(merged or own))
            if target is None:
                continue
            if key == "identifier":
                self.by_identifier.setdefault(value, target)
            else:
                self.owners[(key, value)] = (target, merged is None)
        await self._load_tags(tx, rows)

    def _target(self, state: list[Any] | None) -> Target | None:
        if state is None:
            return None
        cid = int(state[0])
        if cid not in self.targets:
            fields = dict(zip(STATE, state[1:], strict=True))
            fields["custom"] = load_json(fields["custom"]) or {}
            self.targets[cid] = Target(cid, fields, set())
        return self.targets[cid]

    async def _load_tags(self, tx: RawTx, rows: list[Row]) -> None:
        keys = list({tags.key(n) for r in rows for n in r.tags})
        self.tag_ids = await tags.ids(tx, self.ws, keys)
        if not self.tag_ids or not self.targets:
            return
        by_id = {i: k for k, i in self.tag_ids.items()}
        found = await import_rows.fetch_in(
            tx,
            f"contact_id, tag_id FROM contact_tag WHERE tag_id IN ({import_rows.marks(by_id)})",
            list(by_id),
            ("contact_id", list(self.targets), "int"),
        )
        for cid, tid in found:
            self.targets[int(cid)].tag_keys.add(by_id[int(tid)])

    def _decide(self, row: Row) -> tuple[Row, str, str | None]:
        if row.error is not None:
            return row, "failed", row.error
        if row.blank:
            return row, "skipped", None
        target = self._match(row.fields)
        if target is None:
            self._create(row)
            return row, "created", None
        try:
            return row, "updated" if self._merge(target, row) else "skipped", None
        except Invalid as exc:
            return row, "failed", str(exc)

    def _match(self, fields: dict[str, Any]) -> Target | None:
        identifier = fields.get("identifier")
        if identifier and identifier in self.by_identifier:
            return self.by_identifier[identifier]
        for key in UNIQUE:
            hit = self.owners.get((key, fields.get(key) or ""))
            if hit is not None:
                return hit[0]
        return None

    def _create(self, row: Row) -> None:
        keys = {tags.key(n): n for n in row.tags}
        fields = {"custom": {}, **row.fields}
        target = Target(None, fields, set(keys), line=row.line, new_tags=keys, text=row.text)
        self._name_tags(keys)
        self.created.append(target)
        self._own(target, row.fields)

    def _name_tags(self, names: dict[str, str]) -> None:
        for key, name in names.items():
            self.tag_names.setdefault(key, name)

    def _own(self, target: Target, fields: dict[str, Any]) -> None:
        if fields.get("identifier"):
            self.by_identifier[fields["identifier"]] = target
        for key in UNIQUE:
            if fields.get(key):
                self.owners[(key, fields[key])] = (target, True)

    def _merge(self, target: Target, row: Row) -> bool:
        """Apply a row to a contact (empty cells were dropped); False when nothing changes."""
        changes = {
            k: v for k, v in row.fields.items() if k != "custom" and target.fields.get(k) != v
        }
        for key in UNIQUE:
            hit = self.owners.get((key, changes.get(key) or ""))
            if hit is not None and hit[0] is not target:
                raise Invalid(
                    f"{key} {changes[key]} already belongs to {hit[0].label()},"
                    f" not to {target.label()} that this row matches"
                )
            if hit is not None:  # held by a contact merged into this one: it resolves here already
                del changes[key]
        custom = row.fields.get("custom", {})
        custom = {k: v for k, v in custom.items() if target.fields["custom"].get(k) != v}
        new_tags = {tags.key(n): n for n in row.tags if tags.key(n) not in target.tag_keys}
        if not (changes or custom or new_tags):
            return False
        self._release(target, changes)
        target.fields.update(changes)
        target.fields["custom"] = {**target.fields["custom"], **custom}
        target.tag_keys.update(new_tags)
        target.new_tags.update(new_tags)
        self._name_tags(new_tags)
        target.changed, target.text = True, None
        self._own(target, changes)
        return True

    def _release(self, target: Target, changes: dict[str, Any]) -> None:
        old = target.fields.get("identifier")
        if "identifier" in changes and old and self.by_identifier.get(old) is target:
            del self.by_identifier[old]
        for key in UNIQUE:
            if key in changes and target.fields.get(key):
                self.owners.pop((key, target.fields[key]), None)
                target.released.add(key)

    async def _write(self, tx: RawTx, now: datetime) -> None:
        missing = [n for k, n in self.tag_names.items() if k not in self.tag_ids]
        self.tag_ids.update(await tags.ensure(tx, self.ws, missing))
        updated = [t for t in self.targets.values() if t.changed]
        await import_rows.update(tx, updated, now, self._variants() if updated else {})
        await import_rows.insert(tx, self.ws, self.created, now)
        await self._link(tx)

    def _variants(self) -> dict[str, list[str]]:
        """Search variants of the phones the rows gave, parsed with them (see csvio._clean)."""
        return {r.fields["phone"]: r.variants for r in self.rows if r.variants}

    def _touched(self) -> list[Target]:
        return [*(t for t in self.targets.values() if t.changed), *self.created]

    async def _link(self, tx: RawTx) -> None:
        groups: dict[frozenset[int], list[int]] = {}
        for target in self._touched():
            if target.new_tags and target.id is not None:
                tag_ids = frozenset(self.tag_ids[k] for k in target.new_tags)
                groups.setdefault(tag_ids, []).append(target.id)
        for tag_ids, contact_ids in groups.items():
            await tags.link(tx, contact_ids, sorted(tag_ids))
