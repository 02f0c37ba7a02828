"""add, set: admins create a contact and change its fields from chat."""

from __future__ import annotations

import re

from bots import render
from bots.commands.contacts import card
from bots.core import Context, Reply, Usage, command
from bots.i18n import N_, lang
from bots.refs import contact_and_rest
from store import contacts
from store.contact_fields import FIELD_LIMITS
from store.errors import Taken
from store.fold import fold

SOURCE = "bot"  # contacts made by hand in chat (API: `api`, CLI: `manual`, CSV: `import`)
ADD_FIELDS = ("name", "phone", "email", "company")
KEYED = re.compile(r"(?:^|\s)([^\s=]+)=")  # `name=Ana Torres phone=099…`: where a key starts
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[\d\s().\-/]{6,}$")


def field_key(word: str) -> str | None:
    """The contact field a word names, in English or Spanish, any case or accents
    (`teléfono`, `Phone`, `correo`); None for a word that is no standard field."""
    wanted = fold(word.strip())
    for key in (*FIELD_LIMITS, "phone"):
        label = render.FIELD_NAMES.get(key, key)
        names = {key, fold(label), fold(lang("es")._(label)), *SPANISH.get(key, ())}
        if wanted in names:
            return key
    return None


SPANISH = {  # other words Spanish speakers write for a field
    "email": ("correo", "mail", "e-mail"), "phone": ("telefono", "tel", "celular", "movil"),
    "name": ("nombre",), "company": ("empresa",),
}  # fmt: skip


def parse_new(text: str) -> dict[str, str]:
    """`/add` text as fields: `key=value …` pairs, else comma-separated parts recognised by
    their shape (an email, a phone; the first other part is the name, the next the company)."""
    text = text.strip()
    if KEYED.match(text):
        starts = list(KEYED.finditer(text))
        pairs: dict[str, str] = {}
        for i, found in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            key = field_key(found.group(1))
            if key is None:
                raise Usage(N_("say name=, phone=, email= or company="))
            pairs[key] = text[found.end() : end].strip()
        return pairs
    fields: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kind = "email" if EMAIL.match(part) else "phone" if PHONE.match(part) else None
        kind = kind or next((k for k in ("name", "company") if k not in fields), None)
        if kind is None or kind in fields:
            raise Usage(N_("one name, phone, email and company at most, separated by commas"))
        fields[kind] = part
    return fields


async def taken(ctx: Context, exc: Taken) -> list[Reply]:
    """A clash answered with the other contact's card."""
    other = await contacts.get(ctx.actor, exc.owner)
    said = ctx._(
        "That {field} already belongs to #{id} {name}; nothing changed.",
        field=render.field_name(ctx.lang, exc.field).lower(), id=other.id,
        name=render.plain(other.display_name),
    )  # fmt: skip
    return [Reply(said, contact_id=other.id), await card(ctx, other)]


@command(
    "add", es="nuevo", role="admin", group="merge",
    usage=N_("<name>, <phone>, <email> (or name=… phone=… email=… company=…)"),
    brief=N_("Create a contact"),
)  # fmt: skip
async def add(ctx: Context, args: str) -> Reply | list[Reply]:
    """Create a contact: its name, phone, email and company, separated by commas or written
    as `name=… phone=… email=… company=…`; the phone is read with the workspace's region."""
    if not args.strip():
        raise Usage(ctx._("say at least a name, phone or email"))
    try:
        fields = parse_new(args)
    except Usage as exc:
        raise Usage(ctx._(str(exc))) from None
    try:
        made = await contacts.create(ctx.actor, fields, source=SOURCE)
    except Taken as exc:
        return await taken(ctx, exc)
    said = ctx._("Created #{id} {name}.", id=made.id, name=render.plain(made.display_name))
    return [Reply(said, contact_id=made.id), await card(ctx, made)]


@command(
    "set", es="editar", role="admin", group="merge", usage=N_("<contact> <field> <value>"),
    brief=N_("Change one field or custom field of a contact"),
)  # fmt: skip
async def set_(ctx: Context, args: str) -> Reply | list[Reply]:
    """Change one field of a contact (name, phone, email, company, city, country, language,
    identifier, assignee) or a custom field; `-` as the value clears it."""
    contact, rest = await contact_and_rest(ctx, args, need_rest=True)
    word, _, value = rest.strip().partition(" ")
    value = value.strip()
    if not word or not value:
        raise Usage(ctx._("say the field and its new value"))
    cleared = value == "-"
    key = field_key(word)
    change: dict[str, object] = (
        {key: None if cleared else value} if key else {"custom": {word: None if cleared else value}}
    )
    try:
        changed = await contacts.patch(ctx.actor, contact.id, change)
    except Taken as exc:
        return await taken(ctx, exc)
    shown = render.field_name(ctx.lang, key) if key else word
    name = render.plain(changed.display_name)
    if cleared:
        said = ctx._("Cleared {field} of #{id} {name}.", field=shown, id=changed.id, name=name)
    else:
        now = getattr(changed, key) if key else changed.custom.get(word)
        said = ctx._("Set {field} of #{id} {name} to {value}.", field=shown, id=changed.id,
                     name=name, value=render.plain(str(now)))  # fmt: skip
    return Reply(said, contact_id=changed.id)
