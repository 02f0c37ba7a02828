"""Web chat over HTTP: the widget's CORS, per-IP and per-visitor rate limits, JSON answers.

`POST /webhooks/{key}` of a `webchat` channel comes here from gateway.webhooks.receive and
takes the same path as every channel (verify -> parse -> writer -> answer after COMMIT), with
three steps around it: the page's Origin must be on the channel's allow-list (403), the
client IP and then the visitor must have a token left (429 with Retry-After), and every answer
to an allowed origin carries the CORS headers the browser needs to read it.
`OPTIONS /webhooks/{key}` answers the browser's CORS preflight.

The buckets live in this process: with N gateway processes behind a load balancer a visitor
can send up to N times the configured rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import orjson
from aiohttp import web

from gateway import keys
from gateway.channels import webchat
from gateway.channels.base import WebhookError, WebhookRequest, check_ids
from gateway.http import BodyTooLarge, error_response, read_body
from gateway.ratelimit import TokenBuckets
from gateway.settings import Settings
from store.inbound import WriteFailed, WriterClosed
from store.types import ChannelInfo, Item

KINDS = webchat.KINDS
PREFLIGHT_MAX_AGE = 3600  # seconds a browser may cache the preflight (Chrome caps it at 7200)
Outcome = dict[str, int]


class RateLimited(WebhookError):
    """Too many requests from one IP or one visitor; `retry_after` is in whole seconds."""

    status = 429

    def __init__(self, reason: str, wait: float) -> None:
        super().__init__(reason)
        self.retry_after = max(1, math.ceil(wait))


@dataclass(frozen=True, slots=True)
class WebchatLimits:
    """The token buckets of this process and how to find the client's IP."""

    ips: TokenBuckets
    visitors: TokenBuckets
    proxy_hops: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> WebchatLimits:
        """Buckets sized by the `webchat_*` settings."""
        return cls(
            TokenBuckets(settings.webchat_ip_per_minute, settings.webchat_ip_burst),
            TokenBuckets(settings.webchat_visitor_per_minute, settings.webchat_visitor_burst),
            settings.webchat_proxy_hops,
        )

    def check_ip(self, request: web.Request) -> None:
        """Take a token for the client's IP, or raise RateLimited."""
        wait = self.ips.take(client_ip(request, self.proxy_hops))
        if wait:
            raise RateLimited("too many requests from this address", wait)

    def check_visitor(self, channel: ChannelInfo, visitor_id: str) -> None:
        """Take a token for the visitor of this channel, or raise RateLimited."""
        wait = self.visitors.take(f"{channel.id}:{visitor_id}")
        if wait:
            raise RateLimited("too many messages from this visitor", wait)


def client_ip(request: web.Request, proxy_hops: int) -> str:
    """The caller's IP: the peer, or the address `proxy_hops` trusted proxies put in XFF."""
    if proxy_hops:
        hops = [
            p.strip() for v in request.headers.getall("X-Forwarded-For", ()) for p in v.split(",")
        ]
        hops = [h for h in hops if h]
        if len(hops) >= proxy_hops:
            return hops[-proxy_hops]
    return request.remote or "unknown"


async def receive(request: web.Request, channel: ChannelInfo) -> tuple[web.Response, Outcome]:
    """A widget's POST: store its message, answer in JSON with CORS headers for its origin."""
    origin = request.headers.get("Origin")
    if origin is not None and not webchat.origin_allowed(channel.secrets, origin):
        return error_response(403, "forbidden", "origin not allowed"), {"rejected": 1}
    try:
        response, outcome = await _accept(request, channel)
    except WebhookError as exc:
        response, outcome = (
            error_response(exc.status, _error_name(exc), exc.reason),
            {"rejected": 1},
        )
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
    except BodyTooLarge:
        detail = f"body over {webchat.MAX_BODY} bytes"
        response, outcome = error_response(413, "too_large", detail), {"rejected": 1}
    except (WriteFailed, WriterClosed) as exc:
        response, outcome = error_response(503, "unavailable", str(exc)), {"failed": 1}
    if origin is not None:
        response.headers.update(_cors(origin))
    return response, outcome


async def _accept(request: web.Request, channel: ChannelInfo) -> tuple[web.Response, Outcome]:
    limits = request.app[keys.WEBCHAT]
    limits.check_ip(request)
    body = await read_body(request, webchat.MAX_BODY)
    hook = WebhookRequest(request.method, str(request.url), request.headers, request.query, body)
    webchat.verify(channel.secrets, hook)
    visit = webchat.parse_visit(hook)
    check_ids(visit.result.messages)
    limits.check_visitor(channel, visit.visitor_id)
    if not visit.result.messages:
        return _json({"ok": True, "status": "ignored"}), {"ignored": visit.result.ignored}
    items = [Item(channel, m) for m in visit.result.messages]
    [outcome] = await request.app[keys.WRITER].submit(items)
    status = "duplicate" if outcome == "duplicate" else "accepted"  # held is not the visitor's
    return _json({"ok": True, "status": status, "id": visit.message_id}), {outcome: 1}


async def preflight(request: web.Request) -> web.StreamResponse:
    """OPTIONS /webhooks/{key}: the browser asks whether the widget's page may POST here."""
    channel = await request.app[keys.CHANNELS].get(request.match_info["key"])
    if channel is None or not channel.active:
        return error_response(404, "not_found", "no such channel")
    if channel.kind not in webchat.KINDS:
        return error_response(405, "method_not_allowed", f"{channel.kind} takes no CORS requests")
    origin = request.headers.get("Origin")
    if origin is None or "Access-Control-Request-Method" not in request.headers:
        return error_response(400, "rejected", "not a CORS preflight request")
    if not webchat.origin_allowed(channel.secrets, origin):
        return error_response(403, "forbidden", "origin not allowed")
    headers = {
        **_cors(origin),
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
    }
    return web.Response(status=204, headers=headers)


def _cors(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def _error_name(exc: WebhookError) -> str:
    return {429: "rate_limited", 415: "unsupported_media_type"}.get(exc.status, "rejected")


def _json(data: dict[str, object]) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")
