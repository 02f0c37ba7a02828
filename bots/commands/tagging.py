"""tag, untag, borrar, note: what support staff do to one contact."""

from __future__ import annotations

from bots import render
from bots.core import Context, Reply, Usage, command
from bots.i18n import N_
from bots.refs import contact_and_rest, one_contact, words
from store import notes, reset, tags
from store.contacts import Contact


async def tagged(
    ctx: Context, before: Contact, after: Contact, names: list[str], *, added: bool
) -> Reply:
    """What really changed: the tags put on (or taken off), those it already had (or did not
    have), then the tags it has now; tagging the reset tag while the reset does not delete
    tagged contacts says that it does nothing yet."""
    had = {tags.key(t) for t in before.tags}
    changed = [n for n in names if (tags.key(n) in had) != added]
    same = [n for n in names if n not in changed]
    name = render.plain(after.display_name)
    said = []
    if changed:
        done = N_("Tagged #{id} {name}: {tags}.") if added else N_("Untagged #{id} {name}: {tags}.")
        said.append(ctx._(done, id=after.id, name=name, tags=", ".join(changed)))
    if same:
        shown = ", ".join(render.plain(t) for t in same)
        if added:
            said.append(ctx.n_("#{id} {name} already had the tag {tags}.",
                               "#{id} {name} already had the tags {tags}.", len(same),
                               id=after.id, name=name, tags=shown))  # fmt: skip
        else:
            said.append(ctx.n_("#{id} {name} did not have the tag {tags}.",
                               "#{id} {name} did not have the tags {tags}.", len(same),
                               id=after.id, name=name, tags=shown))  # fmt: skip
    now = ", ".join(render.plain(t) for t in after.tags) or ctx._("none")
    said.append(ctx._("Tags now: {tags}.", tags=now))
    reset_tag = tags.key(ctx.binding.reset_tag)
    changed_keys = {tags.key(n) for n in changed}
    if added and reset_tag in changed_keys and not await reset.tag_in_use(ctx.actor):
        enable = ctx.typed("reset enable") + " " + ctx._("tagged")
        said.append(ctx._(
            "The {tag} tag does nothing until the monthly reset is enabled for tagged"
            " contacts (`{command}`).",
            tag=ctx.binding.reset_tag, command=enable,
        ))  # fmt: skip
    return Reply(" ".join(said), contact_id=after.id)


@command(
    "tag", es="etiquetar", role="agent", usage=N_('<contact> <tag> [tag…] (quote "two words")'),
    group="tag", brief=N_("Put tags on a contact"),
)  # fmt: skip
async def tag(ctx: Context, args: str) -> Reply:
    """Put tags on a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    names = tags.clean(words(rest))
    return await tagged(ctx, contact, await tags.add(ctx.actor, contact.id, names), names,
                        added=True)  # fmt: skip


@command(
    "untag", es="desetiquetar", role="agent", usage=N_("<contact> <tag> [tag…]"), group="tag",
    brief=N_("Take tags off a contact"), aliases=("quitar",),
)  # fmt: skip
async def untag(ctx: Context, args: str) -> Reply:
    """Take tags off a contact."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    names = tags.clean(words(rest))
    return await tagged(ctx, contact, await tags.remove(ctx.actor, contact.id, names), names,
                        added=False)  # fmt: skip


@command(
    "borrar", es="borrar", role="agent", usage=N_("<contact>"), group="tag",
    brief=N_("Mark a contact for deletion at the monthly reset"), aliases=("forget",),
)  # fmt: skip
async def borrar(ctx: Context, args: str) -> Reply:
    """Tag a contact for deletion at the monthly reset (the reset tag, `Borrar`)."""
    contact = await one_contact(ctx, args)
    tag_name = ctx.binding.reset_tag
    after = await tags.add(ctx.actor, contact.id, [tag_name])
    return await tagged(ctx, contact, after, [tag_name], added=True)


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
