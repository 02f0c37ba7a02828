"""A workspace seeded for the duplicate finder: planted duplicate pairs of every reason, and
look-alikes that must not pair. Rows are written with SQL as older data would hold them (the
write paths of today join a phone variant or an email to the contact that has it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from store import text
from store.db import ClientTx, raw_transaction
from store.phone_keys import phone_key
from store.types import ChannelInfo

BASE = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

# label -> (name, fields); created a minute apart in this order
PEOPLE: dict[str, dict[str, Any]] = {
    "mx_new": {"name": "Laura Gómez", "phone": "+525512345678"},
    "mx_wa": {"name": "Lau", "phone": "+5215512345678"},
    "ar_intl": {"name": "Pablo Ruiz", "phone": "+5491123456789"},
    "ar_home": {"name": "P. Ruiz", "phone": "+541123456789"},
    "br_nine": {"name": "Beatriz Souza", "phone": "+5511987654321"},
    "br_old": {"name": "Bia", "phone": "+551187654321"},
    "crm_a": {"name": "Tomás Vera", "identifier": "CRM-77"},
    "crm_b": {"name": "T. Vera", "identifier": "CRM-77"},
    "mail_form": {"name": "Marta Díaz", "email": "marta@example.com"},
    "mail_chan": {"name": "Marta"},  # its email identity vouches marta@example.com
    "jose_acme": {"name": "José Pérez", "company": "Acme S.A.", "email": "jp@acme.ec"},
    "jose_ACME": {"name": "jose perez", "company": "ACME S.A.", "email": "jose@gmail.com"},
    "maria_quito": {"name": "María López", "city": "Quito"},
    "maria_QUITO": {"name": "Maria Lopez", "city": "quito"},
    "ines_a": {"name": "Inés Mora", "city": "Cuenca", "identifier": "X-1"},
    "ines_b": {"name": "Ines Mora", "city": "Cuenca", "identifier": "X-1"},
    # look-alikes: none of these pairs
    "carlos_quito": {"name": "Carlos Ruiz", "city": "Quito"},
    "carlos_lima": {"name": "Carlos Ruiz", "city": "Lima"},
    "juan_1": {"name": "Juan", "city": "Quito"},
    "juan_2": {"name": "Juan", "city": "Quito"},
    "near_phone_1": {"name": "Ana Paz", "phone": "+593991234567"},
    "near_phone_2": {"name": "Ana Vaca", "phone": "+593991234568"},
    "stranger": {"name": "Rosa Ortiz", "email": "rosa@example.org", "company": "Acme S.A."},
    **{f"shared_{n}": {"name": f"Cliente {n}", "identifier": "SHARED"} for n in range(11)},
    "shop": {"name": "Tienda Sol", "email": "info@tienda.example"},
    **{f"shop_{n}": {"name": f"Comprador {n}"} for n in range(10)},  # each vouches info@tienda
}
# (label a, label b) -> reasons as (kind, value), in the order the finder gives them
PLANTED: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("mx_new", "mx_wa"): [("phone", "+525512345678")],
    ("ar_intl", "ar_home"): [("phone", "+541123456789")],
    ("br_nine", "br_old"): [("phone", "+551187654321")],
    ("crm_a", "crm_b"): [("identifier", "CRM-77")],
    ("mail_form", "mail_chan"): [("email", "marta@example.com")],
    ("jose_acme", "jose_ACME"): [("name_company", "José Pérez, Acme S.A.")],
    ("maria_quito", "maria_QUITO"): [("name_city", "María López, Quito")],
    ("ines_a", "ines_b"): [("identifier", "X-1"), ("name_city", "Inés Mora, Cuenca")],
}


async def seed(workspace_id: int, email_channel: ChannelInfo) -> dict[str, int]:
    """Write PEOPLE into the workspace; their ids by label."""
    ids: dict[str, int] = {}
    async with raw_transaction() as tx:
        for n, (label, person) in enumerate(PEOPLE.items()):
            ids[label] = await _insert(tx, workspace_id, person, BASE + timedelta(minutes=n))
        vouched = [("mail_chan", "marta@example.com")]
        vouched += [(f"shop_{n}", "info@tienda.example") for n in range(10)]
        await tx.executemany(
            "INSERT INTO identity (workspace_id, channel_id, contact_id, external_id, email,"
            " period, created_at) VALUES (?,?,?,?,?,?,?)",
            [(workspace_id, email_channel.id, ids[label], f"{label}:{email}", email, "2026-10",
              BASE) for label, email in vouched],
        )  # fmt: skip
    return ids


async def _insert(tx: Any, workspace_id: int, person: dict[str, Any], created: datetime) -> int:
    columns = ("name", "email", "phone", "identifier", "company", "city")
    values = [person.get(c) for c in columns]
    rows = await tx.fetch(
        "INSERT INTO contact (workspace_id, name, email, phone, identifier, company, city,"
        " phone_key, custom, source, created_at, updated_at, search_text, name_key)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        [workspace_id, *values, phone_key(person.get("phone")), "{}", "manual", created,
         created, text.search_text(person), text.fold_or_none(person["name"])],
    )  # fmt: skip
    return int(rows[0][0])


def expected(ids: dict[str, int]) -> dict[tuple[int, int], list[tuple[str, str]]]:
    """PLANTED by contact ids, lower id first."""
    out = {}
    for (x, y), reasons in PLANTED.items():
        a, b = sorted((ids[x], ids[y]))
        out[(a, b)] = reasons
    return out


async def live_ids(workspace_id: int) -> list[int]:
    """Ids of the workspace's contacts."""
    rows = await ClientTx().fetch(
        "SELECT id FROM contact WHERE workspace_id = ? ORDER BY id", [workspace_id]
    )
    return [int(r[0]) for r in rows]
