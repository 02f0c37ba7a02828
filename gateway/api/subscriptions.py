"""/event-subscriptions: URLs that receive the workspace's events, signed (owners)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import (
    json_response,
    only,
    path_id,
    plain,
    query_int,
    read_json,
    text_field,
    text_list,
)
from gateway.api.schemas import MAX_AFTER
from store import subscriptions
from store.auth import Caller


async def create(request: web.Request, caller: Caller) -> web.Response:
    """POST /event-subscriptions: subscribe a URL; the answer holds its secret, shown once."""
    body = await read_json(request)
    only(body, ("url", "types", "description"))
    made, secret = await subscriptions.create(
        caller.actor,
        text_field(body, "url", required=True),
        text_list(body, "types", required=False),
        text_field(body, "description") or "",
    )
    return json_response({**plain(made), "secret": secret}, 201)


async def list_subscriptions(request: web.Request, caller: Caller) -> web.Response:
    """GET /event-subscriptions: the workspace's subscriptions (never their secrets)."""
    found = await subscriptions.list_subscriptions(caller.actor)
    return json_response({"subscriptions": plain(found)})


async def show(request: web.Request, caller: Caller) -> web.Response:
    """GET /event-subscriptions/{sub_id}: one subscription."""
    found = await subscriptions.get(caller.actor, path_id(request, "sub_id"))
    return json_response(plain(found))


async def remove(request: web.Request, caller: Caller) -> web.Response:
    """DELETE /event-subscriptions/{sub_id}: stop sending; its queued events go too."""
    gone = await subscriptions.remove(caller.actor, path_id(request, "sub_id"))
    return json_response({"deleted": gone.id})


async def rotate(request: web.Request, caller: Caller) -> web.Response:
    """POST /event-subscriptions/{sub_id}/rotate: a new secret; the old one signs beside it
    for 24 hours."""
    secret, until = await subscriptions.rotate(caller.actor, path_id(request, "sub_id"))
    return json_response(plain({"secret": secret, "previous_valid_until": until}))


async def deliveries(request: web.Request, caller: Caller) -> web.Response:
    """GET /event-subscriptions/{sub_id}/deliveries: its events, newest first, and how each
    delivery went."""
    before = query_int(request, "before", 0, low=0, high=MAX_AFTER)
    limit = query_int(request, "limit", 100, low=1, high=500)
    found = await subscriptions.deliveries(
        caller.actor, path_id(request, "sub_id"), before=before or None, limit=limit
    )
    return json_response({"deliveries": plain(found)})


async def send_test(request: web.Request, caller: Caller) -> web.Response:
    """POST /event-subscriptions/{sub_id}/test: queue a `test` event to this URL only."""
    queued = await subscriptions.send_test(caller.actor, path_id(request, "sub_id"))
    return json_response(plain(queued), 202)
