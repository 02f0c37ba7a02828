"""tag, untag, borrar, note: what support staff do to one contact."""

from __future__ import annotations

from bots import render
from bots.core import Context, Reply, Usage, command
from bots.refs import contact_and_rest, one_contact, words
from store import notes, tags
from store.contacts import Contact


def _tagged(verb: str, contact: Contact, names: list[str]) -> Reply:
    now = ", ".join(render.plain(t) for t in contact.tags) or "none"
    return Reply(
        f"{verb} #{contact.id} {render.plain(contact.display_name)}: {', '.join(names)}."
        f" Tags now: {now}.",
        contact_id=contact.id,
    )


@command("tag", role="agent", usage='tag <contact> <tag> [tag…] (quote "two words")')
async def tag(ctx: Context, args: str) -> Reply:
    """Put tags on a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    names = tags.clean(words(rest))
    return _tagged("Tagged", await tags.add(ctx.actor, contact.id, names), names)


@command("untag", role="agent", usage="untag <contact> <tag> [tag…]")
async def untag(ctx: Context, args: str) -> Reply:
    """Take tags off a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    names = tags.clean(words(rest))
    return _tagged("Untagged", await tags.remove(ctx.actor, contact.id, names), names)


@command("borrar", role="agent", usage="borrar <contact>", aliases=("forget",))
async def borrar(ctx: Context, args: str) -> Reply:
    """Tag a contact for deletion at the monthly reset (the reset tag, `Borrar`)."""
    contact = await one_contact(ctx, args)
    tag_name = ctx.binding.reset_tag
    return _tagged("Tagged", await tags.add(ctx.actor, contact.id, [tag_name]), [tag_name])


@command("note", role="agent", usage="note <contact> <text>")
async def note(ctx: Context, args: str) -> Reply:
    """Add a note to a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    if not rest.strip():
        raise Usage("write the note after the contact")
    added = await notes.add(ctx.actor, contact.id, rest)
    return Reply(
        f"Note {added.id} added to #{contact.id} {render.plain(contact.display_name)}.",
        contact_id=contact.id,
    )
