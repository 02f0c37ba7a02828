"""/contacts/{ref}/messages: a contact's conversation, and sending it a text message."""

from __future__ import annotations

from aiohttp import web

from gateway import keys, outbound
from gateway.api.common import (
    ApiError,
    json_response,
    only,
    page_limit,
    plain,
    query_text,
    read_json,
    text_field,
)
from gateway.api.contacts import contact_id
from gateway.outbound.base import SendError
from store import messages
from store.auth import Caller

FIELDS = ("text", "channel", "subject")


async def list_messages(request: web.Request, caller: Caller) -> web.Response:
    """GET /contacts/{ref}/messages?cursor=&limit=: the contact's messages, newest first."""
    page = await messages.list_messages(
        caller.actor,
        await contact_id(request, caller),
        limit=page_limit(request),
        cursor=query_text(request, "cursor") or None,
    )
    return json_response({"messages": plain(page.messages), "next_cursor": page.next_cursor})


async def send(request: web.Request, caller: Caller) -> web.Response:
    """POST /contacts/{ref}/messages {"text", "channel", "subject"}: send a text message."""
    body = await read_json(request)
    only(body, FIELDS)
    text = text_field(body, "text", required=True) or ""
    channel = (text_field(body, "channel") or "").strip() or None
    subject = text_field(body, "subject")
    cid = await contact_id(request, caller)
    senders = request.app[keys.SENDERS]
    try:
        message = await outbound.send_message(
            senders, caller.actor, cid, text, channel=channel, subject=subject
        )
    except SendError as exc:
        raise refusal(exc) from None
    return json_response(plain(message), 201)


def refusal(exc: SendError) -> ApiError:
    """The API error of a send the provider refused (Retry-After when it said how long)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return ApiError(exc.status, exc.code, exc.detail, headers)
