"""/duplicates: the likely duplicate pairs, ranked with their reasons; dismissing a pair."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.common import (
    PREFIX,
    contact_json,
    json_response,
    only,
    page_limit,
    plain,
    query_text,
    read_json,
)
from gateway.api.contacts import resolve
from gateway.api.merge import ref_text
from store import duplicates
from store.auth import Caller


def pair_json(pair: duplicates.Pair) -> dict[str, Any]:
    """A pair as JSON, with the merge preview that keeps the older contact (`a`)."""
    return {
        "a": contact_json(pair.a),
        "b": contact_json(pair.b),
        "score": pair.score,
        "reasons": plain(pair.reasons),
        "merge_preview": f"{PREFIX}/contacts/{pair.a.id}/merge/{pair.b.id}",
    }


async def list_duplicates(request: web.Request, caller: Caller) -> web.Response:
    """GET /duplicates?cursor=&limit=: likely duplicate pairs, strongest reasons first."""
    page = await duplicates.find(
        caller.actor, limit=page_limit(request), cursor=query_text(request, "cursor") or None
    )
    return json_response(
        {
            "pairs": [pair_json(p) for p in page.pairs],
            "total": page.total,
            "next_cursor": page.next_cursor,
        }
    )


async def dismiss(request: web.Request, caller: Caller) -> web.Response:
    """POST /duplicates/dismiss {"a", "b"}: remember that two contacts are not one person."""
    body = await read_json(request)
    only(body, ("a", "b"))
    first = await resolve(caller, ref_text(body.get("a"), "a"))
    second = await resolve(caller, ref_text(body.get("b"), "b"))
    return json_response(plain(await duplicates.dismiss(caller.actor, first, second)))
