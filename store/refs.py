"""Contact references, one grammar for every surface: `#12`, `id:12`, `email:…`, `phone:…`,
`identifier:…`, `username:…` or `@username` (the API, the CLI); chat also reads a bare email, a
phone written any common way and a phrase to search for. Resolved against one workspace."""

from __future__ import annotations

import re
from dataclasses import dataclass

from store import query
from store.access import Actor, require
from store.contacts import MAX_ID, Contact, load
from store.db import ClientTx, RawTx
from store.errors import DomainError, Invalid, NotFound
from store.phone_keys import lookup
from store.phones import normalise_email, to_e164_read

KINDS = ("id", "email", "phone", "identifier", "username")  # the typed forms, `kind:value`
TYPED = tuple(f"{kind}:" for kind in KINDS if kind != "id")
ID = re.compile(r"(?:#|id:)?([0-9]+)")
PHONE = re.compile(r"\+?[\d\s().\-]+")
MIN_PHONE, MAX_PHONE = 7, 15  # digits: fewer is an id, more is no phone number
MAX_CHOICES = 10  # candidates an ambiguous phrase lists


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed reference: a kind of `KINDS` or `phrase`, and its value as written.

    `or_id`: a long bare number, tried as a phone first and then as an id.
    """

    kind: str
    value: str
    or_id: bool = False


class Ambiguous(DomainError):
    """A phrase matches several contacts: the first `MAX_CHOICES`, and whether there are more."""

    def __init__(self, phrase: str, contacts: list[Contact], more: bool) -> None:
        super().__init__(f"several contacts match {phrase!r}")
        self.phrase, self.contacts, self.more = phrase, contacts, more


def parse(text: str) -> Ref:
    """The typed grammar; Invalid when `text` is none of its forms."""
    ref = text.strip()
    number = ID.fullmatch(ref)
    if number:
        return Ref("id", number.group(1))
    if ref.startswith(("#", "id:")) or ref.isdigit():  # e.g. `id:abc`, superscript digits
        raise Invalid(f"a contact id is a number, not {ref[:40]!r}")
    if ref.startswith("@") and len(ref) > 1:
        return Ref("username", ref[1:])
    kind, sep, value = ref.partition(":")
    if sep and kind in KINDS and value.strip():
        return Ref(kind, value.strip())
    raise Invalid(
        f"cannot read contact reference {ref!r}: use #id, email:…, phone:…, identifier:…"
        " or @username"
    )


def parse_chat(text: str) -> Ref:
    """Chat's grammar: the typed one, a bare email, a phone in any common format (a long bare
    number is a phone, else an id), and anything else a phrase to search for."""
    ref = text.strip()
    digits = sum(ch.isdigit() for ch in ref)
    bare_number = ref.isascii() and ref.isdigit()
    if ID.fullmatch(ref) and not (bare_number and digits >= MIN_PHONE):
        return parse(ref)
    if ref.startswith(TYPED) or (ref.startswith("@") and " " not in ref):
        return parse(ref)
    if "@" in ref and " " not in ref:
        return Ref("email", ref)
    if PHONE.fullmatch(ref) and MIN_PHONE <= digits <= MAX_PHONE:
        return Ref("phone", ref, or_id=bare_number)
    return Ref("phrase", ref)


def contact_id_of(value: str | int) -> int:
    """A contact id from text (`12`, `#12`); NotFound when it cannot be one (too large, not
    a number)."""
    text_value = str(value).strip().removeprefix("#")
    if not (text_value.isascii() and text_value.isdigit()) or int(text_value) > MAX_ID:
        raise NotFound(f"no contact #{text_value[:20]}")
    return int(text_value)


async def contact(actor: Actor, ref: Ref, region: str = "US") -> Contact:
    """The one live contact `ref` names (a merged-away id gives its primary); NotFound, or
    Ambiguous for a phrase matching several."""
    require(actor, "agent")
    tx = ClientTx()
    if ref.kind == "id":
        return await load(tx, actor.workspace_id, contact_id_of(ref.value))
    if ref.kind == "phrase":
        return await _by_search(actor, ref.value)
    found = await _lookup(tx, actor.workspace_id, ref.kind, ref.value, region)
    if found is not None:
        return await load(tx, actor.workspace_id, found)
    if ref.or_id:
        return await load(tx, actor.workspace_id, contact_id_of(ref.value))
    raise NotFound(f"no contact with {ref.kind} {ref.value!r}")


async def contact_id(actor: Actor, ref: Ref, region: str = "US") -> int:
    """The id an operation acts on: an id as written (a merged-away id stays itself, which
    unmerge needs), any other form the live contact it names."""
    if ref.kind == "id":
        return contact_id_of(ref.value)
    return (await contact(actor, ref, region)).id


async def _by_search(actor: Actor, phrase: str) -> Contact:
    page = await query.list_contacts(actor, q=phrase, limit=MAX_CHOICES + 1)
    found = page.contacts
    if not found:
        raise NotFound(f"no contact matches {phrase!r}")
    if len(found) > 1:
        raise Ambiguous(phrase, found[:MAX_CHOICES], len(found) > MAX_CHOICES)
    return found[0]


async def _lookup(tx: RawTx, ws: int, kind: str, value: str, region: str) -> int | None:
    if kind == "username":
        rows = await tx.fetch(
            "SELECT contact_id FROM identity WHERE workspace_id = ?"
            " AND (lower(username) = ? OR external_id = ? OR scoped_id = ?) ORDER BY id LIMIT 1",
            [ws, value.lower(), value, value],
        )
        return int(rows[0][0]) if rows else None
    if kind == "phone":
        value = to_e164_read(value, region) or ""
        if not value:  # a number that cannot be a phone number names no contact
            return None
    elif kind == "email":
        value = normalise_email(value) or ""
    column, value = lookup(kind, value)  # a phone under any variant of it
    rows = await tx.fetch(
        f"SELECT id FROM contact WHERE workspace_id = ? AND {column} = ? ORDER BY id LIMIT 1",
        [ws, value],
    )
    return int(rows[0][0]) if rows else None
