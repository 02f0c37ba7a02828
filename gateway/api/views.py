"""/views: save, list, show, run and delete saved views."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import (
    json_response,
    only,
    page_limit,
    path_text,
    plain,
    query_bool,
    query_text,
    read_json,
    text_field,
)
from gateway.api.contacts import page_json
from store import views
from store.auth import Caller
from store.errors import Invalid


async def list_views(request: web.Request, caller: Caller) -> web.Response:
    """GET /views: every saved view, by name."""
    return json_response({"views": plain(await views.list_views(caller.actor))})


async def save(request: web.Request, caller: Caller) -> web.Response:
    """POST /views {"name", "filter", "columns", "sort", "replace"}: save a view."""
    body = await read_json(request)
    only(body, ("name", "filter", "columns", "sort", "replace"))
    columns = body.get("columns")
    if columns is not None and not isinstance(columns, list):
        raise Invalid("columns must be a list of column names")
    replace = body.get("replace", False)
    if not isinstance(replace, bool):
        raise Invalid("replace must be true or false")
    view = await views.save(
        caller.actor,
        text_field(body, "name", required=True) or "",
        filter=body.get("filter"),
        columns=columns,
        sort=text_field(body, "sort"),
        replace=replace,
    )
    return json_response(plain(view), 201)


async def show(request: web.Request, caller: Caller) -> web.Response:
    """GET /views/{name}: one view."""
    return json_response(plain(await views.get(caller.actor, path_text(request, "name"))))


async def run(request: web.Request, caller: Caller) -> web.Response:
    """GET /views/{name}/contacts?cursor=&limit=&count=: a page of the view's contacts."""
    page = await views.run(
        caller.actor,
        path_text(request, "name"),
        cursor=query_text(request, "cursor") or None,
        limit=page_limit(request),
        count=query_bool(request, "count"),
    )
    return json_response(page_json(page))


async def delete(request: web.Request, caller: Caller) -> web.Response:
    """DELETE /views/{name}: delete a view."""
    name = path_text(request, "name")
    await views.delete(caller.actor, name)
    return json_response({"deleted": name})
