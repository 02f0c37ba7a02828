"""Contacts the bot tests talk about: some wrote on Telegram (an identity with a username)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from store import contacts, db
from store.access import Actor
from store.inbound import write_batch
from store.setup import get_workspace
from store.types import Inbound, Item
from tests import helpers as h

SENT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_mids = itertools.count(1)


async def admin_actor() -> Actor:
    """An API-style admin of acme, to seed data."""
    return Actor((await get_workspace("acme")).id, "token:seed", "api", "admin")


async def telegram_person(user_id: str, username: str, name: str, text: str = "hola") -> int:
    """Someone who wrote to the customer bot; returns the contact id."""
    found = await h.rows("SELECT id FROM channel WHERE key = 'telegram-acme-key'")
    channel = await h.channel("telegram") if not found else None
    if channel is None:
        from store.channels import channel_by_key

        channel = await channel_by_key("telegram-acme-key")
    assert channel is not None
    inbound = Inbound(
        external_id=user_id, provider_message_id=f"m{next(_mids)}", type="text", sent_at=SENT,
        text=text, username=username, display_name=name,
    )  # fmt: skip
    async with db.raw_transaction() as tx:
        assert await write_batch(tx, [Item(channel, inbound)]) == ["stored"]
    return int(await h.scalar("SELECT contact_id FROM identity WHERE external_id = ?", user_id))


async def people() -> dict[str, int]:
    """Ana Pérez (Telegram @anap, phone, email), Ana Gómez, Beto Díaz (tagged vip), Cris."""
    admin = await admin_actor()
    ana = await telegram_person("5551", "anap", "Ana Pérez")
    await contacts.patch(admin, ana, {"phone": "+593991234567", "email": "ana@example.com"})
    made = {"ana": ana}
    for key, data in (
        ("gomez", {"name": "Ana Gómez", "email": "gomez@example.com", "country": "EC"}),
        ("beto", {"name": "Beto Díaz", "phone": "+593987654321", "country": "PE"}),
        ("cris", {"name": "Cris Lara", "country": "EC"}),
    ):
        contact, _ = await contacts.upsert(admin, data)
        made[key] = contact.id
    from store import tags

    await tags.add(admin, made["beto"], ["vip"])
    return made


async def many(count: int, name_width: int = 20, prefix: str = "Zed") -> None:
    """`count` more contacts named `Zed 001 xxxx…` (names `name_width` long), by CSV import."""
    import tempfile
    from pathlib import Path

    from store.files import importer

    lines = ["name,country"]
    lines += [f"{f'{prefix} {i:03d} '.ljust(name_width, 'x')},EC" for i in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "many.csv"
        source.write_text("\n".join(lines) + "\n")
        result = await importer.import_csv(await admin_actor(), source)
    assert result.created == count
