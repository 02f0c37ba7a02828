"""data, erase, audit: a person's data as a file, their erasure (confirmed), their history."""

from __future__ import annotations

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons
from bots.commands.files import MAX_EXPORT
from bots.core import Context, OutFile, Reply, command
from bots.i18n import N_
from bots.pressing import on_pending
from bots.refs import one_contact
from store import audit_log
from store.audit_log import AuditLine, AuditQuery
from store.bot_actions import PendingAction
from store.errors import Invalid
from store.person import data
from store.person.erase import erase as erase_person
from store.person.erase import preview
from store.setup import list_admins

LAST_CHANGES = 15
ERASED = {  # what an erasure counts, in words
    "contacts": N_("contacts"), "identities": N_("channel identities"),
    "messages": N_("messages"), "notes": N_("notes"), "tag_links": N_("tags"),
    "merge_records": N_("merge records"), "held_messages": N_("held messages"),
    "message_parts": N_("message parts"), "audit_lines_scrubbed": N_("audit lines scrubbed"),
}  # fmt: skip
SURFACES = {"telegram": "Telegram", "slack": "Slack", "api": "API", "cli": "CLI"}
ACTIONS = {  # audit actions on a contact, as the history says them
    "contact.create": N_("created the contact"), "contact.update": N_("changed {fields}"),
    "contact.merge": N_("merged contacts"), "contact.unmerge": N_("undid a merge"),
    "contact.data": N_("downloaded the person's data"), "message.send": N_("sent a message"),
    "note.add": N_("added a note"), "note.delete": N_("deleted a note"),
    "tag.add": N_("tagged {tags}"), "tag.remove": N_("untagged {tags}"),
    "bot.refused": N_("was refused"),
}  # fmt: skip


@command(
    "data", es="datos", role="admin", usage=N_("<contact>"), group="files",
    brief=N_("Everything stored about a person, as a ZIP file"),
)  # fmt: skip
async def data_(ctx: Context, args: str) -> Reply:
    """Everything stored about a person (and those merged into them) as one ZIP file: profile,
    messages, held messages, audit lines."""
    contact = await one_contact(ctx, args)
    pieces = []
    size = 0
    async for piece in data.archive(ctx.actor, contact.id):
        pieces.append(piece)
        size += len(piece)
        if size > MAX_EXPORT:
            raise Invalid(ctx._("the archive is too large for a chat file; use `contactgate"
                                " contact data` or the API"))  # fmt: skip
    name = render.plain(contact.display_name)
    text = ctx._("Everything stored about #{id} {name}.", id=contact.id, name=name)
    word = ctx._("data")  # the file's name: datos-12.zip
    file = OutFile(f"{word}-{contact.id}.zip", b"".join(pieces), "application/zip", text)
    return Reply(text, file=file, contact_id=contact.id)


@command(
    "erase", es="olvidar", role="admin", usage=N_("<contact>"), group="merge",
    brief=N_("Erase a person and everything of theirs (right to be forgotten)"),
)  # fmt: skip
async def erase(ctx: Context, args: str) -> Reply:
    """Erase a person, everyone merged into them and all of their data, and scrub their values
    from the audit log (asks first)."""
    contact = await one_contact(ctx, args)
    who, names = await preview(ctx.actor, contact.id)
    merged = [f"#{i} {render.plain(n)}" for i, n in names if i != who.contact.id]
    name = render.plain(who.contact.display_name)
    also = " " + ctx._("and those merged into them ({names})", names=", ".join(merged))
    count = len(who.family)
    pid = await ctx.remember(
        "erase", {"id": who.contact.id, "count": count, "name": name}, SHORT_TTL
    )
    text = ctx.n_(
        "Erase *#{id} {name}*{also}? This deletes {n} contact and everything of theirs, and"
        " scrubs their details from the audit log. This cannot be undone.",
        "Erase *#{id} {name}*{also}? This deletes {n} contacts and everything of theirs, and"
        " scrubs their details from the audit log. This cannot be undone.",
        count, id=who.contact.id, name=name, also=also if merged else "",
    )  # fmt: skip
    return Reply(text, confirm_buttons(ctx, pid, ctx._("Erase"), "danger"))


@on_pending("erase", role="admin", once=True)
async def confirm_erase(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Erase the person a confirmation names, if still the same people."""
    done = await erase_person(ctx.actor, int(action.payload["id"]), int(action.payload["count"]))
    kinds = [f"{ctx._(ERASED.get(k, k))}: {ctx.lang.number(n)}" for k, n in done.erased.items()]
    text = ctx._("Erased #{id} {name}: {what}.", id=done.contact_id, name=action.payload["name"],
                 what="; ".join(kinds))  # fmt: skip
    if done.exports_holding:
        text += "\n" + ctx._(
            "Reset exports on the server still hold them: {files}",
            files=", ".join(done.exports_holding),
        )
    return Reply(text, replace=True)


@command(
    "audit", es="historial", role="owner", usage=N_("<contact>"), group="merge",
    brief=N_("The last changes of a contact: who, where, when"),
)  # fmt: skip
async def audit(ctx: Context, args: str) -> Reply:
    """The last changes of a contact (and of those merged into it): who, where and when, in
    your language and the workspace's timezone."""
    contact = await one_contact(ctx, args)
    page = await audit_log.page(ctx.actor, AuditQuery(contact_id=contact.id), limit=LAST_CHANGES)
    name = render.plain(contact.display_name)
    if not page.lines:
        return Reply(ctx._("No changes recorded for #{id} {name}.", id=contact.id, name=name))
    people = {f"{a.platform}:{a.user}": a.name for a in await list_admins(ctx.binding.workspace)}
    lines = [ctx._("*Last changes of #{id} {name}*", id=contact.id, name=name)]
    lines += [_line(ctx, line, people) for line in page.lines]
    return Reply("\n".join(lines), contact_id=contact.id)


def _line(ctx: Context, line: AuditLine, people: dict[str, str]) -> str:
    """`• 7 dic 2026 10:07 (America/Guayaquil) · Ana (Telegram): etiquetó vip`."""
    who = render.plain(people.get(line.actor) or line.actor)
    where = SURFACES.get(line.surface, line.surface)
    detail = line.detail or {}
    fields = ", ".join(render.field_name(ctx.lang, f) for f in detail.get("fields") or [])
    tags = ", ".join(render.plain(t) for t in detail.get("tags") or [])
    what = (
        ctx._(ACTIONS[line.action], fields=fields, tags=tags)
        if line.action in ACTIONS
        else line.action
    )
    return f"• {ctx.lang.when(line.at)} · {who} ({where}): {what}"
