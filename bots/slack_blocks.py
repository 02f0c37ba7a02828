"""Block Kit rendering of bots.core replies: text sections within Slack's limits, button rows,
contact-card buttons, the merge dialog, and the file an answer too long for a message becomes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bots.core import PLAIN, Button, OutFile, Reply
from bots.i18n import N_, Lang
from store import access

SECTION_CHARS = 3000  # Slack: a section's text
MAX_BLOCKS = 50  # Slack: blocks in one message
# Our own ceiling, well under Slack's 40,000 characters per message: more is unreadable in a
# chat, so a longer answer is uploaded as a text file instead.
MAX_SECTIONS = 10
BUTTONS_PER_ROW = 3
LABEL_CHARS = 75  # Slack: a button's text
FALLBACK_CHARS = 300  # the notification text shown beside the blocks
BUTTON_ACTION = "cg_btn_{}"
BUTTON_PATTERN = re.compile(r"^cg_btn_\d+$")
CARD_PATTERN = re.compile(r"^cg_card_(show|borrar|merge)$")
MERGE_VIEW = "cg_merge"
MERGE_INPUT = ("other", "value")  # block_id, action_id of the merge dialog's text field
# A card's buttons: action id suffix -> label (Slack's `value` carries the contact id).
CARD_BUTTONS = (("show", N_("Show")), ("borrar", N_("Tag {tag}")), ("merge", N_("Merge…")))
CARD_ROLES = {"merge": "admin"}  # a card button above agent: offered only to that role


@dataclass(frozen=True, slots=True)
class Message:
    """A reply ready for Slack: fallback text, blocks, and the text as a file when too long."""

    text: str
    blocks: list[dict[str, Any]]
    overflow: OutFile | None = None


def escape(text: str) -> str:
    """Text safe in Slack mrkdwn: only &, < and > are special (they would start links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(reply: Reply, now: datetime | None = None) -> Message:
    """The message of one reply; text beyond MAX_SECTIONS sections moves to `overflow`."""
    rows = button_rows(reply)
    chunks = sections(reply.text)
    overflow = None
    if len(chunks) > min(MAX_SECTIONS, MAX_BLOCKS - len(rows)):
        overflow = text_file(reply.text, now or datetime.now(UTC), reply.lang)
        chunks = [_overflow_note(reply.lang, reply.text, overflow.name)]
    blocks = [_section(chunk) for chunk in chunks] + rows
    return Message(_fallback(reply.text), blocks, overflow)


def sections(text: str) -> list[str]:
    """Escaped text in chunks of at most SECTION_CHARS, cut at line ends where possible."""
    chunks: list[str] = []
    current = ""
    for line in _pieces(text):
        joined = f"{current}\n{line}" if current else line
        if len(joined) <= SECTION_CHARS:
            current = joined
            continue
        if current:
            chunks.append(current)
        current = line
    if current.strip():
        chunks.append(current)
    return chunks


def _pieces(text: str) -> list[str]:
    """Escaped lines, each at most SECTION_CHARS (a longer line is cut, never inside &amp;)."""
    pieces: list[str] = []
    for raw in text.strip("\n").split("\n"):
        line = escape(raw)
        while len(line) > SECTION_CHARS:
            cut = line.rfind("&", SECTION_CHARS - 4, SECTION_CHARS)
            cut = cut if cut > 0 else SECTION_CHARS
            pieces.append(line[:cut])
            line = line[cut:]
        pieces.append(line)
    return pieces


def button_rows(reply: Reply) -> list[dict[str, Any]]:
    """Actions blocks: the reply's buttons three per row, then a contact card's buttons."""
    elements = [_button(BUTTON_ACTION.format(i), b) for i, b in enumerate(reply.buttons)]
    rows = [
        {"type": "actions", "elements": elements[i : i + BUTTONS_PER_ROW]}
        for i in range(0, len(elements), BUTTONS_PER_ROW)
    ]
    if reply.contact_id is not None:
        have = {_plain_label(b.label) for b in reply.buttons}
        card = [
            _button(f"cg_card_{kind}", Button(label, str(reply.contact_id)))
            for kind, label in _card_labels(reply.lang)
            if _plain_label(label) not in have  # the core's own card buttons win
            and access.allows(reply.role, CARD_ROLES.get(kind, "agent"))
        ]
        if card:
            rows.append({"type": "actions", "elements": card})
    return rows[: MAX_BLOCKS - 1]


def _card_labels(t: Lang) -> list[tuple[str, str]]:
    return [(kind, t._(label, tag="Borrar")) for kind, label in CARD_BUTTONS]


def _plain_label(label: str) -> str:
    return label.rstrip("…. ").casefold()


def _button(action_id: str, button: Button) -> dict[str, Any]:
    label = button.label if len(button.label) <= LABEL_CHARS else button.label[:74] + "…"
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": button.data,
    }
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _fallback(text: str) -> str:
    first = escape(text.strip().split("\n", 1)[0])
    return first if len(first) <= FALLBACK_CHARS else first[: FALLBACK_CHARS - 1] + "…"


def _overflow_note(t: Lang, text: str, name: str) -> str:
    head = _fallback(text)
    note = t.n_("The full answer ({n} line) is too long for a message: it is in `{name}`.",
                "The full answer ({n} lines) is too long for a message: it is in `{name}`.",
                text.count("\n") + 1, name=name)  # fmt: skip
    return f"{head}\n{note}" if head else note


def text_file(text: str, now: datetime, t: Lang = PLAIN) -> OutFile:
    """An answer too long for a message, as a UTF-8 text file."""
    name = f"contactgate-{now:%Y-%m-%d-%H%M%S}.txt"
    return OutFile(name, text.encode("utf-8"), "text/plain", t._("Full answer"))


def merge_view(contact_id: int, chat_id: str, t: Lang = PLAIN) -> dict[str, Any]:
    """The dialog a card's Merge button opens: which contact to merge into this one."""
    block_id, action_id = MERGE_INPUT
    intro = t._("Merge another contact into *#{id}*. You will see the differences and confirm"
                " before anything changes.", id=contact_id)  # fmt: skip
    return {
        "type": "modal",
        "callback_id": MERGE_VIEW,
        "private_metadata": json.dumps({"contact": contact_id, "chat": chat_id}),
        "title": {"type": "plain_text", "text": t._("Merge contacts")},
        "submit": {"type": "plain_text", "text": t._("Preview")},
        "close": {"type": "plain_text", "text": t._("Cancel")},
        "blocks": [
            _section(intro),
            {
                "type": "input",
                "block_id": block_id,
                "label": {"type": "plain_text", "text": t._("The other contact")},
                "element": {
                    "type": "plain_text_input",
                    "action_id": action_id,
                    "max_length": 200,
                    "placeholder": {
                        "type": "plain_text",
                        "text": t._("#id, phone, email, @username or a name"),
                    },
                },
            },
        ],
    }
