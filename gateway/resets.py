"""The gateway's reset runner: the scheduler's reset and retention duties, and runs started from
the API (both kinds run on store.reset's engine).

Runs execute as tasks of the gateway process, one per workspace at a time. On shutdown they
are cancelled between transactions; the run's lease then lapses and the next process (or this
one, restarted) resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from gateway.settings import Settings
from store import reset
from store.errors import Conflict

log = structlog.get_logger("contactgate.resets")


def config_of(
    settings: Settings, between: Callable[[], Awaitable[None]] | None = None
) -> reset.ResetConfig:
    """The run configuration the settings describe (`between`: see ResetConfig)."""
    return reset.ResetConfig(
        between=between,
        export_dir=settings.reset_export_dir,
        lease_seconds=settings.reset_lease_seconds,
        batch=settings.reset_batch,
        batch_seconds=settings.reset_batch_seconds,
        pause_seconds=settings.reset_pause_seconds,
        retry_failed_after=settings.reset_retry_seconds,
    )


class ResetRunner:
    """Starts and tracks this process's reset runs."""

    def __init__(
        self, settings: Settings, between: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.config = config_of(settings, between)
        self._catch_up = settings.reset_catch_up_hours
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def running(self, workspace_id: int) -> bool:
        """True while this process runs a reset of the workspace."""
        task = self._tasks.get(workspace_id)
        return task is not None and not task.done()

    async def tick(self, now: datetime | None = None) -> list[int]:
        """Warn of resets due within 48 h; claim and start every due reset and retention run;
        returns run ids."""
        now = now or datetime.now(UTC)
        await reset.warn_upcoming(now)
        started = []
        for due in [*await reset.due(now, self._catch_up), *await reset.due_retention(now)]:
            if self.running(due.workspace_id):
                continue
            try:
                run = await reset.claim(
                    due.workspace_id,
                    due.period,
                    due.mode,
                    self.config,
                    trigger="schedule",
                    requested_by=None,
                    enabled_by=due.enabled_by,
                    kind=due.kind,
                )
            except Conflict:  # done, running elsewhere, or failed and not yet due a retry
                continue
            self.start(run)
            started.append(run.id)
        return started

    def start(self, run: reset.Run) -> asyncio.Task[None]:
        """Execute a claimed run in the background."""
        if self.running(run.workspace_id):
            raise reset.RunBusy(f"a run of {run.slug} is already running in this process")
        task = asyncio.create_task(self._execute(run), name=f"{run.kind}-{run.slug}-{run.period}")
        self._tasks[run.workspace_id] = task
        return task

    async def _execute(self, run: reset.Run) -> None:
        log.info(
            "run_started", kind=run.kind, run=run.id, workspace=run.slug, period=run.period,
            mode=run.mode,
        )  # fmt: skip
        with contextlib.suppress(Exception):  # logged, recorded and notified by execute()
            await reset.execute(run)

    async def join(self) -> None:
        """Wait for this process's running resets to end (however they end)."""
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        """Cancel running resets (their lease lapses; another process resumes them)."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
