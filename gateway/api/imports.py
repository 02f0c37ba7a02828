"""/imports: a CSV upload becomes an import job (202 at once); /imports/{import_id} its progress,
counts and error report."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from aiohttp import web

from gateway.api.common import bad_request, json_response, path_id, plain, query_bool, query_text
from gateway.http import BodyTooLarge
from gateway.import_jobs import IMPORTS
from store.auth import Caller
from store.files import csvio, import_jobs, on_conflict

IMPORT_LIMIT: web.AppKey[int] = web.AppKey("api_import_limit")
DEFAULT_IMPORT_LIMIT = 200 * 1024 * 1024
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


async def create(request: web.Request, caller: Caller) -> web.Response:
    """POST /imports?dry_run=&on_conflict=skip|update: start importing a CSV body (202)."""
    if request.content_type not in CSV_TYPES:
        raise bad_request("send the CSV as the body with Content-Type: text/csv")
    dry_run = query_bool(request, "dry_run")
    conflicts = on_conflict(query_text(request, "on_conflict", "skip"))
    limit = request.app.get(IMPORT_LIMIT, DEFAULT_IMPORT_LIMIT)
    folder = Path(tempfile.mkdtemp(prefix="cg-import-"))
    upload = folder / "api-import.csv"
    try:
        await _save(request, upload, limit)
        await asyncio.to_thread(csvio.check, upload)  # an unusable file: 422 now
        total = await asyncio.to_thread(csvio.count_lines, upload)
        job = await import_jobs.create(
            caller.actor, dry_run=dry_run, on_conflict=conflicts, rows_total=total
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    request.app[IMPORTS].start(caller.actor, job.id, upload, dry_run=dry_run, on_conflict=conflicts)
    response = json_response(plain(job), 202)
    response.headers["Location"] = f"/api/v1/imports/{job.id}"
    return response


async def show(request: web.Request, caller: Caller) -> web.Response:
    """GET /imports/{import_id}: an import job's state, progress, counts and error report."""
    return json_response(plain(await import_jobs.get(caller.actor, path_id(request, "import_id"))))


async def _save(request: web.Request, path: Path, limit: int) -> None:
    """Stream the body to `path`, refusing (413) more than `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    size = 0
    with path.open("wb") as out:
        while chunk := await request.content.read(256 * 1024):
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            out.write(chunk)
