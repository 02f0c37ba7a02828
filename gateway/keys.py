"""Typed application keys: everything create_app() puts on the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gateway.channel_cache import ChannelCache
    from gateway.metrics import Metrics
    from gateway.outbound.base import Senders
    from gateway.parsing import ParsePool
    from gateway.resets import ResetRunner
    from gateway.settings import Settings
    from gateway.webchat import WebchatLimits
    from gateway.webchat_push import Hub
    from store.inbound import BatchWriter

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
WRITER: web.AppKey[BatchWriter] = web.AppKey("writer")
CHANNELS: web.AppKey[ChannelCache] = web.AppKey("channels")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
WEBCHAT: web.AppKey[WebchatLimits] = web.AppKey("webchat")
WEBCHAT_HUB: web.AppKey[Hub] = web.AppKey("webchat_hub")
RESETS: web.AppKey[ResetRunner] = web.AppKey("resets")
SENDERS: web.AppKey[Senders] = web.AppKey("senders")
PARSERS: web.AppKey[ParsePool] = web.AppKey("parsers")
