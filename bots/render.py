"""Contacts and lists as chat text (light markdown: *bold*, `code`), the same on every platform.

A contact card's first line is `*#<id> <name>*`: adapters read the id back from a card the
user replies to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

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


def when(moment: datetime | None) -> str:
    """A time as `2026-11-21 10:07 UTC`, or `never`."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def contact_line(c: Contact) -> str:
    """One line per contact: `#12` *name* · phone · email · tags."""
    bits = [f"`#{c.id}` *{plain(c.display_name)}*"]
    bits += [plain(v) for v in (c.phone, c.email) if v and v != c.display_name]
    if c.tags:
        bits.append("[" + ", ".join(plain(t) for t in c.tags) + "]")
    return " · ".join(bits)


def contact_card(
    c: Contact, messages: Sequence[MessageInfo] = (), notes: Sequence[NoteInfo] = ()
) -> str:
    """Everything about a contact: fields, channels, tags, last messages, notes."""
    lines = [f"*#{c.id} {plain(c.display_name)}*"]
    for label, value in (
        ("Name", c.name if c.name != c.display_name else None),
        ("Phone", c.phone), ("Email", c.email), ("Identifier", c.identifier),
        ("Company", c.company), ("City", c.city), ("Country", c.country),
        ("Language", c.language), ("Assignee", c.assignee),
    ):  # fmt: skip
        if value:
            lines.append(f"{label}: {plain(value)}")
    lines.append(f"Channels: {', '.join(c.channels) or 'none'}")
    lines.append(f"Tags: {', '.join(plain(t) for t in c.tags) or 'none'}")
    if c.custom:
        lines.append("Custom: " + ", ".join(f"{plain(k)}={plain(v)}" for k, v in c.custom.items()))
    lines.append(f"Created {when(c.created_at)} · last activity {when(c.last_activity_at)}")
    if messages:
        lines.append("*Last messages*")
        lines += [message_line(m) for m in messages]
    if notes:
        lines.append("*Notes*")
        lines += [f"• {when(n.created_at)} {plain(n.author)}: {snippet(n.body)}" for n in notes]
    return "\n".join(lines)


def message_line(m: MessageInfo) -> str:
    """`← 2026-11-20 10:00 UTC telegram: hola` (← in, → out; a failed send says why)."""
    arrow = "←" if m.direction == "in" else "→"
    words = describe(m.content)
    body = snippet(words) if words else snippet(m.text) if m.text else f"[{m.type}]"
    edited = " (edited)" if m.edited_at else ""
    failed = f" ⚠️ failed: {snippet(m.detail)}" if m.status == "failed" and m.detail else ""
    return f"{arrow} {when(m.sent_at)} {m.channel_kind}: {body}{edited}{failed}"


def snippet(text: str | None, limit: int = SNIPPET) -> str:
    """One line of at most `limit` characters."""
    flat = plain(" ".join((text or "").split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def count(n: int, word: str, plural: str | None = None) -> str:
    """`1 contact`, `3 contacts`."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def card_id(text: str | None) -> int | None:
    """The contact id of a contact card's text (as the platform shows it back), else None."""
    match = CARD_ID.match((text or "").strip())
    return int(match.group(1)) if match else None


SHARED_LABELS = {
    "share": "🔗 Shared post",
    "story_mention": "📣 Mentioned you in a story",
    "story_reply": "💬 Replied to your story",
}


def describe(content: dict[str, Any]) -> str | None:
    """The content in words for a chat card, or None for plain text (the text says it)."""
    type_ = content["type"]
    if type_ == "location":
        place = ", ".join(p for p in (content["name"], content["address"]) if p)
        point = f"{content['latitude']}, {content['longitude']}"
        return f"📍 Location: {place} ({point})" if place else f"📍 Location: {point}"
    if type_ == "reaction":
        emoji = content["emoji"]
        return f"Reacted {emoji} to a message" if emoji else "Removed a reaction"
    if type_ == "contact":
        cards = [
            " ".join(filter(None, (c["name"], *c["phones"], *c["emails"])))
            for c in content["cards"]
        ]
        return "👤 Contact: " + "; ".join(cards or ["(empty)"])
    if type_ == "interactive":
        return f"🔘 Button: {content['title'] or content['id'] or '?'}"
    if type_ == "email":
        subject = f"✉️ {content['subject']}" if content["subject"] else None
        return " — ".join(filter(None, (subject, content["text"]))) or None
    if type_ in MEDIA:
        label = f"📎 {type_.capitalize()}"
        return f"{label}: {content['caption']}" if content["caption"] else label
    if type_ in SHARED:
        label = SHARED_LABELS[type_]
        said = " — ".join(filter(None, (content["title"], content["text"], content["url"])))
        return f"{label}: {said}" if said else label
    if type_ == "unsupported":
        return f"[{content['kind'] or 'unsupported'}]" + (
            f" {content['text']}" if content["text"] else ""
        )
    return None
