"""Consent from what people write: a message that is only an opt-out word (STOP, BAJA, ALTO,
CANCELAR, UNSUBSCRIBE…) marks the identity it came from opted out; an opt-in word (START, ALTA,
SUSCRIBIR…) reverses it. Words are compared folded for case and accents, with surrounding
punctuation and spaces ignored (`¡Baja!` is `baja`). A workspace may set its own lists.

The check costs ingest nothing per message beyond a set lookup on short texts; the workspace's
own words are read once a minute per process (WORDS_TTL), so a changed list applies within it.
A change writes the identity, an audit line (`contact.consent`, by `inbound`) and a
`contact.updated` event, in the batch's transaction.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from store import outbox
from store.access import audit, system
from store.contacts import load
from store.db import RawTx
from store.fold import fold
from store.inbound.senders import Resolved
from store.serial import load_json
from store.types import Item

OPT_OUT = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BAJA", "ALTO", "CANCELAR")
OPT_IN = ("START", "UNSTOP", "ALTA", "SUSCRIBIR")
MAX_WORD = 40  # longer texts are conversation, never a keyword
WORDS_TTL = 60.0
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_cache: dict[int, tuple[float, frozenset[str], frozenset[str]]] = {}


def folded(word: str) -> str:
    """A word as compared: folded, punctuation and spaces around it dropped, inner spaces one."""
    return " ".join(_EDGES.sub("", fold(word.strip())).split())


DEFAULT_OUT = frozenset(folded(w) for w in OPT_OUT)
DEFAULT_IN = frozenset(folded(w) for w in OPT_IN)


def clean_words(words: Sequence[str]) -> list[str]:
    """A workspace's list as stored: non-empty, at most MAX_WORD characters, no duplicates."""
    out: list[str] = []
    for word in words:
        word = " ".join(str(word).split())
        if word and len(word) <= MAX_WORD and folded(word) and word not in out:
            out.append(word)
    return out


def forget() -> None:
    """Drop the cached word lists (tests; a process that just changed them)."""
    _cache.clear()


async def _words(tx: RawTx, ws: int) -> tuple[frozenset[str], frozenset[str]]:
    hit = _cache.get(ws)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    rows = await tx.fetch("SELECT consent_words FROM workspace WHERE id = ?", [ws])
    own = load_json(rows[0][0]) if rows and rows[0][0] is not None else None
    out, in_ = DEFAULT_OUT, DEFAULT_IN
    if isinstance(own, dict):
        if isinstance(own.get("opt_out"), list):
            out = frozenset(folded(w) for w in own["opt_out"] if isinstance(w, str))
        if isinstance(own.get("opt_in"), list):
            in_ = frozenset(folded(w) for w in own["opt_in"] if isinstance(w, str))
    _cache[ws] = (now + WORDS_TTL, out, in_)
    return out, in_


def _candidate(text: str | None) -> str | None:
    if not text or len(text) > MAX_WORD * 2 or "\n" in text.strip():
        return None
    return folded(text) or None


async def apply(tx: RawTx, rows: Sequence[tuple[Item, Resolved | None]], now: datetime) -> int:
    """Opt identities out or in from the batch's stored messages; the number changed."""
    wanted: dict[int, tuple[int, int, bool]] = {}  # identity -> (workspace, contact, opted out)
    for item, hit in rows:
        word = _candidate(item.inbound.text) if hit is not None else None
        if word is None or hit is None:
            continue
        out, in_ = await _words(tx, item.channel.workspace_id)
        if word in out or word in in_:
            wanted[hit.identity_id] = (item.channel.workspace_id, hit.contact_id, word in out)
    changed = 0
    for identity_id, (ws, contact_id, opt_out) in sorted(wanted.items()):
        rows_changed = await tx.fetch(
            "UPDATE identity SET opted_out_at = ? WHERE id = ? AND "
            + ("opted_out_at IS NULL" if opt_out else "opted_out_at IS NOT NULL")
            + " RETURNING id",
            [now if opt_out else None, identity_id],
        )
        if not rows_changed:
            continue
        changed += 1
        detail: dict[str, Any] = {"identity": identity_id, "opted_out": opt_out}
        actor = system(ws, "inbound")
        await audit(tx, actor, "contact.consent", f"#{contact_id}", detail, at=now)
        contact = await load(tx, ws, contact_id)
        data = outbox.contact_event(contact, "inbound", consent=detail)
        await outbox.emit(tx, ws, "contact.updated", data, contact_id=contact_id, now=now)
    return changed
