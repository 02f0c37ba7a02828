"""view list|run|save|delete: saved filters."""

from __future__ import annotations

import orjson

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons, filter_value, page_reply
from bots.core import COMMANDS, Context, Reply, Usage, command
from bots.i18n import N_
from bots.pressing import on_pending
from bots.refs import words
from store import views
from store.bot_actions import PendingAction
from store.errors import Conflict

SUBCOMMANDS = ("view list", "view run", "view save", "view delete")


def _name(ctx: Context, args: str) -> str:
    found = words(args)
    if len(found) != 1:
        raise Usage(ctx._('name one view (quote a name of several words: "VIP EC")'))
    return found[0]


def _name_and_rest(ctx: Context, args: str) -> tuple[str, str]:
    args = args.strip()
    if args[:1] in ('"', "“"):
        close = max(args.find('"', 1), args.find("”", 1))
        if close < 0:
            raise Usage(ctx._("a quoted view name needs its closing quote"))
        return args[1:close].strip(), args[close + 1 :].strip()
    name, _, rest = args.partition(" ")
    return name, rest.strip()


@command(
    "view", es="vista", role="agent", usage="", group="find",
    brief=N_("Saved views: list, run, save, delete"), aliases=("views", "vistas"),
)  # fmt: skip
async def view(ctx: Context, args: str) -> Reply:
    """Saved views: list them, run one, save or delete one."""
    if not args.strip():
        return await view_list(ctx, "")
    use = ", ".join(f"`{ctx.usage(COMMANDS[name])}`" for name in SUBCOMMANDS)
    raise Usage(ctx._("unknown view subcommand {word}; use {use}", word=repr(args.split()[0]),
                      use=use))  # fmt: skip


@command(
    "view list", es="vista lista", role="agent", usage="", group="find",
    brief=N_("The saved views"),
)  # fmt: skip
async def view_list(ctx: Context, args: str) -> Reply:
    """List the saved views."""
    found = await views.list_views(ctx.actor)
    if not found:
        save = ctx.usage(COMMANDS["view save"])
        return Reply(ctx._("No saved views yet. Save one: `{usage}`.", usage=save))
    lines = [ctx._("*Saved views*")]
    for v in found:
        dumped = orjson.dumps(v.filter, option=orjson.OPT_SORT_KEYS).decode() if v.filter else None
        shown = render.snippet(dumped, 200) if dumped else ctx._("all")
        lines.append(ctx._("*{name}*: `{filter}` sorted {sort}", name=render.plain(v.name),
                           filter=shown, sort=v.sort))  # fmt: skip
    return Reply("\n".join(lines))


@command(
    "view run", es="vista usar", role="agent", usage=N_("<name>"), group="find",
    brief=N_("The contacts of a saved view"),
)  # fmt: skip
async def view_run(ctx: Context, args: str) -> Reply:
    """List the contacts of a saved view, in its sort."""
    name = _name(ctx, args)
    await views.get(ctx.actor, name)  # NotFound before anything else
    title = ctx._("View *{name}*", name=render.plain(name))
    return await page_reply(ctx, {"title": title, "view": name})


@command(
    "view save", es="vista guardar", role="admin", usage=N_("<name> <filter>"), group="find",
    brief=N_("Save a filter under a name"),
)  # fmt: skip
async def view_save(ctx: Context, args: str) -> Reply:
    """Save a filter under a name (asks before replacing one)."""
    name, rest = _name_and_rest(ctx, args)
    expr = filter_value(rest)
    if not name or expr is None:
        raise Usage(ctx._("give the view a name and a filter"))
    try:
        saved = await views.save(ctx.actor, name, filter=expr)
    except Conflict:
        pid = await ctx.remember("view", {"name": name, "filter": expr}, SHORT_TTL)
        return Reply(
            ctx._("A view named *{name}* exists. Replace it?", name=render.plain(name)),
            confirm_buttons(ctx, pid, ctx._("Replace")),
        )
    run = f"{ctx.typed('view run')} {saved.name}"
    return Reply(ctx._("Saved view *{name}*. Run it: `{run}`.", name=render.plain(saved.name),
                       run=run))  # fmt: skip


@on_pending("view", role="admin", once=True)
async def confirm_replace(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Replace a view after confirmation."""
    p = action.payload
    saved = await views.save(ctx.actor, p["name"], filter=p["filter"], replace=True)
    return Reply(ctx._("Replaced view *{name}*.", name=render.plain(saved.name)), replace=True)


@command(
    "view delete", es="vista eliminar", role="admin", usage=N_("<name>"), group="find",
    brief=N_("Delete a saved view"),
)  # fmt: skip
async def view_delete(ctx: Context, args: str) -> Reply:
    """Delete a saved view."""
    name = _name(ctx, args)
    await views.delete(ctx.actor, name)
    return Reply(ctx._("Deleted view *{name}*.", name=render.plain(name)))
