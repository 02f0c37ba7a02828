"""API bearer tokens: a clear token -> the caller it stands for (workspace, role), or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from store.access import Actor
from store.contacts import as_datetime
from store.db import ClientTx, raw_transaction
from store.tokens import hash_token

TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is a hint, not a log: one write a minute
MAX_TOKEN = 200


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated API caller: the actor plus the workspace facts a route needs."""

    actor: Actor
    workspace: str  # slug
    region: str  # default phone region


async def caller_for_token(token: str) -> Caller | None:
    """The live token's caller; None for an unknown or revoked token."""
    if not token or len(token) > MAX_TOKEN:
        return None
    rows = await ClientTx().fetch(
        "SELECT t.id, t.name, t.role, t.revoked_at, t.last_used_at, w.id, w.slug,"
        " w.default_region FROM api_token t JOIN workspace w ON w.id = t.workspace_id"
        " WHERE t.token_hash = ?",
        [hash_token(token)],
    )
    if not rows:
        return None
    token_id, name, role, revoked_at, last_used, ws_id, slug, region = rows[0]
    if revoked_at is not None:
        return None
    await _touch(int(token_id), as_datetime(last_used))
    actor = Actor(int(ws_id), name=f"token:{name}", surface="api", role=str(role))
    return Caller(actor, str(slug), str(region))


async def _touch(token_id: int, last_used: datetime | None) -> None:
    now = datetime.now(UTC)
    if last_used is not None and now - last_used < TOUCH_EVERY:
        return
    async with raw_transaction() as tx:
        await tx.execute("UPDATE api_token SET last_used_at = ? WHERE id = ?", [now, token_id])
