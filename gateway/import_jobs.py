"""The gateway's import jobs: a CSV upload imported in the background of this process.

`POST /api/v1/imports` saves the upload, checks its encoding and header (a file that cannot be
used is refused at once), records a job and answers 202; the import runs here, writing its
progress to the job every PROGRESS_SECONDS, and its counts and error report when done. On
shutdown a running job is cancelled between batches: what it wrote stays, the job reads
`failed` (interrupted).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import structlog
from aiohttp import web

from store.access import Actor
from store.errors import DomainError
from store.files import import_jobs, importer
from store.files.import_conflicts import OnConflict

log = structlog.get_logger("contactgate.imports")
PROGRESS_SECONDS = 2.0


class ImportRunner:
    """Runs and tracks this process's import jobs."""

    def __init__(self, progress_seconds: float = PROGRESS_SECONDS) -> None:
        self.progress_seconds = progress_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    def start(
        self, actor: Actor, job_id: int, upload: Path, *, dry_run: bool, on_conflict: OnConflict
    ) -> None:
        """Import `upload` (in a folder of its own, removed at the end) as job `job_id`."""
        task = asyncio.create_task(
            self._run(actor, job_id, upload, dry_run, on_conflict), name=f"import-{job_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, actor: Actor, job_id: int, upload: Path, dry_run: bool, on_conflict: OnConflict
    ) -> None:
        latest = [0, 0]
        written = [0]

        def progress(done: int, total: int) -> None:
            latest[:] = [done, total]

        async def tell() -> None:
            while True:
                await asyncio.sleep(self.progress_seconds)
                if latest[0] != written[0]:
                    written[0] = latest[0]
                    await import_jobs.report_progress(job_id, *latest)

        ticker = asyncio.create_task(tell())
        try:
            result = await importer.import_csv(
                actor, upload, dry_run=dry_run, errors_path=upload.parent / "errors.csv",
                on_conflict=on_conflict, progress=progress,
            )  # fmt: skip
            ticker.cancel()
            await import_jobs.finish(job_id, result)
        except asyncio.CancelledError:
            await _quietly(import_jobs.fail(job_id, "interrupted: the gateway stopped"))
            raise
        except DomainError as exc:
            await _quietly(import_jobs.fail(job_id, str(exc)))
        except Exception as exc:  # a database fault: said on the job, logged here
            log.exception("import job failed", job=job_id)
            await _quietly(import_jobs.fail(job_id, f"the import stopped: {type(exc).__name__}"))
        finally:
            ticker.cancel()
            await asyncio.to_thread(shutil.rmtree, upload.parent, True)

    async def stop(self) -> None:
        """Cancel running jobs and wait for them to record it."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)


async def _quietly(work: Awaitable[None]) -> None:
    with contextlib.suppress(Exception):
        await work


IMPORTS: web.AppKey[ImportRunner] = web.AppKey("imports")


async def imports_ctx(app: web.Application) -> AsyncIterator[None]:
    """The runner lives with the app; jobs still running at shutdown are cancelled."""
    yield
    await app[IMPORTS].stop()
