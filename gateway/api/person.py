"""/contacts/{ref}/data and /contacts/{ref}/erase: a person's data on request, and erasure."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.api.common import download, int_field, json_response, read_json
from gateway.api.contacts import contact_id
from store.auth import Caller
from store.person import data, erase


async def archive(request: web.Request, caller: Caller) -> web.StreamResponse:
    """GET /contacts/{ref}/data: a ZIP of the person's data (JSON plus a readable summary)."""
    cid = await contact_id(request, caller)
    name = f"contact-{cid}-{datetime.now(UTC):%Y-%m-%d}.zip"
    return await download(request, data.archive(caller.actor, cid), "application/zip", name)


async def erase_person(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/{ref}/erase {"confirm": n}: erase a person and everything of theirs."""
    body = await read_json(request)
    confirm = int_field(body, "confirm", required=True)
    done = await erase.erase(caller.actor, await contact_id(request, caller), confirm)
    return json_response(
        {
            "contact_id": done.contact_id,
            "erased": done.erased,
            "exports_holding": done.exports_holding,
        }
    )
