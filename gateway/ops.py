"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from store import db
from store.health import Fault, StorageHealth, classify, unknown


async def healthz(_request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers, the writer runs and writes are not failing."""
    writer = request.app[keys.WRITER]
    if not writer.running:
        return _unready("writer_stopped", "writer is not running")
    fault = await _select_one(writer.health)
    if fault is not None:
        return _unready(fault.cause, fault.detail)
    suspect = await writer.readiness()
    if suspect is not None:
        return _unready(suspect.cause, suspect.detail)
    return web.json_response({"status": "ready"})


async def _select_one(health: StorageHealth) -> Fault | None:
    """Run SELECT 1 (once more on renewed connections after a discarded one)."""
    try:
        await db.read_retrying(lambda: db.client().execute_query("SELECT 1"))
    except Exception as exc:  # any failure of the database means not ready
        fault = classify(exc, from_database=True) or unknown(exc)
        health.report(fault, "readiness", exc)
        return fault
    return None


def _unready(cause: str, detail: str) -> web.Response:
    body = {"status": "unready", "error": "not_ready", "cause": cause, "detail": detail}
    return web.json_response(body, status=503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition."""
    body, content_type = await request.app[keys.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": content_type})
