"""/webhooks/{key}: the one inbound pipeline, verify -> parse -> durable batched write -> answer.

Every channel kind takes the same path; what a kind adds at the HTTP edge (web chat's origin
check, rate limits, JSON answer and CORS headers) comes in as the hooks of its `Edge`, so the
public URL, verification, error mapping, logging and metrics are written once, here.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import structlog
from aiohttp import web

from gateway import keys, parsing, webchat
from gateway.channels import CHANNELS, ChannelModule, handshake_of
from gateway.channels.base import (
    SignatureError,
    WebhookError,
    WebhookRequest,
)
from gateway.http import BodyTooLarge, error_response, read_body
from store import statuses
from store.inbound import WriteFailed, WriterClosed
from store.types import ChannelInfo, Item

log = structlog.get_logger("contactgate.webhook")
Outcome = dict[str, int]


class Edge(Protocol):
    """What a channel kind adds around the pipeline, at the HTTP edge."""

    def before(self, request: web.Request, channel: ChannelInfo) -> None:
        """Checks before the body is read; raise a WebhookError to refuse."""

    def admit(self, request: web.Request, channel: ChannelInfo, hook: WebhookRequest) -> None:
        """Checks once the request is verified and parsed, before the write."""

    async def stored(self, channel: ChannelInfo, hook: WebhookRequest) -> None:
        """After COMMIT, before the answer: what the edge keeps beside the messages."""

    def answer(self, module: ChannelModule, hook: WebhookRequest, outcome: Outcome) -> web.Response:
        """The answer once what the request carries is stored."""

    def finish(self, request: web.Request, channel: ChannelInfo, response: web.Response) -> None:
        """The last touch on every answer of the pipeline, refusals included."""

    async def preflight(self, request: web.Request, channel: ChannelInfo) -> web.StreamResponse:
        """OPTIONS: a browser's CORS preflight."""


class ProviderEdge:
    """A provider's servers call us: nothing around the pipeline, the channel's own ACK."""

    def before(self, request: web.Request, channel: ChannelInfo) -> None:
        """Nothing to check before the body."""

    def admit(self, request: web.Request, channel: ChannelInfo, hook: WebhookRequest) -> None:
        """Nothing to check before the write."""

    async def stored(self, channel: ChannelInfo, hook: WebhookRequest) -> None:
        """Nothing beside the messages."""

    def answer(self, module: ChannelModule, hook: WebhookRequest, outcome: Outcome) -> web.Response:
        """The body the provider expects back."""
        ack = module.ACK
        return web.Response(
            status=ack.status, body=ack.body, headers={"Content-Type": ack.content_type}
        )

    def finish(self, request: web.Request, channel: ChannelInfo, response: web.Response) -> None:
        """Answers go out as they are."""

    async def preflight(self, request: web.Request, channel: ChannelInfo) -> web.StreamResponse:
        """Providers' servers send no CORS requests."""
        return error_response(405, "method_not_allowed", f"{channel.kind} takes no CORS requests")


PROVIDER = ProviderEdge()
EDGES: dict[str, Edge] = {kind: webchat.EDGE for kind in webchat.KINDS}


def _info_enabled() -> bool:
    """True when INFO lines are written (the per-webhook line is skipped entirely otherwise)."""
    return logging.getLogger().isEnabledFor(logging.INFO)


async def receive(request: web.Request) -> web.StreamResponse:
    """POST: store what a channel delivered, then answer the way its sender expects."""
    started = time.perf_counter()
    channel, module = await _channel(request)
    edge = EDGES.get(channel.kind, PROVIDER)
    hook: WebhookRequest | None = None
    reason: str | None = None  # why a request was refused, for the log line as for the answer
    try:
        edge.before(request, channel)
        hook = _webhook_request(request, await read_body(request, module.MAX_BODY))
        outcome = await _store(request, channel, module, edge, hook)
        await edge.stored(channel, hook)
        response = edge.answer(module, hook, outcome)
    except WebhookError as exc:
        outcome, reason = {"rejected": 1}, exc.reason
        response = error_response(exc.status, exc.error, exc.reason)
        response.headers.update(exc.headers)
    except BodyTooLarge:
        outcome, reason = {"rejected": 1}, f"body over {module.MAX_BODY} bytes"
        response = error_response(413, "too_large", reason)
    except (WriteFailed, WriterClosed) as exc:
        outcome = {"failed": 1}
        response = error_response(503, "unavailable", str(exc))
    if hook is not None and (settle := getattr(module, "settle", None)):
        settle(hook, response.status)
    edge.finish(request, channel, response)
    _observe(request, channel, outcome, response.status, started, reason)
    return response


async def _store(
    request: web.Request,
    channel: ChannelInfo,
    module: ChannelModule,
    edge: Edge,
    hook: WebhookRequest,
) -> Outcome:
    """Verify and parse, admit, then write: what happened to the request's messages."""
    result = await parsing.verified(request.app, channel.kind, channel.secrets, hook)
    if admit := getattr(module, "admit", None):
        admit(hook)
    edge.admit(request, channel, hook)
    outcome = {"ignored": result.ignored, "unsupported": len(result.unsupported)}
    if result.messages:
        items = [Item(channel, m) for m in result.messages]
        for name in await request.app[keys.WRITER].submit(items):
            outcome[name] = outcome.get(name, 0) + 1
    if result.statuses:
        applied = await statuses.apply_statuses(channel, result.statuses)
        request.app[keys.METRICS].count_statuses(channel.kind, applied.outcomes)
        outcome["statuses"] = len(result.statuses)
    return outcome


async def handshake(request: web.Request) -> web.StreamResponse:
    """GET: a provider's subscription check (Meta echoes hub.challenge)."""
    channel, _module = await _channel(request)
    check = handshake_of(channel.kind)
    if check is None:
        return error_response(405, "method_not_allowed", f"{channel.kind} has no GET handshake")
    try:
        challenge = check(channel.secrets, _webhook_request(request, b""))
    except SignatureError as exc:
        return error_response(403, "forbidden", exc.reason)
    except WebhookError as exc:
        return error_response(exc.status, "rejected", exc.reason)
    return web.Response(text=challenge)


async def preflight(request: web.Request) -> web.StreamResponse:
    """OPTIONS: a browser asks whether a page may POST here (web chat's widget)."""
    channel, _module = await _channel(request)
    return await EDGES.get(channel.kind, PROVIDER).preflight(request, channel)


async def _channel(request: web.Request) -> tuple[ChannelInfo, ChannelModule]:
    channel = await request.app[keys.CHANNELS].get(request.match_info["key"])
    if channel is None or channel.kind not in CHANNELS:
        raise web.HTTPNotFound(
            text='{"error":"not_found","detail":"no such channel"}', content_type="application/json"
        )
    if not channel.active:  # `contactgate channel disable`: refused, nothing stored
        log.warning("webhook refused", channel=channel.key, kind=channel.kind, reason="disabled")
        raise web.HTTPGone(
            text='{"error":"gone","detail":"channel disabled"}', content_type="application/json"
        )
    return channel, CHANNELS[channel.kind]


def _webhook_request(request: web.Request, body: bytes) -> WebhookRequest:
    def url() -> str:
        public = request.app[keys.SETTINGS].public_url or f"{request.scheme}://{request.host}"
        return public + request.path_qs

    return WebhookRequest(request.method, url, request.headers, request.query, body)


def _observe(
    request: web.Request,
    channel: ChannelInfo,
    outcome: Outcome,
    status: int,
    started: float,
    reason: str | None = None,
) -> None:
    """Metrics, and the request's log line: a warning, with the reason, when it was refused."""
    metrics = request.app[keys.METRICS]
    for name, n in outcome.items():
        if n and name != "statuses":  # counted by status and outcome in _store
            metrics.count_inbound(channel.kind, name, n)
    metrics.count_webhook(channel.kind, status)
    # storage faults are said once by store.health, here a warning line; refusals say why, so
    # an operator with a misconfigured secret sees it (reasons never hold a secret's value)
    failed = "failed" in outcome or reason is not None
    if failed or _info_enabled():
        extra = {"reason": reason} if reason is not None else {}
        (log.warning if failed else log.info)(
            "webhook",
            channel=channel.key,
            kind=channel.kind,
            status=status,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            **{k: v for k, v in outcome.items() if v},
            **extra,
        )
