"""create_app(settings): builds the aiohttp application; resources live in cleanup contexts."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bots.wiring import install as install_bots
from gateway import keys, ops, webchat, webchat_stream, webhooks
from gateway.api import routes as api_routes
from gateway.api.imports import IMPORT_LIMIT
from gateway.channel_cache import ChannelCache
from gateway.channels import CHANNELS
from gateway.events_out import deliverer_ctx
from gateway.http import guarded
from gateway.import_jobs import IMPORTS, ImportRunner, imports_ctx
from gateway.metrics import Metrics
from gateway.outbound import senders_ctx
from gateway.outbound.base import OutboundConfig, Senders
from gateway.parsing import ParsePool, parsers_ctx
from gateway.provision import apply_declarations
from gateway.resets import ResetRunner
from gateway.scheduler import scheduler_ctx
from gateway.settings import Settings
from gateway.startup import check_database, learn_channel_secrets
from gateway.webchat_push import Hub, hub_ctx, stop_streams
from store import db
from store.inbound import BatchWriter

# aiohttp's own ceiling: the largest channel limit (email, 25 MiB) plus headroom; each channel
# enforces its own limit below it (gateway.http.read_body).
MAX_BODY = max(module.MAX_BODY for module in CHANNELS.values()) + 1024 * 1024


class SchemaOutdated(RuntimeError):
    """The database needs `contactgate migrate` and auto-migrate is off."""


def create_app(settings: Settings) -> web.Application:
    """The gateway application; nothing is opened until it starts."""
    app = web.Application(client_max_size=MAX_BODY)
    app[keys.SETTINGS] = settings
    app[keys.METRICS] = Metrics()
    app[keys.CHANNELS] = ChannelCache(settings.channel_cache_seconds)
    app[keys.WEBCHAT] = webchat.WebchatLimits.from_settings(settings)
    path = settings.sqlite_path()
    app[keys.WRITER] = BatchWriter(
        max_items=settings.batch_max_items, sqlite_path=str(path) if path else None
    )
    app[keys.METRICS].watch_storage(app[keys.WRITER].health)
    app[keys.RESETS] = ResetRunner(settings, between=app[keys.WRITER].quiet)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_writer)
    app.cleanup_ctx.append(scheduler_ctx(settings.scheduler_seconds))
    app.cleanup_ctx.append(deliverer_ctx)
    app[keys.WEBCHAT_HUB] = Hub()
    app.cleanup_ctx.append(hub_ctx)
    app.on_shutdown.append(stop_streams)
    app[keys.SENDERS] = Senders(
        OutboundConfig.from_settings(settings),
        count=app[keys.METRICS].count_outbound,
        push=app[keys.WEBCHAT_HUB].push,
    )
    app.cleanup_ctx.append(senders_ctx)
    app[keys.PARSERS] = ParsePool()
    app.cleanup_ctx.append(parsers_ctx)
    app[IMPORTS] = ImportRunner()
    app.cleanup_ctx.append(imports_ctx)
    _routes(app)
    install_bots(app)
    app[IMPORT_LIMIT] = settings.api_import_max_bytes
    return app


def _routes(app: web.Application) -> None:
    app.router.add_post("/webhooks/{key}", guarded(webhooks.receive))
    app.router.add_get("/webhooks/{key}", guarded(webhooks.handshake))
    app.router.add_route("OPTIONS", "/webhooks/{key}", guarded(webhooks.preflight))
    app.router.add_get("/webchat/widget.js", guarded(webchat_stream.widget))
    app.router.add_get("/webchat/{key}/stream", guarded(webchat_stream.stream))
    app.router.add_get("/webchat/{key}/poll", guarded(webchat_stream.poll))
    app.router.add_get("/webchat/{key}/config", guarded(webchat_stream.config))
    app.router.add_get("/healthz", guarded(ops.healthz))
    app.router.add_get("/readyz", guarded(ops.readyz))
    app.router.add_get("/metrics", guarded(ops.metrics))
    api_routes.register(app)


async def prepare_database(settings: Settings) -> None:
    """Check the database opens (creating the SQLite folder); apply or insist on migrations;
    leave the ORM closed."""
    await check_database(settings)
    if settings.auto_migrate:
        await db.migrate(settings.database_url)
    else:
        pending = await db.pending_migrations(settings.database_url)
        if pending:
            await db.close()
            raise SchemaOutdated(
                f"schema is outdated ({', '.join(pending)}): run contactgate migrate"
            )
    await db.close()


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    await prepare_database(settings)
    await db.init(settings.database_url, pool_max=settings.pg_pool_size)
    try:
        await apply_declarations(settings)
        await learn_channel_secrets()
        yield
    finally:
        await db.close()


async def _writer(app: web.Application) -> AsyncIterator[None]:
    writer = app[keys.WRITER]
    writer.start()
    yield
    await writer.stop()
