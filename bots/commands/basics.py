"""help, whoami, subscribe/unsubscribe (where notifications go), tags."""

from __future__ import annotations

from bots.core import Context, Reply, command, find, listed
from store import chat_admin, tags

OPEN_WITH = {
    "telegram": "Commands work as `/search ana` or `/contacts search ana`.",
    "slack": "Commands work as `/contacts search ana`.",
}


@command("help", role="agent", usage="help [command]", aliases=("start", "?"))
async def help_(ctx: Context, args: str) -> Reply:
    """List the commands you may use, or explain one."""
    if args.strip():
        found = find(args.split()[0], " ".join(args.split()[1:]))
        if found is None:
            return Reply(f"There is no command `{args.strip()}`. Send `help` for the list.")
        cmd = found[0]
        aliases = f" (also: {', '.join(cmd.aliases)})" if cmd.aliases else ""
        return Reply(f"`{cmd.usage}`{aliases}\n{cmd.help}\nRole: {cmd.role} or above.")
    lines = [f"*Commands for you ({ctx.binding.role} of {ctx.binding.workspace})*"]
    lines += [f"`{c.usage}`: {c.help}" for c in listed(ctx.binding.role)]
    lines.append(
        "Contacts: `#12`, a phone, an email, `@username`, or a name (quote several words)."
    )
    lines.append(OPEN_WITH.get(ctx.user.platform, ""))
    return Reply("\n".join(line for line in lines if line))


@command("whoami", role="agent", usage="whoami")
async def whoami(ctx: Context, args: str) -> Reply:
    """Show your workspace, role and chat user id."""
    b = ctx.binding
    name = f" ({b.name})" if b.name else ""
    return Reply(f"You are `{ctx.actor.name}`{name}: *{b.role}* of workspace *{b.workspace}*.")


@command("subscribe", role="admin", usage="subscribe", aliases=("here",))
async def subscribe(ctx: Context, args: str) -> Reply:
    """Post this workspace's notifications (plan cap, monthly reset) in this chat."""
    added = await chat_admin.add_chat(ctx.actor, ctx.user.platform, ctx.chat_id)
    if not added:
        return Reply("This chat already gets the notifications.")
    return Reply(
        f"This chat will get the notifications of *{ctx.binding.workspace}*: plan at 80 % and"
        " 100 %, reset coming, done or failed."
    )


@command("unsubscribe", role="admin", usage="unsubscribe")
async def unsubscribe(ctx: Context, args: str) -> Reply:
    """Stop posting notifications in this chat."""
    removed = await chat_admin.remove_chat(ctx.actor, ctx.user.platform, ctx.chat_id)
    return Reply("No more notifications here." if removed else "This chat got no notifications.")


@command("tags", role="agent", usage="tags")
async def list_tags(ctx: Context, args: str) -> Reply:
    """List the workspace's tags with how many contacts carry each."""
    found = await tags.list_tags(ctx.actor)
    if not found:
        return Reply("No tags yet.")
    return Reply("\n".join(["*Tags*", *(f"{t.name}: {t.contacts}" for t in found)]))
