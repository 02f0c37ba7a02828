"""Contact references in chat: splitting a reference from the rest of a command, resolving it
in the chat grammar of store.refs (`#12`, a phone, an email, `@username`, a phrase)."""

from __future__ import annotations

import re
import shlex

from bots.core import ChatUser, Context, Usage
from bots.i18n import N_
from store import chat_admin, contacts, refs
from store.chat_admin import binding
from store.contacts import Contact
from store.errors import DomainError, NotFound
from store.refs import MAX_PHONE, MIN_PHONE, Ref

PHONE_TOKEN = re.compile(r"^\+?[\d().\-]*\d[\d().\-]*$")


def words(text: str) -> list[str]:
    """Shell-like words: quotes group words (`"Ana Pérez" vip`); a stray quote is a Usage."""
    try:
        return shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError as exc:
        raise Usage(N_("cannot read that: a quote is not closed")) from exc


def take_ref(text: str) -> tuple[str, str]:
    """Split `text` into a contact reference and the rest.

    A quoted phrase is one reference; so are leading number groups that together read as a
    phone number (`+593 99 123 4567 vip` -> `+593 99 123 4567`, `vip`).
    """
    text = text.strip()
    if text[:1] in ('"', "“"):
        tokens = words(text)
        first = tokens[0] if tokens else ""
        close = max(text.find('"', 1), text.find("”", 1))
        return first, text[close + 1 :].strip() if close > 0 else ""
    tokens = text.split()
    if not tokens:
        return "", ""
    taken = 0
    while taken < len(tokens) and PHONE_TOKEN.match(tokens[taken]):
        digits = sum(ch.isdigit() for t in tokens[: taken + 1] for ch in t)
        if digits > MAX_PHONE:
            break
        taken += 1
    grouped = " ".join(tokens[:taken])
    if taken > 1 and sum(ch.isdigit() for ch in grouped) >= MIN_PHONE:
        return grouped, " ".join(tokens[taken:])
    return tokens[0], " ".join(tokens[1:])


async def resolve(ctx: Context, ref: str) -> Contact:
    """The one contact `ref` names (chat's grammar, store.refs); NotFound, or Ambiguous."""
    if not ref.strip():
        raise Usage(ctx._("name a contact: #id, phone, email, @username or a name"))
    try:
        return await refs.contact(ctx.actor, refs.parse_chat(ref), ctx.binding.region)
    except NotFound as exc:  # the store's words are English: in Spanish, say it in Spanish
        if ctx.lang.code == "en":
            raise
        raise NotFound(ctx._("No contact matches {ref}.", ref=repr(ref))) from exc


async def contact_and_rest(
    ctx: Context, text: str, *, need_rest: bool = False
) -> tuple[Contact, str]:
    """The contact a command is about and the rest of its text.

    A command sent as a reply to a contact card or a forwarded customer message is about that
    contact, and its whole text is the rest; otherwise the text starts with a reference.
    """
    if ctx.contact_id is not None:
        return await contacts.get(ctx.actor, ctx.contact_id), text.strip()
    ref, rest = take_ref(text)
    if not ref:
        raise Usage(ctx._("name a contact first"))
    if need_rest and not rest:
        raise Usage(ctx._("say what to do with the contact too"))
    return await resolve(ctx, ref), rest


async def one_contact(ctx: Context, text: str) -> Contact:
    """The contact a one-contact command names (the whole text; a phrase needs no quotes)."""
    if ctx.contact_id is not None and not text.strip():
        return await contacts.get(ctx.actor, ctx.contact_id)
    stripped = text.strip().strip('"“”')
    if not stripped:
        raise Usage(ctx._("name a contact, or send this as a reply to a contact card"))
    return await resolve(ctx, stripped)


async def hinted_contact(
    user: ChatUser, *, telegram_user: str | None = None, phone: str | None = None
) -> int | None:
    """The contact a platform hint points at (a forwarded sender, a shared contact's phone),
    for a bound user; None when nothing matches (the command then asks for a reference)."""
    bound = await binding(user.platform, user.user_id)
    if bound is None:
        return None
    ctx = Context(user, bound, "")
    if telegram_user:
        found = await chat_admin.contact_of_identity(ctx.actor, "telegram", telegram_user)
        if found is not None:
            return found
    if phone:
        try:
            return (await refs.contact(ctx.actor, Ref("phone", phone), bound.region)).id
        except DomainError:
            return None
    return None
