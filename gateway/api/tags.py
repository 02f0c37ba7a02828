"""/tags and /contacts/{ref}/tags: tag and untag one contact, list and delete tags, bulk."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import (
    contact_json,
    json_response,
    only,
    path_text,
    read_json,
    text_field,
    text_list,
)
from gateway.api.contacts import contact_id
from store import bulk, tags
from store.auth import Caller
from store.errors import Invalid


async def add(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/{ref}/tags {"tags": [...]}: tag a contact."""
    names = await _names(request)
    contact = await tags.add(caller.actor, await contact_id(request, caller), names)
    return json_response(contact_json(contact))


async def remove(request: web.Request, caller: Caller) -> web.Response:
    """DELETE /contacts/{ref}/tags {"tags": [...]}: untag a contact."""
    names = await _names(request)
    contact = await tags.remove(caller.actor, await contact_id(request, caller), names)
    return json_response(contact_json(contact))


async def _names(request: web.Request) -> list[str]:
    body = await read_json(request)
    only(body, ("tags",))
    return text_list(body, "tags")


async def list_tags(request: web.Request, caller: Caller) -> web.Response:
    """GET /tags: every tag with its contact count."""
    found = await tags.list_tags(caller.actor)
    return json_response({"tags": [{"name": t.name, "contacts": t.contacts} for t in found]})


async def delete_tag(request: web.Request, caller: Caller) -> web.Response:
    """DELETE /tags/{name}: remove a tag from the workspace and every contact."""
    name = path_text(request, "name")
    untagged = await tags.delete_tag(caller.actor, name)
    return json_response({"deleted": name, "contacts": untagged})


async def bulk_tag(request: web.Request, caller: Caller) -> web.Response:
    """POST /tags/bulk: add or remove tags on every contact matching a filter and/or search."""
    body = await read_json(request)
    only(body, ("action", "tags", "filter", "q"))
    action = body.get("action")
    if action not in ("add", "remove"):
        raise Invalid("action must be add or remove")
    names = text_list(body, "tags")
    q = text_field(body, "q") or ""
    changes = {"add": names} if action == "add" else {"remove": names}
    matched = await bulk.bulk_tag(caller.actor, filter=body.get("filter"), q=q, **changes)
    return json_response({"action": action, "tags": tags.clean(names), "contacts": matched})
