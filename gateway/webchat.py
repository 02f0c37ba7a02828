"""Web chat over HTTP: the widget's CORS, per-IP and per-visitor rate limits, JSON answers.

`POST /webhooks/{key}` of a `webchat` channel takes the one pipeline of gateway.webhooks
(verify -> parse -> writer -> answer after COMMIT); `WebchatEdge` is what web chat hooks into
it: the page's Origin must be on the channel's allow-list (403), the client IP and then the
visitor must have a token left (429 with Retry-After), the answer is JSON, and every answer to
an allowed origin carries the CORS headers the browser needs to read it. `OPTIONS
/webhooks/{key}` answers the browser's CORS preflight.

The buckets live in this process: with N gateway processes behind a load balancer a visitor
can send up to N times the configured rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import orjson
import structlog
from aiohttp import web

from gateway import keys
from gateway.channels import ChannelModule, webchat
from gateway.channels.base import WebhookError, WebhookRequest
from gateway.http import error_response
from gateway.ratelimit import TokenBuckets
from gateway.settings import Settings
from store.access import system
from store.errors import DomainError
from store.types import ChannelInfo
from store.webchat import fill_unverified

log = structlog.get_logger("contactgate.webchat")

KINDS = webchat.KINDS
PREFLIGHT_MAX_AGE = 3600  # seconds a browser may cache the preflight (Chrome caps it at 7200)


class RateLimited(WebhookError):
    """Too many requests from one IP or one visitor; Retry-After says the whole seconds."""

    status = 429
    error = "rate_limited"

    def __init__(self, reason: str, wait: float) -> None:
        super().__init__(reason)
        self.headers = {"Retry-After": str(max(1, math.ceil(wait)))}


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


class OriginRefused(WebhookError):
    """A page whose origin is not on the channel's allow-list."""

    status = 403
    error = "forbidden"


class WebchatEdge:
    """Web chat's hooks on gateway.webhooks' pipeline: the widget's page calls us."""

    def before(self, request: web.Request, channel: ChannelInfo) -> None:
        """The page's origin must be allowed, and the client's IP have a token left."""
        origin = request.headers.get("Origin")
        if origin is not None and not webchat.origin_allowed(channel.secrets, origin):
            raise OriginRefused("origin not allowed")
        request.app[keys.WEBCHAT].check_ip(request)

    def admit(self, request: web.Request, channel: ChannelInfo, hook: WebhookRequest) -> None:
        """The visitor must have a token left (known once the body is parsed)."""
        visit: webchat.Visit = hook.memo["visit"]
        request.app[keys.WEBCHAT].check_visitor(channel, visit.visitor_id)
        if secret := channel.secrets.get("hmac_secret"):  # the stream's token, with the answer
            hook.memo["token"] = webchat.visitor_token(secret, channel.key, visit.visitor_id)

    async def stored(self, channel: ChannelInfo, hook: WebhookRequest) -> None:
        """With the pre-chat form on, what the visitor typed fills the contact's empty fields."""
        visit: webchat.Visit = hook.memo["visit"]
        if not visit.result.messages or not webchat.prechat_on(channel.secrets):
            return
        typed = visit.result.messages[0].meta.get("visitor") or {}
        if typed.get("verified") is not False:  # none, or vouched for (joined already)
            return
        actor = system(channel.workspace_id, f"webchat:{visit.visitor_id}")
        try:
            await fill_unverified(actor, channel.id, visit.visitor_id, typed)
        except DomainError as exc:  # e.g. another contact took that email meanwhile
            log.info("pre-chat details not filled", channel=channel.key, reason=str(exc))

    def answer(
        self, module: ChannelModule, hook: WebhookRequest, outcome: dict[str, int]
    ) -> web.Response:
        """JSON for the widget: ignored, or accepted / duplicate with its client message id."""
        visit: webchat.Visit = hook.memo["visit"]
        token = {"token": hook.memo["token"]} if "token" in hook.memo else {}
        if not visit.result.messages:
            return _json({"ok": True, "status": "ignored", **token})
        # held is not the visitor's business: it is accepted like any other message
        status = "duplicate" if outcome.get("duplicate") else "accepted"
        return _json({"ok": True, "status": status, "id": visit.message_id, **token})

    def finish(self, request: web.Request, channel: ChannelInfo, response: web.Response) -> None:
        """Every answer to an allowed origin carries the CORS headers the browser needs."""
        origin = request.headers.get("Origin")
        if origin is not None and webchat.origin_allowed(channel.secrets, origin):
            response.headers.update(cors(origin))

    async def preflight(self, request: web.Request, channel: ChannelInfo) -> web.StreamResponse:
        """OPTIONS: whether the widget's page may POST here."""
        origin = request.headers.get("Origin")
        if origin is None or "Access-Control-Request-Method" not in request.headers:
            return error_response(400, "rejected", "not a CORS preflight request")
        if not webchat.origin_allowed(channel.secrets, origin):
            return error_response(403, "forbidden", "origin not allowed")
        headers = {
            **cors(origin),
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        }
        return web.Response(status=204, headers=headers)


EDGE = WebchatEdge()


def cors(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def _json(data: dict[str, object]) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")
