"""The columns of a contact export: which names there are, how a name typed by a person is
resolved (a field, a custom field or a channel, each by its own name), and how cells are written
for a spreadsheet (times in the workspace's timezone, phones kept as text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from store.contacts import as_datetime
from store.db import RawTx
from store.errors import Invalid
from store.fold import fold
from store.views import VIEW_COLUMNS
from store.where import Where

PLAIN = ("name", "email", "phone", "identifier", "company", "city", "country", "language")
TIMES = frozenset({"created_at", "updated_at", "last_activity_at", "last_incoming_at"})
FIELD_SQL = {
    "id": "c.id",
    **{name: f"c.{name}" for name in (*PLAIN, "assignee", "source", *sorted(TIMES))},
    "last_channel": "lc.kind",
}
COLUMNS = VIEW_COLUMNS  # id, FIELD_SQL, then tags, channels and custom (every custom.<key>)
CUSTOM = "custom."
CHANNEL = "channel."  # a channel's handles: its kind (`whatsapp`) or its key
MAX_STEM = 48  # characters of a file name taken from the view, filter or search
UNRESOLVED = "?"  # a bare name waiting to be matched to a custom field or a channel


def check_columns(names: Sequence[str]) -> list[str]:
    """Column names in order: `id` first when chosen, then `name` (always), then the rest as
    given, duplicates dropped. A name that is no field is kept (marked) for `resolve`, which
    matches it to a custom field or a channel of the workspace."""
    chosen: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name.lower() in COLUMNS:
            name = name.lower()
        elif not (name.startswith((CUSTOM, CHANNEL)) and len(name.split(".", 1)[1]) > 0):
            name = UNRESOLVED + name
        if name not in chosen:
            chosen.append(name)
    head = ["id", "name"] if "id" in chosen else ["name"]
    return [*head, *(c for c in chosen if c not in head)]


async def resolve(tx: RawTx, ws: int, names: list[str], where: Where) -> list[str]:
    """Expand `custom` into every custom key of the selection, and match each bare name to a
    custom key (ignoring case and accents) or a channel kind or key of the workspace; Invalid
    names the one that is neither, with what is valid."""
    wanted = any(n == "custom" or n[:1] == UNRESOLVED for n in names)
    keys = await custom_keys(tx, where) if wanted else []
    out: list[str] = []
    kinds: list[tuple[str, str]] | None = None
    for name in names:
        if name == "custom":
            out += [f"{CUSTOM}{k}" for k in keys if f"{CUSTOM}{k}" not in names]
            continue
        if not name.startswith(UNRESOLVED):
            out.append(name)
            continue
        bare = name[1:]
        key = next((k for k in keys if fold(k) == fold(bare)), None)
        if key is not None:
            out.append(f"{CUSTOM}{key}")
            continue
        if kinds is None:
            kinds = [
                (str(kind), str(chan))
                for kind, chan in await tx.fetch(
                    "SELECT kind, key FROM channel WHERE workspace_id = ? ORDER BY id", [ws]
                )
            ]
        if any(bare.lower() in (kind, chan.lower()) for kind, chan in kinds):  # by its name
            out.append(f"{CHANNEL}{bare.lower()}")
            continue
        raise Invalid(_unknown(bare, keys, kinds))
    return list(dict.fromkeys(out))


def _unknown(bare: str, keys: Sequence[str], kinds: Sequence[tuple[str, str]]) -> str:
    said = f"unknown column {bare!r}; valid columns: {', '.join(COLUMNS)}"
    if keys:
        said += f"; custom fields: {', '.join(keys[:20])}"
    if kinds:
        said += f"; channels: {', '.join(dict.fromkeys(k for k, _ in kinds))}"
    return said


async def custom_keys(tx: RawTx, where: Where) -> list[str]:
    """Every custom field key present on the selected contacts, sorted."""
    if tx.dialect == "postgres":
        sql = (
            "SELECT DISTINCT k FROM contact c, jsonb_object_keys(c.custom) k"
            f" WHERE jsonb_typeof(c.custom) = 'object' AND {where.sql}"
        )
    else:
        sql = (
            "SELECT DISTINCT j.key FROM contact c, json_each(c.custom) j"
            f" WHERE j.key IS NOT NULL AND {where.sql}"
        )
    return sorted(str(r[0]) for r in await tx.fetch(sql, where.params))


def local_time(value: Any, zone: ZoneInfo) -> str:
    """A time as a spreadsheet reads it, in the workspace's timezone: `2026-12-07 09:30:00`."""
    moment = as_datetime(value)
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def phone_text(phone: str) -> str:
    """An E.164 phone with a space after its country code (`+593 991234567`), so a spreadsheet
    keeps it as text (it would make `+593991234567` the number 593991234567) and an import reads
    it back as the same phone. No parsing: a table lookup of the 1-3 digit country code."""
    if not phone.startswith("+") or " " in phone:
        return phone
    for size in (1, 2, 3):
        code = phone[1 : 1 + size]
        if code.isdigit() and int(code) in COUNTRY_CODE_TO_REGION_CODE:
            return f"+{code} {phone[1 + size :]}"
    return phone


def channel_cell(handles: Sequence[tuple[str, str, str]], column: str) -> str:
    """The handles (username, else id) a contact has on the channels a `channel.` column
    names, by kind or key: `(kind, key, handle)` rows of the contact."""
    wanted = column[len(CHANNEL) :].lower()
    return ", ".join(dict.fromkeys(h for kind, key, h in handles if wanted in (kind, key.lower())))


def file_name(
    what: str, fmt: str, now: datetime, zone: ZoneInfo, everything: str = "contacts"
) -> str:
    """An export's file name after what it holds (a view's name, a filter, a search) and the
    day in the workspace's timezone: `vip-andinos-2026-12-07.csv`; `contacts-…` (or the word
    `everything` gives, `contactos`) for all."""
    words = re.sub(r"[^a-z0-9]+", "-", fold(what)).strip("-")[:MAX_STEM].rstrip("-")
    stem = words or re.sub(r"[^a-z0-9]+", "-", fold(everything)).strip("-") or "contacts"
    return f"{stem}-{now.astimezone(zone):%Y-%m-%d}.{fmt}"
