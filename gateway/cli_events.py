"""`contactgate events`: the workspace's notifications (as before) and its event subscriptions.

`events WORKSPACE` still lists notifications (it is `events notifications WORKSPACE`); the
subscriptions of events out are `events subscribe | list | remove | rotate WORKSPACE …`.
"""

from __future__ import annotations

from typing import Any

import click

from gateway.cli_common import as_owner, run, show, show_rows
from gateway.cli_reset import events_cmd
from store import subscriptions
from store.outbox import TYPES
from store.serial import plain


class EventsGroup(click.Group):
    """A group whose unknown first word is a workspace: `events acme` = `events notifications
    acme` (the command's grammar before subscriptions existed)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["notifications", *args]
        return super().parse_args(ctx, args)


@click.group("events", cls=EventsGroup)
def events() -> None:
    """Notifications of a workspace, and the subscriptions its events are sent to."""


events.add_command(events_cmd, "notifications")


@events.command("subscribe")
@click.argument("workspace_slug")
@click.argument("url")
@click.option("--type", "types", multiple=True, type=click.Choice(TYPES), help="Repeatable.")
@click.option("--description", default="")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def subscribe(
    ctx: click.Context,
    workspace_slug: str,
    url: str,
    types: tuple[str, ...],
    description: str,
    as_json: bool,
) -> None:
    """Send the workspace's events (every type unless --type) to URL; prints its secret once."""
    made, secret = run(
        ctx, lambda: as_owner(workspace_slug, subscriptions.create, url, types, description)
    )
    show({**plain(made), "secret": secret}, as_json)


@events.command("list")
@click.argument("workspace_slug")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_cmd(ctx: click.Context, workspace_slug: str, as_json: bool) -> None:
    """The workspace's event subscriptions (never their secrets)."""
    show_rows(
        run(ctx, lambda: as_owner(workspace_slug, subscriptions.list_subscriptions)),
        as_json,
        empty=f"no event subscriptions in {workspace_slug}",
        line=_line,
        record=plain,
    )


def _line(s: Any) -> str:
    state = "active" if s.active else f"disabled {s.disabled_at:%Y-%m-%d %H:%M}"
    return f"{s.id}\t{s.url}\t{','.join(s.types) or 'all types'}\t{state}"


@events.command("remove")
@click.argument("workspace_slug")
@click.argument("subscription_id", type=int)
@click.pass_context
def remove(ctx: click.Context, workspace_slug: str, subscription_id: int) -> None:
    """Delete a subscription and its queued events."""
    gone = run(ctx, lambda: as_owner(workspace_slug, subscriptions.remove, subscription_id))
    click.echo(f"removed event subscription {gone.id} ({gone.url})")


@events.command("rotate")
@click.argument("workspace_slug")
@click.argument("subscription_id", type=int)
@click.pass_context
def rotate(ctx: click.Context, workspace_slug: str, subscription_id: int) -> None:
    """A new signing secret (printed once); the old one signs beside it for 24 hours."""
    secret, until = run(
        ctx, lambda: as_owner(workspace_slug, subscriptions.rotate, subscription_id)
    )
    click.echo(f"secret: {secret}\nprevious secret valid until: {until:%Y-%m-%d %H:%M} UTC")
