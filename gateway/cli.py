"""The `contactgate` command: serve, migrate, set-up (workspace, channel, admin, token), plan,
import, export, reset, events."""

from __future__ import annotations

import asyncio
import errno
import gc
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

import click
import structlog
from yarl import URL

from gateway.cli_common import run, show, start, start_up_errors
from gateway.cli_contacts import export_contacts, import_contacts
from gateway.cli_reset import as_owner, events_cmd, reset
from gateway.settings import Settings
from gateway.startup import check_database
from store import db

if TYPE_CHECKING:
    from aiohttp import web

T = TypeVar("T")


@click.group()
@click.option("--config", envvar="CONTACTGATE_CONFIG", help="TOML config file.")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """contactgate: channel webhooks -> contacts under a plan cap."""
    ctx.obj = {"config": config}


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default from settings).")
@click.option("--port", default=None, type=int, help="Port (default from settings).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the gateway (applies pending migrations unless CONTACTGATE_AUTO_MIGRATE=false)."""
    from gateway.app import create_app

    settings = start(ctx, sys.stdout, cache=True)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is optional (not on Windows)
        pass
    app = create_app(settings)
    app.on_startup.append(_tune_gc)  # runs after the database and the writer are up
    _run_app(app, settings, host or settings.host, port or settings.port)


# Binding errors worth one line: the port is taken, the address is not ours, the port is < 1024.
BIND_ERRORS = (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES)


def _run_app(app: web.Application, settings: Settings, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, logging one line when listening and one when stopped; a
    start-up failure is one line and a non-zero exit."""
    from aiohttp import web

    log = structlog.get_logger("contactgate.serve")
    url = URL.build(scheme="http", host=host, port=port)
    try:
        with start_up_errors(settings):
            web.run_app(
                app,
                host=host,
                port=port,
                access_log=None,
                print=lambda _msg: log.info(f"listening on {url}"),
            )
    except OSError as exc:
        if exc.errno not in BIND_ERRORS:
            raise
        raise click.ClickException(
            f"cannot listen on {host}:{port} (CONTACTGATE_HOST, CONTACTGATE_PORT): {exc.strerror}"
        ) from exc
    log.info("stopped")


# Young collections every 20,000 allocations instead of 700: the webhook path allocates many
# short-lived objects and almost none of them are in cycles.
GC_THRESHOLDS = (20_000, 20, 20)


async def _tune_gc(_app: object) -> None:
    """Keep start-up objects (models, SQL caches) out of the cyclic collector for good.

    They live as long as the process; full collections walking them stalled requests.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Bring the database schema up to date."""
    settings = start(ctx)

    async def work() -> list[str]:
        from gateway.app import prepare_database

        await check_database(settings)
        applied = await db.migrate(settings.database_url)
        await db.close()
        await prepare_database(settings.model_copy(update={"auto_migrate": False}))
        return applied

    with start_up_errors(settings):
        applied = asyncio.run(work())
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@main.group()
def workspace() -> None:
    """Create and list workspaces."""


@workspace.command("create")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--cap", "plan_cap", default=1000, type=int, show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
@click.option(
    "--region",
    "default_region",
    default="US",
    show_default=True,
    help="Default phone region (two letters).",
)
@click.pass_context
def workspace_create(ctx: click.Context, slug: str, **fields: Any) -> None:
    """Create a workspace (or update an existing one)."""
    from store.setup import upsert_workspace

    show(run(ctx, lambda: upsert_workspace(slug, **fields)), False)


@workspace.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def workspace_list(ctx: click.Context, as_json: bool) -> None:
    """List workspaces."""
    from store.setup import list_workspaces

    rows = run(ctx, list_workspaces)
    show(
        [asdict(w) for w in rows]
        if as_json
        else "\n".join(
            f"{w.slug}\tcap={w.plan_cap}\ttz={w.timezone}\tregion={w.default_region}" for w in rows
        ),
        as_json,
    )


@main.group()
def channel() -> None:
    """Connect channels."""


@channel.command("add")
@click.argument("workspace_slug")
@click.argument("kind")
@click.option("--key", default=None, help="Webhook path key (random when omitted).")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="NAME=VALUE",
    help="A channel secret, e.g. --secret app_secret=abc (repeat).",
)
@click.option("--name", default="")
@click.pass_context
def channel_add(
    ctx: click.Context,
    workspace_slug: str,
    kind: str,
    key: str | None,
    secrets: tuple[str, ...],
    name: str,
) -> None:
    """Add (or update) a channel; prints its webhook path."""
    from gateway.provision import known_kinds
    from store.setup import upsert_channel

    pairs = dict(_pair(s) for s in secrets)
    info = run(
        ctx,
        lambda: upsert_channel(
            workspace_slug, kind, key, pairs, name=name, known_kinds=known_kinds()
        ),
    )
    click.echo(f"channel {info.kind} ready: POST /webhooks/{info.key}")


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} must be NAME=VALUE", param_hint="--secret")
    return name, value


@channel.command("list")
@click.argument("workspace_slug")
@click.pass_context
def channel_list(ctx: click.Context, workspace_slug: str) -> None:
    """List a workspace's channels (secrets are not shown)."""
    from store.setup import list_channels

    for ch in run(ctx, lambda: list_channels(workspace_slug)):
        click.echo(f"{ch.key}\t{ch.kind}\t{'active' if ch.active else 'inactive'}")


@main.group()
def admin() -> None:
    """Bind chat users to workspace roles."""


@admin.command("add")
@click.argument("workspace_slug")
@click.argument("platform", type=click.Choice(["slack", "telegram"]))
@click.argument("user")
@click.argument("role", type=click.Choice(["agent", "admin", "owner"]))
@click.option("--name", default="")
@click.pass_context
def admin_add(
    ctx: click.Context, workspace_slug: str, platform: str, user: str, role: str, name: str
) -> None:
    """Bind USER (Slack TEAM:USER, Telegram user id) with ROLE."""
    from store.setup import bind_admin

    run(ctx, lambda: bind_admin(workspace_slug, platform, user, role, name=name))
    click.echo(f"{platform} user {user} is {role} of {workspace_slug}")


@admin.group("chat")
def admin_chat() -> None:
    """Chats where a workspace's notifications are posted."""


@admin_chat.command("add", context_settings={"ignore_unknown_options": True})  # -100…: groups
@click.argument("workspace_slug")
@click.argument("platform", type=click.Choice(["slack", "telegram"]))
@click.argument("chat_id")
@click.pass_context
def admin_chat_add(ctx: click.Context, workspace_slug: str, platform: str, chat_id: str) -> None:
    """Post the notifications (plan cap, monthly reset) in CHAT_ID (Slack channel id,
    Telegram chat id)."""
    from store.chat_admin import add_chat_for

    added = run(ctx, lambda: add_chat_for(workspace_slug, platform, chat_id))
    state = "now gets" if added else "already got"
    click.echo(f"{platform} chat {chat_id} {state} the notifications of {workspace_slug}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("workspace_slug")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "admin", "owner"]), required=True)
@click.pass_context
def token_create(ctx: click.Context, workspace_slug: str, name: str, role: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    from store.setup import create_token

    click.echo(run(ctx, lambda: create_token(workspace_slug, name, role)))


@main.command()
@click.argument("workspace_slug")
@click.option("--cap", type=int, default=None, help="Set the plan cap (admits held senders).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def plan(ctx: click.Context, workspace_slug: str, cap: int | None, as_json: bool) -> None:
    """Show (or set) the plan: usage per channel, cap, held, days to the next period."""
    from store import plan as plans

    if cap is None:
        result = run(ctx, lambda: plans.usage(workspace_slug))
    else:
        result = run(ctx, lambda: as_owner(workspace_slug, plans.set_cap, cap))
    show(result, as_json)


main.add_command(export_contacts)
main.add_command(import_contacts)
main.add_command(reset)
main.add_command(events_cmd)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
