"""What the widget reads: the visitor's stream (SSE) and long-poll, its settings, the script.

- `GET /webchat/{key}/stream?token=` — Server-Sent Events: each message is `id: <message id>`,
  `event: message`, `data: <JSON>`; a comment line every HEARTBEAT seconds keeps proxies from
  closing it. History first: the messages after `Last-Event-ID` (the browser resends it when it
  reconnects) or `after`, so a reload keeps the conversation.
- `GET /webchat/{key}/poll?token=&after=` — long-poll: the messages after `after`, waiting up
  to POLL_WAIT seconds for one.
- `GET /webchat/{key}/config` — what the widget needs to know (the pre-chat form).
- `GET /webchat/widget.js` — the embeddable widget (gateway/static/widget.js).

The token (`visitor_token`) comes with every answer to the visitor's POSTs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from aiohttp import web

from gateway import keys
from gateway.channels import webchat as channel_module
from gateway.http import error_response
from gateway.webchat import cors
from store.types import ChannelInfo
from store.webchat import MAX_LINES, ChatLine, conversation

HEARTBEAT = 15.0  # seconds between SSE comment lines
POLL_WAIT = 25.0  # seconds a long-poll waits for a message
WIDGET = Path(__file__).parent / "static" / "widget.js"


class Refused(Exception):
    """The request cannot be served; `response` says why."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


async def _channel(request: web.Request) -> ChannelInfo:
    channel = await request.app[keys.CHANNELS].get(request.match_info["key"])
    if channel is None or channel.kind not in channel_module.KINDS:
        raise Refused(error_response(404, "not_found", "no such channel"))
    if not channel.active:
        raise Refused(error_response(410, "gone", "channel disabled"))
    origin = request.headers.get("Origin")
    if origin is not None and not channel_module.origin_allowed(channel.secrets, origin):
        raise Refused(error_response(403, "forbidden", "origin not allowed"))
    return channel


def _visitor(request: web.Request, channel: ChannelInfo) -> str:
    secret = channel.secrets.get("hmac_secret", "")
    token = request.query.get("token", "")
    visitor = channel_module.token_visitor(secret, channel.key, token) if secret else None
    if visitor is None:
        raise Refused(error_response(401, "rejected", "missing or wrong token"))
    return visitor


def _after(text: str | None) -> int:
    if not text:
        return 0
    if not text.isdigit() or len(text) > 18:
        raise Refused(error_response(400, "rejected", "after / Last-Event-ID must be a message id"))
    return int(text)


def _headers(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    return cors(origin) if origin is not None else {}


def _event(line: ChatLine) -> bytes:
    return b"id: %d\nevent: message\ndata: %s\n\n" % (line.id, orjson.dumps(line.as_json()))


async def stream(request: web.Request) -> web.StreamResponse:
    """SSE: the conversation after Last-Event-ID, then each new message as it is stored."""
    try:
        channel = await _channel(request)
        visitor = _visitor(request, channel)
        after = _after(request.headers.get("Last-Event-ID") or request.query.get("after"))
    except Refused as refused:
        refused.response.headers.update(_headers(request))
        return refused.response
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
               "X-Accel-Buffering": "no", **_headers(request)}  # fmt: skip
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    hub = request.app[keys.WEBCHAT_HUB]
    try:
        await response.write(b"retry: 3000\n\n")
        while not hub.closing:
            with hub.watch(channel.key, visitor) as pushed:
                lines = await conversation(channel.id, visitor, after)
                for line in lines:
                    await response.write(_event(line))
                    after = line.id
                if len(lines) < MAX_LINES and not await _woken(pushed, HEARTBEAT):
                    await response.write(b": heartbeat\n\n")
    except ConnectionResetError:  # the visitor left
        pass
    return response


async def _woken(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def poll(request: web.Request) -> web.StreamResponse:
    """Long-poll: the messages after `after`, waiting up to POLL_WAIT seconds for one."""
    try:
        channel = await _channel(request)
        visitor = _visitor(request, channel)
        after = _after(request.query.get("after"))
    except Refused as refused:
        refused.response.headers.update(_headers(request))
        return refused.response
    hub = request.app[keys.WEBCHAT_HUB]
    with hub.watch(channel.key, visitor) as pushed:
        lines = await conversation(channel.id, visitor, after)
        if not lines and not hub.closing and await _woken(pushed, POLL_WAIT):
            lines = await conversation(channel.id, visitor, after)
    body = orjson.dumps({"messages": [line.as_json() for line in lines]})
    return web.Response(body=body, content_type="application/json", headers=_headers(request))


async def config(request: web.Request) -> web.StreamResponse:
    """The channel's widget settings: whether to ask name, email and phone first."""
    try:
        channel = await _channel(request)
    except Refused as refused:
        return refused.response
    body = orjson.dumps({"prechat": channel_module.prechat_on(channel.secrets)})
    return web.Response(body=body, content_type="application/json", headers=_headers(request))


async def widget(request: web.Request) -> web.StreamResponse:
    """The widget's script (any page may load it; what it calls checks the origin)."""
    return web.Response(
        body=WIDGET.read_bytes(),
        content_type="application/javascript",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )
