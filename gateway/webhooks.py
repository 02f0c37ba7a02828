"""POST /webhooks/{key}: verify -> parse -> durable batched write -> provider's ack."""

from __future__ import annotations

import logging
import time

import structlog
from aiohttp import web

from gateway import keys, parsing, webchat
from gateway.channels import CHANNELS, ChannelModule, handshake_of
from gateway.channels.base import (
    SignatureError,
    WebhookError,
    WebhookRequest,
)
from gateway.http import error_response, read_body
from store.inbound import WriteFailed, WriterClosed
from store.types import ChannelInfo, Item

log = structlog.get_logger("contactgate.webhook")


def _info_enabled() -> bool:
    """True when INFO lines are written (the per-webhook line is skipped entirely otherwise)."""
    return logging.getLogger().isEnabledFor(logging.INFO)


async def receive(request: web.Request) -> web.StreamResponse:
    """Store what a channel delivered, then answer the way its provider expects."""
    started = time.perf_counter()
    channel, module = await _channel(request)
    if channel.kind in webchat.KINDS:  # CORS, rate limits and a JSON answer for the widget
        answer, counts = await webchat.receive(request, channel)
        _observe(request, channel, counts, answer.status, started)
        return answer
    outcome: dict[str, int] = {}
    hook = _webhook_request(request, await read_body(request, module.MAX_BODY))
    try:
        result = await parsing.verified(request.app, channel.kind, channel.secrets, hook)
        if admit := getattr(module, "admit", None):
            admit(hook)
        outcome = {"ignored": result.ignored, "unsupported": len(result.unsupported)}
        if result.messages:
            items = [Item(channel, m) for m in result.messages]
            for name in await request.app[keys.WRITER].submit(items):
                outcome[name] = outcome.get(name, 0) + 1
        response: web.StreamResponse = _ack(module)
    except WebhookError as exc:
        outcome = {"rejected": 1}
        response = error_response(exc.status, "rejected", exc.reason)
    except (WriteFailed, WriterClosed) as exc:
        outcome = {"failed": 1}
        response = error_response(503, "unavailable", str(exc))
    if settle := getattr(module, "settle", None):
        settle(hook, response.status)
    _observe(request, channel, outcome, response.status, started)
    return response


async def handshake(request: web.Request) -> web.StreamResponse:
    """GET /webhooks/{key}: a provider's subscription check (Meta echoes hub.challenge)."""
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


async def _channel(request: web.Request) -> tuple[ChannelInfo, ChannelModule]:
    channel = await request.app[keys.CHANNELS].get(request.match_info["key"])
    if channel is None or not channel.active or channel.kind not in CHANNELS:
        raise web.HTTPNotFound(
            text='{"error":"not_found","detail":"no such channel"}', content_type="application/json"
        )
    return channel, CHANNELS[channel.kind]


def _webhook_request(request: web.Request, body: bytes) -> WebhookRequest:
    def url() -> str:
        public = request.app[keys.SETTINGS].public_url or f"{request.scheme}://{request.host}"
        return public + request.path_qs

    return WebhookRequest(request.method, url, request.headers, request.query, body)


def _ack(module: ChannelModule) -> web.Response:
    ack = module.ACK
    return web.Response(
        status=ack.status, body=ack.body, headers={"Content-Type": ack.content_type}
    )


def _observe(
    request: web.Request, channel: ChannelInfo, outcome: dict[str, int], status: int, started: float
) -> None:
    metrics = request.app[keys.METRICS]
    for name, n in outcome.items():
        if n:
            metrics.count_inbound(channel.kind, name, n)
    metrics.count_webhook(channel.kind, status)
    failed = "failed" in outcome  # storage: said once by store.health, here a warning line
    if failed or _info_enabled():
        (log.warning if failed else log.info)(
            "webhook",
            channel=channel.key,
            kind=channel.kind,
            status=status,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            **{k: v for k, v in outcome.items() if v},
        )
