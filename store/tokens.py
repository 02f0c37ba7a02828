"""API tokens: create (shown once, stored as a hash), declare, list without secrets, revoke."""

from __future__ import annotations

import hashlib
import secrets as pysecrets
from dataclasses import dataclass
from datetime import UTC, datetime

from store.access import ROLES, Actor, audit, require
from store.channels import workspace_id
from store.contacts import as_datetime, stamp
from store.db import ClientTx, raw_transaction
from store.errors import Conflict, Invalid, NotFound


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as `token list` shows it: never its value."""

    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_role(role: str) -> None:
    """Refuse (Invalid) a role name that is not agent, admin or owner."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")


async def create_token(
    workspace: str,
    name: str,
    role: str,
    *,
    token: str | None = None,
    actor: str = "system",
    surface: str = "cli",
) -> str:
    """Create an API token and return it in clear (the only time it is seen)."""
    check_role(role)
    token = token or f"cg_{pysecrets.token_urlsafe(32)}"
    async with raw_transaction() as tx:
        ws = await workspace_id(tx, workspace)
        made = await tx.fetch(
            "INSERT INTO api_token (workspace_id, name, role, token_hash, created_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
            [ws, name, role, hash_token(token), datetime.now(UTC)],
        )
        if not made:
            raise Conflict("that token already exists")
        await audit(tx, Actor(ws, actor, surface, "owner"), "token.create", name, {"role": role})
    return token


async def ensure_token(workspace: str, name: str, role: str, token: str) -> None:
    """Make a declared token exist with this role (idempotent, for the config file)."""
    check_role(role)
    async with raw_transaction() as tx:
        ws = await workspace_id(tx, workspace)
        await tx.execute(
            "INSERT INTO api_token (workspace_id, name, role, token_hash, created_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT (token_hash) DO UPDATE SET"
            " workspace_id = excluded.workspace_id, name = excluded.name, role = excluded.role",
            [ws, name, role, hash_token(token), datetime.now(UTC)],
        )


async def list_tokens(workspace: str) -> list[TokenInfo]:
    """The workspace's tokens, revoked ones included, oldest first."""
    tx = ClientTx()
    ws = await workspace_id(tx, workspace)
    rows = await tx.fetch(
        "SELECT name, role, created_at, last_used_at, revoked_at FROM api_token"
        " WHERE workspace_id = ? ORDER BY id",
        [ws],
    )
    return [
        TokenInfo(str(n), str(r), stamp(c), as_datetime(u), as_datetime(x))
        for n, r, c, u, x in rows
    ]


async def revoke_token(actor: Actor, name: str, *, now: datetime | None = None) -> int:
    """Revoke the workspace's live tokens named `name` (owners); how many were revoked."""
    require(actor, "owner")
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "SELECT id FROM api_token WHERE workspace_id = ? AND name = ? AND revoked_at IS NULL",
            [actor.workspace_id, name],
        )
        if not rows:
            raise NotFound(f"no live token {name!r} in this workspace")
        await tx.executemany(
            "UPDATE api_token SET revoked_at = ? WHERE id = ?",
            [(now or datetime.now(UTC), int(r[0])) for r in rows],
        )
        await audit(tx, actor, "token.revoke", name, {"count": len(rows)})
    return len(rows)
