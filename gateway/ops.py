"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.http import error_response
from store import db


async def healthz(_request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database answers and the writer runs."""
    try:
        await db.client().execute_query("SELECT 1")
    except Exception as exc:  # any failure of the database means not ready
        return error_response(503, "not_ready", f"database: {type(exc).__name__}")
    if not request.app[keys.WRITER].running:
        return error_response(503, "not_ready", "writer is not running")
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition."""
    body, content_type = await request.app[keys.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": content_type})
