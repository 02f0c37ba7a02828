"""view list|run|save|delete: saved filters."""

from __future__ import annotations

import orjson

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons, filter_value, page_reply
from bots.core import Context, Reply, Usage, command
from bots.pressing import on_pending
from bots.refs import words
from store import views
from store.bot_actions import PendingAction
from store.errors import Conflict

SUBCOMMANDS = "`view list`, `view run <name>`, `view save <name> <filter>`, `view delete <name>`"


def _name(args: str) -> str:
    found = words(args)
    if len(found) != 1:
        raise Usage('name one view (quote a name of several words: "VIP EC")')
    return found[0]


def _name_and_rest(args: str) -> tuple[str, str]:
    args = args.strip()
    if args[:1] in ('"', "“"):
        close = max(args.find('"', 1), args.find("”", 1))
        if close < 0:
            raise Usage("a quoted view name needs its closing quote")
        return args[1:close].strip(), args[close + 1 :].strip()
    name, _, rest = args.partition(" ")
    return name, rest.strip()


@command("view", role="agent", usage="view list|run|save|delete …", aliases=("views",))
async def view(ctx: Context, args: str) -> Reply:
    """Saved views: list them, run one, save or delete one."""
    if not args.strip():
        return await view_list(ctx, "")
    raise Usage(f"unknown view subcommand {args.split()[0]!r}; use {SUBCOMMANDS}")


@command("view list", role="agent", usage="view list")
async def view_list(ctx: Context, args: str) -> Reply:
    """List the saved views."""
    found = await views.list_views(ctx.actor)
    if not found:
        return Reply("No saved views yet. Save one: `view save <name> <filter>`.")
    lines = ["*Saved views*"]
    for v in found:
        shown = orjson.dumps(v.filter, option=orjson.OPT_SORT_KEYS).decode() if v.filter else "all"
        lines.append(f"*{render.plain(v.name)}*: `{render.snippet(shown, 200)}` sorted {v.sort}")
    return Reply("\n".join(lines))


@command("view run", role="agent", usage="view run <name>")
async def view_run(ctx: Context, args: str) -> Reply:
    """List the contacts of a saved view, in its sort."""
    name = _name(args)
    await views.get(ctx.actor, name)  # NotFound before anything else
    return await page_reply(ctx, {"title": f"View *{render.plain(name)}*", "view": name})


@command("view save", role="admin", usage="view save <name> <filter>")
async def view_save(ctx: Context, args: str) -> Reply:
    """Save a filter under a name (asks before replacing one)."""
    name, rest = _name_and_rest(args)
    expr = filter_value(rest)
    if not name or expr is None:
        raise Usage("give the view a name and a filter")
    try:
        saved = await views.save(ctx.actor, name, filter=expr)
    except Conflict:
        pid = await ctx.remember("view", {"name": name, "filter": expr}, SHORT_TTL)
        return Reply(
            f"A view named *{render.plain(name)}* exists. Replace it?",
            confirm_buttons(ctx, pid, "Replace"),
        )
    return Reply(f"Saved view *{render.plain(saved.name)}*. Run it: `view run {saved.name}`.")


@on_pending("view", role="admin", once=True)
async def confirm_replace(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Replace a view after confirmation."""
    p = action.payload
    saved = await views.save(ctx.actor, p["name"], filter=p["filter"], replace=True)
    return Reply(f"Replaced view *{render.plain(saved.name)}*.", replace=True)


@command("view delete", role="admin", usage="view delete <name>")
async def view_delete(ctx: Context, args: str) -> Reply:
    """Delete a saved view."""
    name = _name(args)
    await views.delete(ctx.actor, name)
    return Reply(f"Deleted view *{render.plain(name)}*.")
