"""A claimed reset run and its lease: the Run its owner holds, how runs behave (ResetConfig),
renewing the lease with fencing (renew), and the errors of claiming.

The run's phases use them on both sides: claim, snapshot, export and finish (store.reset.run)
and the delete phase (store.reset.delete).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from store.db import RawTx
from store.errors import Conflict
from store.reset.export import folder_for
from store.serial import dump_json

log = structlog.get_logger("contactgate.reset")


def process_name() -> str:
    """A name for this process in `reset_run.owner`: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class ResetConfig:
    """How runs behave: where exports go, the lease, and the pace of deleting."""

    export_dir: Path
    lease_seconds: float = 60.0
    batch: int = 500  # contacts per delete transaction to start with; adapted to batch_seconds
    batch_seconds: float = 0.12  # aim for delete transactions this long (webhooks wait)
    message_batch: int = 2000  # old messages per delete transaction (retention)
    pause_seconds: float = 0.005  # between delete transactions: webhooks get the lock
    retry_failed_after: float = 3600.0  # the scheduler retries a failed run this much later
    owner: str = field(default_factory=process_name)
    # awaited between write transactions: in the gateway, until the webhook writer's queue is
    # committed (webhooks go first); elsewhere a plain pause
    between: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)

    async def breathe(self) -> None:
        """Give the database to the webhooks between two of the run's write transactions."""
        await asyncio.sleep(self.pause_seconds)
        if self.between is not None:
            await self.between()


def label(kind: str, period: str) -> str:
    """`the reset of 2026-11` or `the retention run of 2026-12-08`."""
    return f"the {'reset' if kind == 'reset' else 'retention run'} of {period}"


class LostLease(Exception):
    """Another process took the run over (this one stalled past its lease)."""


class RunBusy(Conflict):
    """The run is in progress in another process."""


class RunDone(Conflict):
    """This period's run already ran."""


@dataclass(slots=True)
class Run:
    """A claimed run as its owner sees it."""

    id: int
    workspace_id: int
    slug: str
    timezone: str
    tag: str
    period: str
    mode: str
    trigger: str
    requested_by: str | None
    config: ResetConfig
    progress: dict[str, Any]
    snapshot_at: datetime | None = None
    kind: str = "reset"  # or "retention" (store.reset.rules)

    @property
    def label(self) -> str:
        """How messages name it: `the reset of 2026-11`, `the retention run of 2026-12-08`."""
        return label(self.kind, self.period)

    @property
    def folder(self) -> Path:
        """Where this run's export goes."""
        return folder_for(self.config.export_dir, self.slug, self.period, self.id)


async def renew(tx: RawTx, run: Run, **columns: Any) -> None:
    """Check the lease is still ours and renew it, writing `progress` and any `columns`."""
    sets = ", ".join(f"{name} = ?" for name in columns)
    rows = await tx.fetch(
        f"UPDATE reset_run SET heartbeat_at = ?, progress = ?{', ' + sets if sets else ''}"
        " WHERE id = ? AND owner = ? RETURNING id",
        [datetime.now(UTC), dump_json(run.progress), *columns.values(), run.id, run.config.owner],
    )
    if not rows:
        raise LostLease(f"reset run {run.id} is no longer owned by {run.config.owner}")
