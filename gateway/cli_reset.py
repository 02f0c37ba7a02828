"""`contactgate reset WORKSPACE …` and `contactgate events WORKSPACE`: the monthly reset and
the notifications, from the command line (acting as the workspace's owner)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from gateway.cli_common import as_owner, run, settings_of, show, show_rows


@click.group("reset")
@click.argument("workspace_slug")
@click.pass_context
def reset(ctx: click.Context, workspace_slug: str) -> None:
    """The monthly reset of a workspace: status, preview, enable, disable, time, run."""
    ctx.obj["workspace"] = workspace_slug


def _json_flag(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.ensure_object(dict)["json"] = value
    return value


json_option = click.option(
    "--json", "as_json", is_flag=True, expose_value=False, callback=_json_flag, help="Print JSON."
)


def _show_status(ctx: click.Context, result: Any) -> None:
    if ctx.obj["json"]:
        show(result, True)
        return
    data = asdict(result)
    if data["message"]:
        click.echo(data["message"])
    pending = (
        f" (from {data['pending_from']}: {data['pending_mode']})" if data["pending_mode"] else ""
    )
    click.echo(f"mode: {data['mode']} in {data['period']}{pending}")
    click.echo(f"tag: {data['tag']}\ttime: {data['local_time']} {data['timezone']}")
    click.echo(f"next run: {data['next_run_local'] or 'none scheduled'}")
    click.echo(f"changes that delete more count for this month until: {data['last_change_day']}")
    if data["set_by"]:
        click.echo(f"set by: {data['set_by']} at {data['set_at']:%Y-%m-%d %H:%M} UTC")
    for r in data["runs"]:
        click.echo(run_line(r))


def run_line(r: dict[str, Any]) -> str:
    counts = ", ".join(f"{k}={v}" for k, v in r["counts"].items())
    end = f" error: {r['error']}" if r["error"] else ""
    return (
        f"run {r['id']}\t{r['period']}\t{r['mode']}\t{r['trigger']}\t{r['state']}\t{counts}"
        f"\t{r['export_path'] or ''}{end}"
    )


@reset.command("status")
@json_option
@click.pass_context
def status(ctx: click.Context) -> None:
    """Mode in force, pending change, next run, latest runs."""
    from store import reset as resets

    slug = ctx.obj["workspace"]
    _show_status(ctx, run(ctx, lambda: as_owner(slug, resets.status)))


@reset.command("preview")
@json_option
@click.argument("mode", required=False, type=click.Choice(["all", "tagged"]))
@click.pass_context
def preview(ctx: click.Context, mode: str | None) -> None:
    """Counts and a sample of what a reset would delete now (deletes nothing)."""
    from store import reset as resets

    result = run(ctx, lambda: as_owner(ctx.obj["workspace"], resets.preview, mode))
    if ctx.obj["json"]:
        show(result, True)
        return
    click.echo(
        f"mode {result.mode}: {result.contacts} contacts, {result.identities} identities,"
        f" {result.messages} messages, {result.notes} notes"
    )
    for item in result.sample:
        click.echo(f"  #{item['id']}\t{item['name']}\t{item['email']}\t{item['phone']}")


@reset.command("enable")
@json_option
@click.argument("mode", type=click.Choice(["all", "tagged"]))
@click.pass_context
def enable(ctx: click.Context, mode: str) -> None:
    """Delete every contact (all) or those tagged with the reset tag (tagged) each month."""
    from store import reset as resets

    _show_status(ctx, run(ctx, lambda: as_owner(ctx.obj["workspace"], resets.set_mode, mode)))


@reset.command("disable")
@json_option
@click.pass_context
def disable(ctx: click.Context) -> None:
    """Turn the monthly reset off (at once)."""
    from store import reset as resets

    _show_status(ctx, run(ctx, lambda: as_owner(ctx.obj["workspace"], resets.set_mode, "off")))


@reset.command("time")
@json_option
@click.argument("local_time")
@click.pass_context
def at_time(ctx: click.Context, local_time: str) -> None:
    """Run the reset at LOCAL_TIME (HH:MM, workspace timezone) on the month's last day."""
    from store import reset as resets

    slug = ctx.obj["workspace"]
    _show_status(ctx, run(ctx, lambda: as_owner(slug, resets.set_time, local_time)))


@reset.command("run")
@json_option
@click.argument("mode", required=False, type=click.Choice(["all", "tagged"]))
@click.pass_context
def run_now(ctx: click.Context, mode: str | None) -> None:
    """Run this month's reset now (export first); resumes an interrupted or failed run."""
    from gateway.resets import config_of
    from store import reset as resets

    config = config_of(settings_of(ctx))
    result = run(ctx, lambda: as_owner(ctx.obj["workspace"], resets.run_now, config, mode))
    if ctx.obj["json"]:
        show(result, True)
    else:
        click.echo(run_line(asdict(result)))
    if result.state != "done":
        ctx.exit(1)


@click.command("events")
@click.argument("workspace_slug")
@click.option("--after", type=int, default=0, help="Only events after this id.")
@click.option("--limit", type=click.IntRange(1, 500), default=100)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def events_cmd(
    ctx: click.Context, workspace_slug: str, after: int, limit: int, as_json: bool
) -> None:
    """Notifications of a workspace: cap 80/100 %, reset soon/done/failed."""
    from store import events

    show_rows(
        run(ctx, lambda: as_owner(workspace_slug, events.list_events, after=after, limit=limit)),
        as_json,
        empty=f"no events in {workspace_slug}" + (f" after {after}" if after else ""),
        line=lambda e: (
            f"{e.id}\t{e.created_at:%Y-%m-%d %H:%M}\t{e.kind}\t{e.key}\t"
            + json.dumps(e.payload, ensure_ascii=False, default=str)
        ),
    )
