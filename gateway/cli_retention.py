"""`contactgate retention WORKSPACE show|set|preview|run`: the retention rules from the command
line (acting as the workspace's owner)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from gateway.cli_common import as_owner, run, settings_of, show
from gateway.cli_reset import json_option, run_line

KEYS = {"contacts": "contacts_inactive_days", "messages": "messages_older_than_days"}


@click.group("retention")
@click.argument("workspace_slug")
@click.pass_context
def retention(ctx: click.Context, workspace_slug: str) -> None:
    """Retention rules of a workspace: delete inactive contacts and/or old messages daily."""
    ctx.obj["workspace"] = workspace_slug


def _days(_ctx: click.Context, param: click.Parameter, value: str | None) -> int | str | None:
    """A rule option: a number of days, `off`, or absent (unchanged)."""
    if value is None:
        return "keep"
    if value.strip().lower() == "off":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise click.BadParameter("a number of days, or off") from exc


def _changes(contacts: int | str | None, messages: int | str | None) -> dict[str, Any]:
    given = {"contacts": contacts, "messages": messages}
    return {KEYS[k]: v for k, v in given.items() if v != "keep"}


contacts_option = click.option(
    "--contacts", callback=_days, metavar="DAYS|off", help="Contacts with no activity for DAYS."
)
messages_option = click.option(
    "--messages", callback=_days, metavar="DAYS|off", help="Messages older than DAYS."
)


def _show_rules(ctx: click.Context, result: Any) -> None:
    if ctx.obj["json"]:
        show(result, True)
        return
    data = asdict(result)
    if data["message"]:
        click.echo(data["message"])
    for name, key in KEYS.items():
        days = data[key]
        click.echo(f"{name}: {'off' if days is None else f'older than {days} days'}")
    click.echo(f"time: {data['local_time']} {data['timezone']} (the reset's time), daily")
    click.echo(f"next run: {data['next_run_local'] or 'none scheduled'}")
    if data["set_by"]:
        click.echo(f"set by: {data['set_by']} at {data['set_at']:%Y-%m-%d %H:%M} UTC")


@retention.command("show")
@json_option
@click.pass_context
def show_rules(ctx: click.Context) -> None:
    """The rules, the next run and the latest runs."""
    from store import reset as resets
    from store.reset import retention as rules

    slug = ctx.obj["workspace"]
    _show_rules(ctx, run(ctx, lambda: as_owner(slug, rules.show)))
    if not ctx.obj["json"]:
        for r in run(ctx, lambda: as_owner(slug, resets.list_runs, limit=5, kind=rules.KIND)):
            click.echo(run_line(asdict(r)))


@retention.command("set")
@json_option
@contacts_option
@messages_option
@click.pass_context
def set_rules(ctx: click.Context, contacts: Any, messages: Any) -> None:
    """Set either rule or both (`--contacts 365 --messages off`)."""
    from store.reset import retention as rules

    changes = _changes(contacts, messages)
    if not changes:
        raise click.UsageError("give --contacts DAYS|off and/or --messages DAYS|off")
    _show_rules(ctx, run(ctx, lambda: as_owner(ctx.obj["workspace"], rules.set_rules, changes)))


@retention.command("preview")
@json_option
@contacts_option
@messages_option
@click.pass_context
def preview(ctx: click.Context, contacts: Any, messages: Any) -> None:
    """Counts and a sample of what the rules (or the days given) would delete today."""
    from store.reset import retention as rules

    changes = _changes(contacts, messages)
    result = run(ctx, lambda: as_owner(ctx.obj["workspace"], rules.preview, changes))
    if ctx.obj["json"]:
        show(result, True)
        return
    click.echo(
        f"{result.day}: {result.contacts} contacts, {result.identities} identities,"
        f" {result.messages} messages ({result.old_messages} old messages of contacts that"
        f" stay), {result.notes} notes"
    )
    for item in result.sample:
        click.echo(f"  #{item['id']}\t{item['name']}\t{item['email']}\t{item['phone']}")


@retention.command("run")
@json_option
@click.pass_context
def run_now(ctx: click.Context) -> None:
    """Run today's retention now (export first); resumes an interrupted or failed run."""
    from gateway.resets import config_of
    from store.reset import retention as rules

    config = config_of(settings_of(ctx))
    result = run(ctx, lambda: as_owner(ctx.obj["workspace"], rules.run_now, config))
    if ctx.obj["json"]:
        show(result, True)
    else:
        click.echo(run_line(asdict(result)))
    if result.state != "done":
        ctx.exit(1)
