"""Reset exports on disk: a run's files handed over, old folders removed.

A reset writes every deleted contact and message to a folder before deleting them (export.py);
those files hold personal data and are kept until the operator removes them. A purge deletes
the folders of done or failed runs that finished before the date, keeps the run records (their
counts stay in the history) with `export_path` cleared, and audits each removal.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from store.access import Actor, audit, require
from store.db import ClientTx, raw_transaction
from store.errors import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class Purged:
    """One run whose export folder was removed (or was already gone)."""

    run_id: int
    period: str
    path: str
    existed: bool


async def purge_exports(actor: Actor, before: datetime, *, dry_run: bool = False) -> list[Purged]:
    """Remove the export folders of the workspace's finished runs that ended before `before`
    (owners); with `dry_run`, only say which."""
    require(actor, "owner")
    rows = await ClientTx().fetch(
        "SELECT id, period, export_path FROM reset_run WHERE workspace_id = ?"
        " AND export_path IS NOT NULL AND state IN ('done', 'failed') AND finished_at < ?"
        " ORDER BY id",
        [actor.workspace_id, before],
    )
    found = []
    for run_id, period, path in rows:
        folder = Path(str(path))
        existed = await asyncio.to_thread(folder.is_dir)
        found.append(Purged(int(run_id), str(period), str(path), existed))
        if dry_run:
            continue
        if existed:
            await asyncio.to_thread(shutil.rmtree, folder)
        async with raw_transaction() as tx:
            await tx.execute("UPDATE reset_run SET export_path = NULL WHERE id = ?", [run_id])
            await audit(tx, actor, "reset.export_purge", f"run:{run_id}", {"path": str(path)})
    return found


async def run_files(actor: Actor, run_id: int) -> list[tuple[str, Path]]:
    """The files of a run's export, (name, path), for the owner to download: NotFound when the
    run has none (it deleted nothing, or its folder was purged), Conflict while it is written."""
    require(actor, "owner")
    rows = await ClientTx().fetch(
        "SELECT state, export_path, period FROM reset_run WHERE workspace_id = ? AND id = ?",
        [actor.workspace_id, run_id],
    )
    if not rows:
        raise NotFound(f"no reset run {run_id} in this workspace")
    state, path, period = rows[0]
    if state == "started":
        raise Conflict(f"reset run {run_id} is still writing its export; try when it is done")
    folder = Path(str(path)) if path else None
    files = await asyncio.to_thread(_listed, folder) if folder else []
    if not files:
        raise NotFound(f"reset run {run_id} ({period}) has no export on disk")
    return [(f"{period}-run{run_id}/{p.name}", p) for p in files]


def _listed(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
