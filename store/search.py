"""The search box: one query over every contact field, tags, channels and handles.

Each word must match (AND). A word matches a contact's folded search_text as a substring (FTS5
trigram on SQLite, a pg_trgm GIN index on PostgreSQL), one of its tags, or the kind, name or
key of a channel it has an identity on. A query that reads as a phone number is one word of its
digits; exact phone and email matches are found separately so they can rank first.
"""

from __future__ import annotations

import re

from store.db import RawTx
from store.fold import fold
from store.phone_keys import lookup
from store.phones import normalise_email, to_e164_read
from store.where import Where, like_pattern

PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{3,}$")
MAX_WORDS = 8
MAX_QUERY = 200


def words(q: str) -> list[str]:
    """The folded words of a query (a phone-looking query is one word of digits)."""
    q = q.replace("\x00", "").strip()[:MAX_QUERY]
    if PHONE_LIKE.match(q) and sum(ch.isdigit() for ch in q) >= 3:
        return ["".join(ch for ch in q if ch.isdigit())]
    return [
        fold(w.removeprefix("@") if w.count("@") == 1 and w.startswith("@") else w)
        for w in q.split()
    ][:MAX_WORDS]


def only_short(q: str) -> bool:
    """Whether every word of q is under 3 characters (then they match as prefixes)."""
    return not any(len(w) >= 3 for w in words(q))


def match(q: str, workspace_id: int, dialect: str, *, alone: bool | None = None) -> Where:
    """The condition "matches every word of q" on `contact c`; everything matches an empty q.

    Tested row by row (search_text LIKE): cheap while walking a sort index when many contacts
    match; few matches go through `narrow_ids` and the text index instead.
    """
    found = [w for w in words(q) if w]
    if alone is None:  # only short words: prefixes, index-friendly
        alone = only_short(q)
    parts = [_word(w, workspace_id, alone, dialect) for w in found]
    if not parts:
        return Where()
    return Where(" AND ".join(p.sql for p in parts), [v for p in parts for v in p.params])


def _word(word: str, ws: int, alone: bool, dialect: str) -> Where:
    if len(word) < 3 and alone:  # too short for a trigram: a prefix of name, email or a tag
        high = word + "\uffff"
        return Where(
            "((c.name_key >= ? AND c.name_key < ?) OR (c.email >= ? AND c.email < ?)"
            f" OR c.id IN ({TAG_PREFIX}))",
            [word, high, word, high, ws, word, high],
        )
    pattern = like_pattern(word)
    if dialect == "sqlite":
        return Where(
            f"(c.search_text LIKE ? ESCAPE '\\' OR c.id IN ({TAG_OR_CHANNEL}))",
            [pattern, ws, pattern, ws, pattern, pattern, pattern],
        )
    # PostgreSQL: row by row (its guess for a LIKE on the trigram index is far too low, and a
    # hashed IN over tags and channels would join every identity), probing by contact id
    return Where(
        f"((c.search_text || '') LIKE ? ESCAPE '\\' OR EXISTS ({TAG_OF_ROW})"
        f" OR EXISTS ({CHANNEL_OF_ROW}))",
        [pattern, pattern, pattern, pattern, pattern],
    )


TAG_OF_ROW = (
    "SELECT 1 FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
    " WHERE ct.contact_id = c.id AND t.key LIKE ? ESCAPE '\\'"
)
CHANNEL_OF_ROW = (
    "SELECT 1 FROM identity i JOIN channel ch ON ch.id = i.channel_id WHERE i.contact_id = c.id"
    " AND (lower(ch.kind) LIKE ? ESCAPE '\\' OR lower(ch.name) LIKE ? ESCAPE '\\'"
    " OR lower(ch.key) LIKE ? ESCAPE '\\')"
)


TAG_PREFIX = (
    "SELECT ct.contact_id FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
    " WHERE t.workspace_id = ? AND t.key >= ? AND t.key < ?"
)
TAG_OR_CHANNEL = (
    "SELECT ct.contact_id FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
    " WHERE t.workspace_id = ? AND t.key LIKE ? ESCAPE '\\'"
    " UNION SELECT i.contact_id FROM identity i JOIN channel ch ON ch.id = i.channel_id"
    " WHERE ch.workspace_id = ? AND (lower(ch.kind) LIKE ? ESCAPE '\\'"
    " OR lower(ch.name) LIKE ? ESCAPE '\\' OR lower(ch.key) LIKE ? ESCAPE '\\')"
)


def _text_ids(word: str, ws: int, dialect: str) -> Where:
    """SELECT of the contacts whose search_text holds the word, through the text index."""
    if dialect == "sqlite":
        phrase = '"' + word.replace('"', '""') + '"'
        return Where("SELECT rowid FROM contact_fts WHERE contact_fts MATCH ?", [phrase])
    return Where(
        "SELECT id FROM contact WHERE workspace_id = ? AND search_text LIKE ? ESCAPE '\\'",
        [ws, like_pattern(word)],
    )


def _word_ids(word: str, ws: int, dialect: str) -> Where:
    """SELECT of the ids matching one word (text index, tags, channels)."""
    if len(word) < 3:
        high = word + "\uffff"
        return Where(
            "SELECT id FROM contact WHERE workspace_id = ? AND name_key >= ? AND name_key < ?"
            " UNION SELECT id FROM contact WHERE workspace_id = ? AND email >= ? AND email < ?"
            f" UNION {TAG_PREFIX}",
            [ws, word, high, ws, word, high, ws, word, high],
        )
    pattern = like_pattern(word)
    by_text = _text_ids(word, ws, dialect)
    return Where(
        f"{by_text.sql} UNION {TAG_OR_CHANNEL}",
        [*by_text.params, ws, pattern, ws, pattern, pattern, pattern],
    )


def is_identifier(q: str) -> bool:
    """Whether q reads as one whole phone number or email address."""
    q = q.strip()
    return ("@" in q and " " not in q) or bool(PHONE_LIKE.match(q))


NARROW = 5_000  # matches below which a search is cheaper driven by its ids than by a sort index


async def narrow_ids(tx: RawTx, q: str, workspace_id: int) -> tuple[list[int] | None, str]:
    """Ids matching the words of q that match few contacts, and the other words.

    Neither planner estimates a substring match well (SQLite cannot see into FTS5; PostgreSQL
    guesses a LIKE on the trigram index): with an ORDER BY they walk the sort index and test
    every contact, a full scan when few match. Collecting the (few) ids of a rare word once
    and sorting those rows is far cheaper; common words are then tested row by row.
    """
    found: set[int] | None = None
    broad: list[str] = []
    found_words = words(q)
    alone = not any(len(w) >= 3 for w in found_words)
    for word in found_words:
        if len(word) < 3 and not alone:  # tested row by row next to a longer word
            broad.append(word)
            continue
        if len(word) >= 3 and await _common(tx, word, workspace_id):
            broad.append(word)
            continue
        one = _word_ids(word, workspace_id, tx.dialect)
        rows = await tx.fetch(f"SELECT * FROM ({one.sql}) AS m LIMIT {NARROW + 1}", one.params)
        if len(rows) > NARROW:
            broad.append(word)
            continue
        ids = {int(r[0]) for r in rows}
        found = ids if found is None else found & ids
    long_words = [w for w in broad if len(w) >= 3]
    if found is None and len(long_words) > 1:  # common words, maybe a rare combination
        found = await _rare_together(tx, long_words, workspace_id)
    return (sorted(found) if found is not None else None), " ".join(broad)


async def _rare_together(tx: RawTx, found_words: list[str], ws: int) -> set[int] | None:
    """Ids of contacts whose text holds every word, when few do ("ana diaz": each word is on
    5 % of contacts, both on 0.25 %); None when many do, or when a word names a tag or a
    channel (those matches are not in the text index)."""
    for word in found_words:
        pattern = like_pattern(word)
        hit = await tx.fetch(
            f"SELECT 1 FROM ({TAG_OR_CHANNEL}) AS m LIMIT 1", [ws, pattern, ws, *[pattern] * 3]
        )
        if hit:
            return None
    if tx.dialect == "sqlite":
        phrases = " AND ".join('"' + w.replace('"', '""') + '"' for w in found_words)
        sql = "SELECT rowid FROM contact_fts WHERE contact_fts MATCH ?"
        params: list[object] = [phrases]
    else:
        likes = " AND ".join("search_text LIKE ? ESCAPE '\\'" for _ in found_words)
        sql = f"SELECT id FROM contact WHERE workspace_id = ? AND {likes}"
        params = [ws, *(like_pattern(w) for w in found_words)]
    rows = await tx.fetch(f"SELECT * FROM ({sql}) AS m LIMIT {NARROW + 1}", params)
    return {int(r[0]) for r in rows} if len(rows) <= NARROW else None


async def _common(tx: RawTx, word: str, ws: int) -> bool:
    """Whether the text index alone has more than NARROW matches (read lazily, stops early;
    the UNION with tags and channels would read every match first)."""
    by_text = _text_ids(word, ws, tx.dialect)
    rows = await tx.fetch(
        f"SELECT COUNT(*) FROM ({by_text.sql} LIMIT {NARROW + 1}) AS m", by_text.params
    )
    return int(rows[0][0]) > NARROW


async def exact_ids(tx: RawTx, q: str, workspace_id: int, region: str) -> list[int]:
    """Live contacts whose phone or email equals the query (they rank first)."""
    q = q.strip()
    column, value = None, None
    if "@" in q and " " not in q:
        column, value = "email", normalise_email(q)
    elif PHONE_LIKE.match(q):
        column, value = "phone", to_e164_read(q, region)
    if column is None or not value:
        return []
    column, value = lookup(column, value)  # a phone under any variant of it
    rows = await tx.fetch(
        f"SELECT COALESCE(merged_into_id, id) FROM contact WHERE workspace_id = ? AND {column} = ?",
        [workspace_id, value],
    )
    return [int(r[0]) for r in rows]
