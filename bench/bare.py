"""The bare aiohttp handler bench/ingest.py compares the gateway with.

It serves the same routes with the same settings as `contactgate serve` (uvloop, no access
log, one process) but only reads the body and answers 200: the ceiling of aiohttp on this
machine, with no verification, parsing or database.

    .venv/bin/python bench/bare.py --port 8090
"""

from __future__ import annotations

import argparse

from aiohttp import web

MAX_BODY = 5 * 1024 * 1024  # as gateway.app


async def receive(request: web.Request) -> web.Response:
    """Read the whole body, answer as the gateway does for a Telegram or WhatsApp webhook."""
    await request.read()
    return web.Response(body=b"ok", content_type="text/plain")


async def healthz(_request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    """The bare application."""
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/webhooks/{key}", receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", healthz)
    return app


def main() -> None:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # as gateway.cli: uvloop is optional
        pass
    web.run_app(
        create_app(), host=args.host, port=args.port, access_log=None, print=lambda _m: None
    )


if __name__ == "__main__":
    main()
