"""/contacts: list and search, show, create-or-update, patch, delete, bulk delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.common import (
    MAX_LIMIT,
    contact_json,
    int_field,
    json_response,
    only,
    page_limit,
    path_text,
    plain,
    query_bool,
    query_filter,
    query_text,
    read_json,
    text_field,
)
from store import bulk, contacts, identities, query, refs
from store.auth import Caller
from store.errors import Invalid

SEARCH_FIELDS = ("filter", "q", "sort", "cursor", "limit", "count")


async def contact_id(request: web.Request, caller: Caller, name: str = "ref") -> int:
    """The id a `{ref}` path parameter names: an id, or a typed identifier (`email:…`)."""
    return await resolve(caller, path_text(request, name))


async def resolve(caller: Caller, ref: str) -> int:
    """The contact id of a reference: `12`, `#12`, `id:12`, `email:…`, `phone:…`…"""
    return await refs.contact_id(caller.actor, refs.parse(ref), caller.region)


def page_json(page: query.Page) -> dict[str, Any]:
    """A page of contacts as JSON."""
    return {
        "contacts": [contact_json(c) for c in page.contacts],
        "next_cursor": page.next_cursor,
        "total": page.total,
    }


async def list_contacts(request: web.Request, caller: Caller) -> web.Response:
    """GET /contacts?q=&filter=&sort=&cursor=&limit=&count=: a page of contacts."""
    page = await query.list_contacts(
        caller.actor,
        q=query_text(request, "q"),
        filter=query_filter(request),
        sort=query_text(request, "sort") or None,
        cursor=query_text(request, "cursor") or None,
        limit=page_limit(request),
        count=query_bool(request, "count"),
    )
    return json_response(page_json(page))


async def search(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/search: the same listing with a JSON filter (tree or Chatwoot payload)."""
    body = await read_json(request)
    only(body, SEARCH_FIELDS)
    count = body.get("count", False)
    if not isinstance(count, bool):
        raise Invalid("count must be true or false")
    limit = int_field(body, "limit")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    page = await query.list_contacts(
        caller.actor,
        q=text_field(body, "q") or "",
        filter=body.get("filter"),
        sort=text_field(body, "sort"),
        cursor=text_field(body, "cursor"),
        limit=limit,
        count=count,
    )
    return json_response(page_json(page))


async def create(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts: create, or update the contact matching identifier/email/phone."""
    body = await read_json(request)
    contact, created = await contacts.upsert(caller.actor, body)
    return json_response(contact_json(contact), 201 if created else 200)


async def show(request: web.Request, caller: Caller) -> web.Response:
    """GET /contacts/{ref}: one contact by id or typed identifier."""
    found = await identities.detail(caller.actor, await contact_id(request, caller))
    return json_response({**contact_json(found.contact), "identities": plain(found.identities)})


async def patch(request: web.Request, caller: Caller) -> web.Response:
    """PATCH /contacts/{ref}: change some fields."""
    body = await read_json(request)
    contact = await contacts.patch(caller.actor, await contact_id(request, caller), body)
    return json_response(contact_json(contact))


async def delete(request: web.Request, caller: Caller) -> web.Response:
    """DELETE /contacts/{ref}: delete a contact and all of its data."""
    deleted = await contacts.delete(caller.actor, await contact_id(request, caller))
    return json_response({"deleted": deleted})


async def bulk_delete(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/bulk-delete: delete every match; `confirm` must equal the match count."""
    body = await read_json(request)
    only(body, ("filter", "q", "confirm"))
    confirm = int_field(body, "confirm", required=True)
    deleted = await bulk.bulk_delete(
        caller.actor, filter=body.get("filter"), q=text_field(body, "q") or "", expected=confirm
    )
    return json_response({"deleted": deleted})
