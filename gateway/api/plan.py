"""/plan: usage of the current period (every role) and the cap (owner)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import int_field, json_response, only, plain, read_json
from store import plan
from store.auth import Caller


async def usage(request: web.Request, caller: Caller) -> web.Response:
    """GET /plan: usage, cap, held queue and per-channel split of the current period."""
    return json_response(plain(await plan.usage(caller.workspace)))


async def set_cap(request: web.Request, caller: Caller) -> web.Response:
    """PUT /plan {"cap": N}: change the cap; a rise admits held senders at once."""
    body = await read_json(request)
    only(body, ("cap",))
    cap = int_field(body, "cap", required=True) or 0
    return json_response(plain(await plan.set_cap(caller.actor, cap)))
