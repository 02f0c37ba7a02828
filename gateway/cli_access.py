"""`contactgate admin …` and `contactgate token …`: who may act on a workspace, from chat (bound
Slack/Telegram users and the chats notified) and from the REST API (bearer tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gateway.cli_common import as_owner, run, show_rows

if TYPE_CHECKING:
    from store.tokens import TokenInfo

PLATFORM = click.Choice(["slack", "telegram"])
ROLE = click.Choice(["agent", "admin", "owner"])


@click.group()
def admin() -> None:
    """Bind chat users to workspace roles: add, list, remove; chat add."""


@admin.command("add")
@click.argument("workspace_slug")
@click.argument("platform", type=PLATFORM)
@click.argument("user")
@click.argument("role", type=ROLE)
@click.option("--name", default="")
@click.pass_context
def admin_add(
    ctx: click.Context, workspace_slug: str, platform: str, user: str, role: str, name: str
) -> None:
    """Bind USER (Slack TEAM:USER, Telegram user id) with ROLE."""
    from store.setup import bind_admin

    run(ctx, lambda: bind_admin(workspace_slug, platform, user, role, name=name))
    click.echo(f"{platform} user {user} is {role} of {workspace_slug}")


@admin.command("list")
@click.argument("workspace_slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def admin_list(ctx: click.Context, workspace_slug: str, as_json: bool) -> None:
    """List the chat users bound to a workspace: platform, user, role, name."""
    from store.setup import list_admins

    show_rows(
        run(ctx, lambda: list_admins(workspace_slug)),
        as_json,
        empty=f"no chat users bound to {workspace_slug}",
        line=lambda a: f"{a.platform}\t{a.user}\t{a.role}\t{a.name}".rstrip(),
    )


@admin.command("remove")
@click.argument("workspace_slug")
@click.argument("platform", type=PLATFORM)
@click.argument("user")
@click.pass_context
def admin_remove(ctx: click.Context, workspace_slug: str, platform: str, user: str) -> None:
    """Unbind USER: the admin bots no longer answer them for this workspace."""
    from store.setup import remove_admin

    run(ctx, lambda: as_owner(workspace_slug, remove_admin, platform, user))
    click.echo(f"{platform} user {user} is no longer bound to {workspace_slug}")


@admin.group("chat")
def admin_chat() -> None:
    """Chats where a workspace's notifications are posted."""


@admin_chat.command("add", context_settings={"ignore_unknown_options": True})  # -100…: groups
@click.argument("workspace_slug")
@click.argument("platform", type=PLATFORM)
@click.argument("chat_id")
@click.pass_context
def admin_chat_add(ctx: click.Context, workspace_slug: str, platform: str, chat_id: str) -> None:
    """Post the notifications (plan cap, monthly reset) in CHAT_ID (Slack channel id,
    Telegram chat id)."""
    from store.chat_admin import add_chat_for

    added = run(ctx, lambda: add_chat_for(workspace_slug, platform, chat_id))
    state = "now gets" if added else "already got"
    click.echo(f"{platform} chat {chat_id} {state} the notifications of {workspace_slug}")


@click.group()
def token() -> None:
    """API tokens: create, list, revoke."""


@token.command("create")
@click.argument("workspace_slug")
@click.argument("name")
@click.option("--role", type=ROLE, required=True)
@click.pass_context
def token_create(ctx: click.Context, workspace_slug: str, name: str, role: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    from store.tokens import create_token

    click.echo(run(ctx, lambda: create_token(workspace_slug, name, role)))


@token.command("list")
@click.argument("workspace_slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_list(ctx: click.Context, workspace_slug: str, as_json: bool) -> None:
    """List a workspace's tokens: name, role, created, last used, revoked (never the token)."""
    from store.tokens import list_tokens

    show_rows(
        run(ctx, lambda: list_tokens(workspace_slug)),
        as_json,
        empty=f"no tokens in {workspace_slug}",
        line=_token_line,
    )


def _token_line(t: TokenInfo) -> str:
    used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
    state = f"\trevoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else ""
    return f"{t.name}\t{t.role}\tcreated {t.created_at:%Y-%m-%d %H:%M}\tused {used}{state}"


@token.command("revoke")
@click.argument("workspace_slug")
@click.argument("name")
@click.pass_context
def token_revoke(ctx: click.Context, workspace_slug: str, name: str) -> None:
    """Revoke the live tokens named NAME: the API refuses them from the next request."""
    from store.tokens import revoke_token

    count = run(ctx, lambda: as_owner(workspace_slug, revoke_token, name))
    click.echo(f"revoked {count} token{'s' if count != 1 else ''} named {name}")
