"""tag, untag, borrar, note: what support staff do to one contact."""

from __future__ import annotations

from bots import render
from bots.core import Context, Reply, Usage, command
from bots.i18n import N_
from bots.refs import contact_and_rest, one_contact, words
from store import notes, tags
from store.contacts import Contact


def _tagged(ctx: Context, done: str, contact: Contact, names: list[str]) -> Reply:
    """`done` names what happened (`Tagged #{id} {name}: {tags}.`); then the tags it has now."""
    now = ", ".join(render.plain(t) for t in contact.tags) or ctx._("none")
    said = ctx._(
        done, id=contact.id, name=render.plain(contact.display_name), tags=", ".join(names)
    )
    return Reply(said + " " + ctx._("Tags now: {tags}.", tags=now), contact_id=contact.id)


@command(
    "tag", es="etiquetar", role="agent", usage=N_('<contact> <tag> [tag…] (quote "two words")'),
    group="tag", brief=N_("Put tags on a contact"),
)  # fmt: skip
async def tag(ctx: Context, args: str) -> Reply:
    """Put tags on a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    names = tags.clean(words(rest))
    done = N_("Tagged #{id} {name}: {tags}.")
    return _tagged(ctx, done, await tags.add(ctx.actor, contact.id, names), names)


@command(
    "untag", es="desetiquetar", role="agent", usage=N_("<contact> <tag> [tag…]"), group="tag",
    brief=N_("Take tags off a contact"), aliases=("quitar",),
)  # fmt: skip
async def untag(ctx: Context, args: str) -> Reply:
    """Take tags off a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    names = tags.clean(words(rest))
    done = N_("Untagged #{id} {name}: {tags}.")
    return _tagged(ctx, done, await tags.remove(ctx.actor, contact.id, names), names)


@command(
    "borrar", es="borrar", role="agent", usage=N_("<contact>"), group="tag",
    brief=N_("Mark a contact for deletion at the monthly reset"), aliases=("forget",),
)  # fmt: skip
async def borrar(ctx: Context, args: str) -> Reply:
    """Tag a contact for deletion at the monthly reset (the reset tag, `Borrar`)."""
    contact = await one_contact(ctx, args)
    tag_name = ctx.binding.reset_tag
    tagged = await tags.add(ctx.actor, contact.id, [tag_name])
    return _tagged(ctx, N_("Tagged #{id} {name}: {tags}."), tagged, [tag_name])


@command(
    "note", es="nota", role="agent", usage=N_("<contact> <text>"), group="tag",
    brief=N_("Add a note to a contact"),
)  # fmt: skip
async def note(ctx: Context, args: str) -> Reply:
    """Add a note to a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    if not rest.strip():
        raise Usage(ctx._("write the note after the contact"))
    added = await notes.add(ctx.actor, contact.id, rest)
    text = ctx._("Note {note} added to #{id} {name}.", note=added.id, id=contact.id,
                 name=render.plain(contact.display_name))  # fmt: skip
    return Reply(text, contact_id=contact.id)
