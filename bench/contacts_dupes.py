"""The duplicate finder's figures for bench/contacts.py: planted pairs of every reason in the
bench workspace, then the first page's p50/p95 and what it found (planted vs other pairs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from store import duplicates, text
from store.access import Actor
from store.db import raw_transaction
from store.phone_keys import phone_key

REASONS = ("phone", "email", "identifier", "name_company", "name_city")
CREATED = datetime(2026, 11, 22, tzinfo=UTC)  # after every generated contact
Timer = Callable[[str, int, Callable[[int], Awaitable[Any]]], Awaitable[list[float]]]


def twins(j: int) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """The j-th planted pair of each reason: (one, other, reason kind)."""
    name = f"Gemela Prueba{j}"
    return [
        ({"name": f"Mx {j}", "phone": f"+5255{j:08d}"}, {"name": f"Mx W{j}",
         "phone": f"+52155{j:08d}"}, "phone"),
        ({"name": f"Mail {j}", "email": f"twin{j}@example.org"},
         {"name": f"Mail C{j}", "vouched": f"twin{j}@example.org"}, "email"),
        ({"name": f"Id {j}", "identifier": f"BENCH-{j}"},
         {"name": f"Id B{j}", "identifier": f"BENCH-{j}"}, "identifier"),
        ({"name": f"{name} Co", "company": f"Twin Co {j}"},
         {"name": f"{name.upper()} CO", "company": f"twin co {j}"}, "name_company"),
        ({"name": f"{name} Ci", "city": "Quito"}, {"name": f"{name} ci", "city": "QUITO"},
         "name_city"),
    ]  # fmt: skip


async def plant(ws: int, channel: int, n: int) -> int:
    """Plant n // 2000 pairs (at least 5) of each reason; returns how many pairs in all."""
    per_reason = max(5, n // 2000)
    rows, vouched = [], []
    for j in range(per_reason):
        for one, other, _kind in twins(j):
            for k, person in enumerate((one, other)):
                created = CREATED + timedelta(seconds=j * 10 + k)
                rows.append(_row(ws, person, created))
                if "vouched" in person:
                    vouched.append((len(rows) - 1, person["vouched"]))
    async with raw_transaction() as tx:
        ids = []
        for row in rows:
            got = await tx.fetch(
                "INSERT INTO contact (workspace_id, name, email, phone, phone_key, identifier,"
                " company, city, custom, source, created_at, updated_at, search_text, name_key)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                row,
            )
            ids.append(int(got[0][0]))
        await tx.executemany(
            "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, email,"
            " period, created_at) VALUES (?,?,?,?,?,?,CURRENT_TIMESTAMP)",
            [(ws, channel, ids[i], f"mail-{email}", email, "2026-11") for i, email in vouched],
        )
    return per_reason * len(REASONS)


def _row(ws: int, p: dict[str, Any], created: datetime) -> list[Any]:
    cols = ("name", "email", "phone")
    return [ws, *(p.get(c) for c in cols), phone_key(p.get("phone")), p.get("identifier"),
            p.get("company"), p.get("city"), "{}", "import", created, created,
            text.search_text(p), text.fold_or_none(p["name"])]  # fmt: skip


async def figures(actor: Actor, planted: int, runs: int, timed: Timer) -> None:
    """First page p50/p95, and the whole list's planted / other pairs."""
    await timed(
        "duplicates: first page (20 pairs)",
        runs,
        lambda i: duplicates.find(actor, limit=20),
    )
    everything = await duplicates.find(actor, limit=500)
    kinds: dict[str, int] = {}
    cursor = everything.next_cursor
    pairs = list(everything.pairs)
    while cursor:
        page = await duplicates.find(actor, limit=500, cursor=cursor)
        pairs += page.pairs
        cursor = page.next_cursor
    for pair in pairs:
        for reason in pair.reasons:
            kinds[reason.kind] = kinds.get(reason.kind, 0) + 1
    found = sum(1 for p in pairs if _planted(p))
    print(
        f"{'duplicates: pairs found / planted / other':<44} {found:8,} / {planted:,} /"
        f" {len(pairs) - found:,}   by reason {kinds}",
        flush=True,
    )


def _planted(pair: duplicates.Pair) -> bool:
    return pair.a.created_at >= CREATED and pair.b.created_at >= CREATED
