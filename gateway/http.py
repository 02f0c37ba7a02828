"""HTTP helpers shared by every route: bounded body reads, JSON errors, the error middleware."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable

import orjson
import structlog
from aiohttp import web

from gateway import keys
from store import db
from store.health import DISCARD, classify

log = structlog.get_logger("contactgate.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, error: str, detail: str) -> web.Response:
    """The one error shape of every route: {"error", "detail"}."""
    return web.Response(
        status=status,
        body=orjson.dumps({"error": error, "detail": detail}),
        content_type="application/json",
    )


class BodyTooLarge(web.HTTPRequestEntityTooLarge):
    """A body over the route's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            max_size=limit,
            actual_size=-1,
            text=orjson.dumps(
                {"error": "too_large", "detail": f"body over {limit} bytes"}
            ).decode(),
            content_type="application/json",
        )


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refusing (413) anything over `limit` bytes before reading it all."""
    length = request.content_length
    if length is not None:
        if length > limit:
            raise BodyTooLarge(limit)
        if request.content.is_eof():  # small bodies arrive with the headers: no await needed
            return request.content.read_nowait()
        return await request.read()  # bounded by the declared length
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def guarded(handler: Handler) -> Handler:
    """Wrap a route: time it, and turn any unexpected failure into a JSON 500 that leaks nothing.

    A plain wrapper per route rather than an app middleware: aiohttp's middleware chain costs
    more per request than the work it would do here, on the hottest route we have.
    """

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:  # the one top-level handler of the HTTP surface
            fault = classify(exc)
            if fault is not None:  # the database, not the code: retry later, logged once
                request.app[keys.WRITER].health.failed(fault, _route(request), exc)
                if fault.cause in DISCARD:
                    await db.renew_connections()
                return error_response(503, "unavailable", f"storage: {fault.cause}")
            log.exception("unhandled", path=request.path)
            return error_response(500, "internal", "unexpected error; it has been logged")
        finally:
            request.app[keys.METRICS].observe_latency(
                _route(request), time.perf_counter() - started
            )

    return wrapper


def _route(request: web.Request) -> str:
    """The route's pattern (`/webhooks/{key}`): a label that carries no key or id."""
    resource = request.match_info.route.resource
    return resource.canonical if resource else "?"
