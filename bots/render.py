"""Contacts and lists as chat text (light markdown: *bold*, `code`), the same on every platform.

A contact card's first line is `*#<id> <name>*`: adapters read the id back from a card the
user replies to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bots.i18n import N_, Lang
from store.contacts import Contact
from store.content import MEDIA, SHARED
from store.messages import MessageInfo
from store.notes import NoteInfo

CARD_ID = re.compile(r"^\*?#(\d{1,10})\b")
SNIPPET = 160
_MARKS = str.maketrans({"*": "\u2217", "`": "'", "\n": " ", "\r": " "})


def plain(value: Any) -> str:
    """User data made safe inside our markdown: no stray bold/code marks, one line."""
    return str(value).translate(_MARKS)


FIELD_NAMES = {  # contact fields as people read them (cards, merge previews, PDF headings)
    "name": N_("Name"), "phone": N_("Phone"), "email": N_("Email"),
    "identifier": N_("Identifier"), "company": N_("Company"), "city": N_("City"),
    "country": N_("Country"), "language": N_("Language"), "assignee": N_("Assignee"),
    "avatar_url": N_("Avatar"), "tags": N_("Tags"), "channels": N_("Channels"),
    "created_at": N_("Created"), "updated_at": N_("Updated"),
    "last_activity_at": N_("Last activity"), "last_incoming_at": N_("Last incoming"),
    "last_channel": N_("Last channel"), "source": N_("Source"), "notes": N_("Notes"),
    "id": N_("Id"),
}  # fmt: skip


def field_name(t: Lang, key: str) -> str:
    """A field's name for people: `Teléfono`; a custom field keeps its own key."""
    if key.startswith("custom."):
        return key.removeprefix("custom.")
    return t._(FIELD_NAMES[key]) if key in FIELD_NAMES else key


def contact_line(c: Contact) -> str:
    """One line per contact: `#12` *name* · phone · email · tags."""
    bits = [f"`#{c.id}` *{plain(c.display_name)}*"]
    bits += [plain(v) for v in (c.phone, c.email) if v and v != c.display_name]
    if c.tags:
        bits.append("[" + ", ".join(plain(t) for t in c.tags) + "]")
    return " · ".join(bits)


def contact_card(
    t: Lang, c: Contact, messages: Sequence[MessageInfo] = (), notes: Sequence[NoteInfo] = ()
) -> str:
    """Everything about a contact: fields, channels, tags, last messages, notes."""
    lines = [f"*#{c.id} {plain(c.display_name)}*"]
    for key, value in (
        ("name", c.name if c.name != c.display_name else None),
        ("phone", c.phone), ("email", c.email), ("identifier", c.identifier),
        ("company", c.company), ("city", c.city), ("country", c.country),
        ("language", c.language), ("assignee", c.assignee),
    ):  # fmt: skip
        if value:
            lines.append(f"{field_name(t, key)}: {plain(value)}")
    none = t._("none")
    channels, tags = t._("Channels"), t._("Tags")
    lines.append(f"{channels}: {', '.join(c.channels) or none}")
    lines.append(f"{tags}: {', '.join(plain(tag) for tag in c.tags) or none}")
    if c.opted_out:
        lines.append(t._("🚫 Opted out: sent an opt-out word (BAJA, STOP); nothing is sent there"))
    if c.custom:
        custom = ", ".join(f"{plain(k)}={plain(v)}" for k, v in c.custom.items())
        lines.append(t._("Custom: {fields}", fields=custom))
    lines.append(t._("Created {created} · last activity {active}", created=t.when(c.created_at),
                     active=t.when(c.last_activity_at)))  # fmt: skip
    if messages:
        lines.append(t._("*Last messages*"))
        lines += [message_line(t, m) for m in messages]
    if notes:
        lines.append(t._("*Notes*"))
        lines += [f"• {t.when(n.created_at)} {plain(n.author)}: {snippet(n.body)}" for n in notes]
    return "\n".join(lines)


def message_line(t: Lang, m: MessageInfo) -> str:
    """`← 7 dic 2026 10:00 (America/Guayaquil) telegram: hola` (← in, → out; a failed send
    says why)."""
    arrow = "←" if m.direction == "in" else "→"
    words = describe(t, m.content)
    body = snippet(words) if words else snippet(m.text) if m.text else f"[{m.type}]"
    edited = " " + t._("(edited)") if m.edited_at else ""
    failed = ""
    if m.status == "failed" and m.detail:
        failed = " ⚠️ " + t._("failed: {why}", why=snippet(m.detail))
    return f"{arrow} {t.when(m.sent_at)} {m.channel_kind}: {body}{edited}{failed}"


def snippet(text: str | None, limit: int = SNIPPET) -> str:
    """One line of at most `limit` characters."""
    flat = plain(" ".join((text or "").split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def card_id(text: str | None) -> int | None:
    """The contact id of a contact card's text (as the platform shows it back), else None."""
    match = CARD_ID.match((text or "").strip())
    return int(match.group(1)) if match else None


SHARED_LABELS = {
    "share": N_("🔗 Shared post"),
    "story_mention": N_("📣 Mentioned you in a story"),
    "story_reply": N_("💬 Replied to your story"),
}
MEDIA_LABELS = {
    "image": N_("Image"), "audio": N_("Audio"), "video": N_("Video"),
    "document": N_("Document"), "sticker": N_("Sticker"), "voice": N_("Voice"),
}  # fmt: skip


def describe(t: Lang, content: dict[str, Any]) -> str | None:
    """The content in words for a chat card, or None for plain text (the text says it)."""
    type_ = content["type"]
    if type_ == "location":
        place = ", ".join(p for p in (content["name"], content["address"]) if p)
        point = f"{content['latitude']}, {content['longitude']}"
        return (
            t._("📍 Location: {place} ({point})", place=place, point=point)
            if place
            else t._("📍 Location: {point}", point=point)
        )
    if type_ == "reaction":
        emoji = content["emoji"]
        return (
            t._("Reacted {emoji} to a message", emoji=emoji) if emoji else t._("Removed a reaction")
        )
    if type_ == "contact":
        cards = [
            " ".join(filter(None, (c["name"], *c["phones"], *c["emails"])))
            for c in content["cards"]
        ]
        return t._("👤 Contact: {cards}", cards="; ".join(cards or [t._("(empty)")]))
    if type_ == "interactive":
        return t._("🔘 Button: {title}", title=content["title"] or content["id"] or "?")
    if type_ == "email":
        subject = f"✉️ {content['subject']}" if content["subject"] else None
        return " — ".join(filter(None, (subject, content["text"]))) or None
    if type_ in MEDIA:
        kind = MEDIA_LABELS.get(type_)
        label = f"📎 {t._(kind) if kind else type_.capitalize()}"
        return f"{label}: {content['caption']}" if content["caption"] else label
    if type_ in SHARED:
        label = t._(SHARED_LABELS[type_])
        said = " — ".join(filter(None, (content["title"], content["text"], content["url"])))
        return f"{label}: {said}" if said else label
    if type_ == "unsupported":
        return f"[{content['kind'] or 'unsupported'}]" + (
            f" {content['text']}" if content["text"] else ""
        )
    return None
