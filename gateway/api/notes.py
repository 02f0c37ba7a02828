"""/contacts/{ref}/notes and /notes/{note_id}: add, list and delete notes."""

from __future__ import annotations

from aiohttp import web

from gateway.api.common import json_response, only, path_id, plain, read_json, text_field
from gateway.api.contacts import contact_id
from store import notes
from store.auth import Caller


async def list_notes(request: web.Request, caller: Caller) -> web.Response:
    """GET /contacts/{ref}/notes: a contact's notes, newest first."""
    found = await notes.list_notes(caller.actor, await contact_id(request, caller))
    return json_response({"notes": plain(found)})


async def add(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/{ref}/notes {"body": "..."}: add a note (the token is its author)."""
    body = await read_json(request)
    only(body, ("body",))
    text = text_field(body, "body", required=True) or ""
    note = await notes.add(caller.actor, await contact_id(request, caller), text)
    return json_response(plain(note), 201)


async def delete(request: web.Request, caller: Caller) -> web.Response:
    """DELETE /notes/{note_id}: delete a note."""
    note_id = path_id(request, "note_id")
    await notes.delete(caller.actor, note_id)
    return json_response({"deleted": note_id})
