"""search, show, filter, delete: finding and reading contacts, deleting one (confirmed)."""

from __future__ import annotations

from dataclasses import replace

from bots import render
from bots.buttons import LONG_TTL, SHORT_TTL
from bots.commands.common import confirm_buttons, filter_value, page_reply
from bots.commands.tagging import tagged
from bots.core import Button, Context, Reply, Usage, command
from bots.i18n import N_
from bots.pressing import on_button, on_pending
from bots.refs import one_contact
from store import contacts, messages, notes, tags
from store.bot_actions import PendingAction
from store.contacts import Contact
from store.refs import contact_id_of

LAST_MESSAGES = 5
LAST_NOTES = 5


@command(
    "search", es="buscar", role="agent", usage=N_("<words, phone or email>"), group="find",
    brief=N_("Find contacts by any field, tag or channel"), aliases=("s", "find"),
)  # fmt: skip
async def search(ctx: Context, args: str) -> Reply:
    """Find contacts by any field, tag or channel (accents and case do not matter)."""
    if not args.strip():
        raise Usage(ctx._("say what to search for"))
    title = ctx._("Search `{words}`", words=args.strip())
    return await page_reply(ctx, {"title": title, "q": args.strip()})


@command(
    "filter", es="filtrar", role="agent", usage=N_("<expression>"), group="find",
    brief=N_("Count and list the contacts matching a filter"), aliases=("f",),
)  # fmt: skip
async def filter_(ctx: Context, args: str) -> Reply:
    """Count and list the contacts matching a filter, e.g. `tag:vip country:EC last_in<30d`."""
    expr = filter_value(args)
    if expr is None:
        raise Usage(ctx._("give a filter expression"))
    title = ctx._("Filter `{expression}`", expression=args.strip())
    return await page_reply(ctx, {"title": title, "filter": expr})


@command(
    "show", es="mostrar", role="agent", usage=N_("<contact>"), group="find",
    brief=N_("A contact's fields, channels, tags, messages and notes"), aliases=("card", "ver"),
)  # fmt: skip
async def show(ctx: Context, args: str) -> Reply:
    """Show a contact: fields, channels, tags, last messages and notes."""
    contact = await one_contact(ctx, args)
    shown = await card(ctx, contact)
    asked = args.strip().removeprefix("#")
    if args.strip().startswith("#") and asked.isascii() and asked.isdigit():
        merged_away = int(asked) != contact.id  # say so, not silently show another card
        if merged_away:
            said = ctx._("#{asked} was merged into #{id}.", asked=asked, id=contact.id)
            return replace(shown, text=said + "\n" + shown.text)
    return shown


async def card(ctx: Context, contact: Contact) -> Reply:
    """A contact card with the buttons the user's role allows."""
    recent = await messages.list_messages(ctx.actor, contact.id, limit=LAST_MESSAGES)
    written = (await notes.list_notes(ctx.actor, contact.id))[:LAST_NOTES]
    shown: list[Button] = []
    if tags.key(ctx.binding.reset_tag) not in {tags.key(t) for t in contact.tags}:
        shown.append(
            ctx.button(
                ctx._("Tag {tag}", tag=ctx.binding.reset_tag), f"borrar:{contact.id}", ttl=LONG_TTL
            )
        )
    if ctx.allows("admin"):
        shown.append(ctx.button(ctx._("Delete…"), f"del:{contact.id}", "danger", ttl=LONG_TTL))
    text = render.contact_card(ctx.lang, contact, recent.messages, written)
    return Reply(text, tuple(shown), contact_id=contact.id)


@on_button("show", role="agent")
async def show_button(ctx: Context, args: list[str]) -> Reply:
    """The card of the contact a button names."""
    return await card(ctx, await contacts.get(ctx.actor, contact_id_of(args[0])))


@on_button("borrar", role="agent")
async def borrar_button(ctx: Context, args: list[str]) -> Reply:
    """Tag the contact a button names for the monthly reset."""
    before = await contacts.get(ctx.actor, contact_id_of(args[0]))
    after = await tags.add(ctx.actor, before.id, [ctx.binding.reset_tag])
    return await tagged(ctx, before, after, [ctx.binding.reset_tag], added=True)


@command(
    "delete", es="eliminar", role="admin", usage=N_("<contact>"), group="merge",
    brief=N_("Delete a contact with its messages, notes and tags"), aliases=("rm",),
)  # fmt: skip
async def delete(ctx: Context, args: str) -> Reply:
    """Delete a contact with its messages, notes and tags (asks first)."""
    return await ask_delete(ctx, await one_contact(ctx, args))


@on_button("del", role="admin")
async def delete_button(ctx: Context, args: list[str]) -> Reply:
    """Ask to delete the contact a button names."""
    return await ask_delete(ctx, await contacts.get(ctx.actor, contact_id_of(args[0])))


async def ask_delete(ctx: Context, contact: Contact) -> Reply:
    """The delete confirmation."""
    name = render.plain(contact.display_name)
    pid = await ctx.remember("delete", {"id": contact.id, "name": name}, SHORT_TTL)
    return Reply(
        ctx._(
            "Delete *#{id} {name}* with all its messages, notes and tags? This cannot be undone.",
            id=contact.id,
            name=name,
        ),
        confirm_buttons(ctx, pid, ctx._("Delete"), "danger"),
    )


@on_pending("delete", role="admin", once=True)
async def confirm_delete(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Delete the contact a confirmation names."""
    deleted = await contacts.delete(ctx.actor, int(action.payload["id"]))
    return Reply(
        ctx._("Deleted #{id} {name}.", id=deleted, name=action.payload["name"]), replace=True
    )
