"""The `contactgate` command: serve, migrate, workspace, plan; the other groups (channel, admin,
token, import, export, reset, events, duplicates) live in the gateway.cli_* modules."""

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

from gateway.cli_access import admin, token
from gateway.cli_audit import audit
from gateway.cli_channels import channel
from gateway.cli_common import as_owner, run, show, start, start_up_errors
from gateway.cli_contacts import export_contacts, import_contacts
from gateway.cli_duplicates import duplicates
from gateway.cli_events import events
from gateway.cli_person import contact, exports
from gateway.cli_reset import reset
from gateway.cli_retention import retention
from gateway.settings import Settings
from gateway.startup import check_database
from store import db

if TYPE_CHECKING:
    from aiohttp import web

    from store.plan import PlanUsage

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


@workspace.command("set")
@click.argument("slug")
@click.option(
    "--language",
    type=click.Choice(["es", "en"]),
    help="The bots' language for people whose own is unknown (es by default).",
)
@click.option("--opt-out-words", help="Comma-separated words that opt a person out (STOP,BAJA…).")
@click.option("--opt-in-words", help="Comma-separated words that opt them back in (START,ALTA…).")
@click.pass_context
def workspace_set(
    ctx: click.Context,
    slug: str,
    language: str | None,
    opt_out_words: str | None,
    opt_in_words: str | None,
) -> None:
    """Change a workspace's settings: the bots' default language, the consent words (an empty
    list, "", goes back to the defaults)."""
    from store.setup import set_consent_words, set_workspace_language

    if language is None and opt_out_words is None and opt_in_words is None:
        raise click.UsageError("give --language, --opt-out-words or --opt-in-words")
    if language is not None:
        show(run(ctx, lambda: set_workspace_language(slug, language)), False)
    if opt_out_words is not None or opt_in_words is not None:
        out = None if opt_out_words is None else opt_out_words.split(",")
        in_ = None if opt_in_words is None else opt_in_words.split(",")
        words = run(ctx, lambda: set_consent_words(slug, out, in_))
        click.echo(f"opt-out words: {', '.join(words['opt_out'])}")
        click.echo(f"opt-in words: {', '.join(words['opt_in'])}")


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
            f"{w.slug}\tcap={w.plan_cap}\ttz={w.timezone}\tregion={w.default_region}"
            f"\tlanguage={w.language}"
            for w in rows
        ),
        as_json,
    )


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
    if as_json:
        show(result, True)
    else:
        click.echo(_plan_text(result))


def _plan_text(p: PlanUsage) -> str:
    lines = [
        f"{p.workspace} in {p.period}: {p.used} of {p.cap} contacts"
        f" ({p.carried_over} carried over from earlier periods)",
        f"held: {p.held_messages} messages from {p.held_senders} new senders"
        + (f"; {p.admitted_now} admitted now" if p.admitted_now else ""),
        f"next period in {p.days_to_next_period:.1f} days",
    ]
    lines += [
        f"  {c.channel_key}	{c.kind}	{c.carried_over} carried over, {c.created} new"
        for c in p.channels
    ]
    return "\n".join(lines)


main.add_command(channel)
main.add_command(admin)
main.add_command(token)
main.add_command(export_contacts)
main.add_command(import_contacts)
main.add_command(duplicates)
main.add_command(reset)
main.add_command(events)
main.add_command(retention)
main.add_command(audit)
main.add_command(contact)
main.add_command(exports)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
