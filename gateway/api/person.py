"""/contacts/{ref}/data: everything stored about a person, as one archive."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime

from aiohttp import web

from gateway.api.contacts import contact_id
from store.auth import Caller
from store.person import data


async def archive(request: web.Request, caller: Caller) -> web.StreamResponse:
    """GET /contacts/{ref}/data: a ZIP of the person's data (JSON plus a readable summary)."""
    cid = await contact_id(request, caller)
    pieces = data.archive(caller.actor, cid)
    async with aclosing(pieces):
        first = await anext(pieces)  # refusals and NotFound come before the headers
        name = f"contact-{cid}-{datetime.now(UTC):%Y-%m-%d}.zip"
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{name}"',
            }
        )
        await response.prepare(request)
        try:
            await response.write(first)
            async for piece in pieces:
                await response.write(piece)
        except ConnectionResetError:
            return response
    await response.write_eof()
    return response
