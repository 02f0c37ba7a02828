"""/imports: a CSV upload streamed to a temporary file, then imported (or dry-run)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.api.common import bad_request, json_response, plain, query_bool, query_text
from gateway.http import BodyTooLarge
from store.auth import Caller
from store.files import importer, on_conflict

IMPORT_LIMIT: web.AppKey[int] = web.AppKey("api_import_limit")
DEFAULT_IMPORT_LIMIT = 200 * 1024 * 1024
INLINE_ERRORS = 1024 * 1024  # the error report travels inline up to this size
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


async def create(request: web.Request, caller: Caller) -> web.Response:
    """POST /imports?dry_run=&on_conflict=skip|update: import a CSV body (name, email, …)."""
    if request.content_type not in CSV_TYPES:
        raise bad_request("send the CSV as the body with Content-Type: text/csv")
    dry_run = query_bool(request, "dry_run")
    conflicts = on_conflict(query_text(request, "on_conflict", "skip"))
    limit = request.app.get(IMPORT_LIMIT, DEFAULT_IMPORT_LIMIT)
    with tempfile.TemporaryDirectory(prefix="cg-import-") as folder:
        upload, report = Path(folder) / "api-import.csv", Path(folder) / "errors.csv"
        await _save(request, upload, limit)
        result = await importer.import_csv(
            caller.actor, upload, dry_run=dry_run, errors_path=report, on_conflict=conflicts
        )
        shown = {k: v for k, v in plain(result).items() if k != "errors_path"}  # a temp file
        return json_response({**shown, **_errors(result.errors_path, result.encoding)})


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


def _errors(report: str | None, encoding: str) -> dict[str, Any]:
    """The error CSV (written in the upload's encoding) inline, whole lines up to
    INLINE_ERRORS bytes; null without errors."""
    if report is None:
        return {"errors_csv": None, "errors_truncated": False}
    with open(report, "rb") as source:
        data = source.read(INLINE_ERRORS + 1)
    truncated = len(data) > INLINE_ERRORS
    if truncated:  # whole lines only
        data = data[: data.rfind(b"\n", 0, INLINE_ERRORS) + 1]
    return {"errors_csv": data.decode(encoding, errors="replace"), "errors_truncated": truncated}
