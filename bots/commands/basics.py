"""help, whoami, idioma/lang, subscribe/unsubscribe (where notifications go), tags."""

from __future__ import annotations

from bots.core import Command, Context, Reply, Usage, command, find, listed
from bots.i18n import N_, code_of, lang
from bots.registry import GROUPS, ROLE_NAMES
from store import chat_admin, tags


@command(
    "help", es="ayuda", role="agent", usage=N_("[command]"), group="general",
    brief=N_("The commands you may use, or how to use one"), aliases=("start", "?"),
)  # fmt: skip
async def help_(ctx: Context, args: str) -> Reply:
    """List the commands you may use, grouped by what they do, or explain one."""
    if args.strip():
        return one_help(ctx, args)
    role = ctx._(ROLE_NAMES[ctx.binding.role])
    lines = [ctx._("*Commands for you ({role} of {workspace})*", role=role,
                   workspace=ctx.binding.workspace)]  # fmt: skip
    mine = shown(ctx.binding.role)
    for group, title in GROUPS.items():
        inside = [c for c in mine if c.group == group]
        if inside:
            lines.append(f"\n*{ctx._(title)}*")
            lines += [f"`{ctx.usage(c)}`: {ctx._(c.brief)}" for c in inside]
    lines.append("")
    lines.append(ctx._("Contacts: `#12`, a phone, an email, `@username`, or a name (quote several"
                       " words)."))  # fmt: skip
    lines.append(ctx._("`{help}` explains one command.", help=ctx.usage(help_command())))
    return Reply("\n".join(lines))


def help_command() -> Command:
    return find("help", "")[0]  # type: ignore[index]


def shown(role: str) -> list[Command]:
    """The commands a role may run, each once: a command with subcommands is listed by them."""
    mine = listed(role)
    parents = {c.name.split()[0] for c in mine if " " in c.name}
    return [c for c in mine if c.name not in parents]


def one_help(ctx: Context, args: str) -> Reply:
    """How to use one command: its usage as typed here, its names, its role."""
    found = find(args.split()[0], " ".join(args.split()[1:]))
    if found is None:
        return Reply(ctx._("There is no command `{name}`. Send `{help}` for the list.",
                           name=args.strip(), help=ctx.typed("help")))  # fmt: skip
    cmd = found[0]
    names = ", ".join(dict.fromkeys((cmd.name, cmd.es, *cmd.aliases)))
    role = ctx._(ROLE_NAMES[cmd.role])
    return Reply(
        ctx._(
            "`{usage}`\n{brief}\nNames: {names}. Role: {role} or above.",
            usage=ctx.usage(cmd),
            brief=ctx._(cmd.brief),
            names=names,
            role=role,
        )
    )


@command(
    "whoami", es="quiensoy", role="agent", usage="", group="general",
    brief=N_("Your workspace, role, language and chat user id"),
)  # fmt: skip
async def whoami(ctx: Context, args: str) -> Reply:
    """Show your workspace, role and chat user id."""
    b = ctx.binding
    name = f" ({b.name})" if b.name else ""
    return Reply(ctx._("You are `{user}`{name}: *{role}* of workspace *{workspace}*.",
                       user=ctx.actor.name, name=name, role=ctx._(ROLE_NAMES[b.role]),
                       workspace=b.workspace))  # fmt: skip


@command(
    "lang", es="idioma", role="agent", usage="es|en|auto", group="general",
    brief=N_("Choose the language I answer you in"), aliases=("language",),
)  # fmt: skip
async def language(ctx: Context, args: str) -> Reply:
    """Pin your own language (`es`, `en`), or `auto` to follow your app's."""
    choice = args.strip().lower()
    if choice in ("auto", "automatico", "automático"):
        await chat_admin.pin_language(ctx.actor, ctx.user.platform, ctx.user.user_id, None)
        told = lang(code_of(ctx.heard) or ctx.binding.language, ctx.lang.timezone)
        return Reply(told._("I will answer in your app's language (else the workspace's)."))
    code = code_of(choice)
    if code is None:
        raise Usage(ctx._("say es or en"))
    await chat_admin.pin_language(ctx.actor, ctx.user.platform, ctx.user.user_id, code)
    told = lang(code, ctx.lang.timezone)
    return Reply(told._("From now on I answer you in English."))


@command(
    "subscribe", es="suscribir", role="admin", usage="", group="plan",
    brief=N_("Get plan and reset notifications in this chat"), aliases=("here", "aqui"),
)  # fmt: skip
async def subscribe(ctx: Context, args: str) -> Reply:
    """Post this workspace's notifications (plan cap, monthly reset) in this chat."""
    added = await chat_admin.add_chat(ctx.actor, ctx.user.platform, ctx.chat_id)
    if not added:
        return Reply(ctx._("This chat already gets the notifications."))
    return Reply(
        ctx._(
            "This chat will get the notifications of *{workspace}*: plan at 80 % and"
            " 100 %, reset coming, done or failed.",
            workspace=ctx.binding.workspace,
        )
    )


@command(
    "unsubscribe", es="desuscribir", role="admin", usage="", group="plan",
    brief=N_("Stop the notifications in this chat"),
)  # fmt: skip
async def unsubscribe(ctx: Context, args: str) -> Reply:
    """Stop posting notifications in this chat."""
    removed = await chat_admin.remove_chat(ctx.actor, ctx.user.platform, ctx.chat_id)
    if removed:
        return Reply(ctx._("No more notifications here."))
    return Reply(ctx._("This chat got no notifications."))


@command(
    "tags", es="etiquetas", role="agent", usage="", group="tag",
    brief=N_("The workspace's tags, with how many contacts carry each"),
)  # fmt: skip
async def list_tags(ctx: Context, args: str) -> Reply:
    """List the workspace's tags with how many contacts carry each."""
    found = await tags.list_tags(ctx.actor)
    if not found:
        return Reply(ctx._("No tags yet."))
    lines = [f"{t.name}: {ctx.lang.number(t.contacts)}" for t in found]
    return Reply("\n".join([ctx._("*Tags*"), *lines]))
