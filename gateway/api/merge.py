"""/contacts/{ref}/merge…: preview a merge, merge with per-field picks, unmerge, list merges."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.common import contact_json, json_response, only, plain, read_json
from gateway.api.contacts import contact_id, resolve
from store import merge as merging
from store.auth import Caller
from store.errors import Invalid


async def preview(request: web.Request, caller: Caller) -> web.Response:
    """GET /contacts/{ref}/merge/{other}: the differences and what would move."""
    primary = await contact_id(request, caller)
    secondary = await contact_id(request, caller, "other")
    found = await merging.preview(caller.actor, primary, secondary)
    return json_response(
        {
            "primary": contact_json(found.primary),
            "secondary": contact_json(found.secondary),
            "diffs": plain(found.diffs),
            "identities": found.identities,
            "messages": found.messages,
            "notes": found.notes,
            "tags": found.tags,
            "reset_tag": found.reset_tag,
        }
    )


async def merge(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/{ref}/merge {"secondary", "picks", "move_reset_tag"}: merge the secondary
    into this one; the primary as before, plus the tags that moved and the reset tag if it stayed
    behind (additive, so clients reading the contact keep working)."""
    body = await read_json(request)
    only(body, ("secondary", "picks", "move_reset_tag"))
    primary = await contact_id(request, caller)
    secondary = await resolve(caller, ref_text(body.get("secondary"), "secondary"))
    picks, move_reset = _picks(body.get("picks")), _flag(body.get("move_reset_tag", False))
    done = await merging.merge(caller.actor, primary, secondary, picks, move_reset_tag=move_reset)
    moved = {"moved_tags": done.moved_tags, "reset_tag_stayed": done.reset_tag_stayed}
    return json_response({**contact_json(done.contact), **moved})


def ref_text(value: Any, name: str) -> str:
    """A body member naming a contact (an id, or a typed identifier) as reference text."""
    if isinstance(value, float) and value.is_integer():  # JSON Schema's integers include 5.0
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} is required: the id or typed identifier of a contact")
    return value


def _picks(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Invalid('picks must map fields to "primary" or "secondary"')
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("move_reset_tag must be true or false")
    return value


async def unmerge(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/{ref}/unmerge: undo the merge of this (merged-away) contact."""
    primary, secondary = await merging.unmerge(caller.actor, await contact_id(request, caller))
    return json_response({"primary": contact_json(primary), "secondary": contact_json(secondary)})


async def list_merges(request: web.Request, caller: Caller) -> web.Response:
    """GET /contacts/{ref}/merges: the open merges into or out of a contact."""
    found = await merging.merges(caller.actor, await contact_id(request, caller))
    return json_response({"merges": plain(found)})
