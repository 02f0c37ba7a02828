"""/contacts/{ref}/messages: a contact's conversation, and sending it a text message."""

from __future__ import annotations

from typing import Any

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
from gateway.outbound.base import SendError, Template
from store import messages
from store.auth import Caller
from store.errors import Invalid

FIELDS = ("text", "template", "channel", "subject")


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
    """POST /contacts/{ref}/messages {"text" or "template", "channel", "subject"}: send a
    message."""
    body = await read_json(request)
    only(body, FIELDS)
    chosen = template(body.get("template"))  # the schema allows text or template, not both
    text = text_field(body, "text", required=chosen is None)
    channel = (text_field(body, "channel") or "").strip() or None
    subject = text_field(body, "subject")
    cid = await contact_id(request, caller)
    senders = request.app[keys.SENDERS]
    try:
        done = await outbound.send_message(
            senders, caller.actor, cid, text, channel=channel, subject=subject, template=chosen
        )
    except SendError as exc:
        raise refusal(exc) from None
    # 202: the provider answered, but its answer could not be stored; the message stays sending
    return json_response(plain(done.message), 201 if done.recorded else 202)


def template(value: Any) -> Template | None:
    """The `template` member (the schema has checked its shape)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid("template must be an object")
    name = text_field(value, "name", required=True) or ""
    language = text_field(value, "language", required=True) or ""
    parameters = value.get("parameters") or []
    if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
        raise Invalid("template.parameters must be a list of strings")
    return Template(name.strip(), language.strip(), tuple(parameters))


def refusal(exc: SendError) -> ApiError:
    """The API error of a send the provider refused (Retry-After when it said how long)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return ApiError(exc.status, exc.code, exc.detail, headers)
