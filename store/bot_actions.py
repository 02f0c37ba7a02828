"""What a chat button stands for while it waits: kept server-side, the button holds only the id.

A confirmation is taken once (the first press runs it, later presses find it used); a list's
"next page" or a merge's picks are read and updated as often as pressed until they expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from store.contacts import stamp
from store.db import ClientTx, raw_transaction
from store.serial import dump_json, load_json

KEEP_EXPIRED = timedelta(days=1)  # expired rows stay this long, so a late press says "expired"
COLUMNS = "id, workspace_id, kind, payload, blob, created_by, expires_at, used_at"


@dataclass(frozen=True, slots=True)
class PendingAction:
    """A stored button action."""

    id: int
    workspace_id: int
    kind: str
    payload: dict[str, Any]
    blob: bytes | None
    created_by: str
    expires_at: datetime
    used: bool


def _action(row: Any) -> PendingAction:
    aid, ws, kind, payload, blob, by, expires, used = row
    return PendingAction(
        int(aid), int(ws), str(kind), dict(load_json(payload) or {}),
        bytes(blob) if blob is not None else None, str(by), stamp(expires), used is not None,
    )  # fmt: skip


async def save(
    workspace_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    created_by: str,
    ttl: timedelta,
    blob: bytes | None = None,
    now: datetime | None = None,
) -> int:
    """Store an action for `ttl`; returns its id. Long-expired actions are swept here."""
    now = now or datetime.now(UTC)
    async with raw_transaction() as tx:
        await tx.execute("DELETE FROM bot_action WHERE expires_at < ?", [now - KEEP_EXPIRED])
        rows = await tx.fetch(
            "INSERT INTO bot_action (workspace_id, kind, payload, blob, created_by, created_at,"
            " expires_at) VALUES (?,?,?,?,?,?,?) RETURNING id",
            [workspace_id, kind, dump_json(payload), blob, created_by, now, now + ttl],
        )
    return int(rows[0][0])


async def get(workspace_id: int, action_id: int) -> PendingAction | None:
    """The action with this id in the workspace, used or not; None when gone."""
    rows = await ClientTx().fetch(
        f"SELECT {COLUMNS} FROM bot_action WHERE id = ? AND workspace_id = ?",
        [action_id, workspace_id],
    )
    return _action(rows[0]) if rows else None


async def take(workspace_id: int, action_id: int, now: datetime | None = None) -> bool:
    """Mark an unused, unexpired action used; False when another press got it first."""
    now = now or datetime.now(UTC)
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "UPDATE bot_action SET used_at = ? WHERE id = ? AND workspace_id = ?"
            " AND used_at IS NULL AND expires_at > ? RETURNING id",
            [now, action_id, workspace_id, now],
        )
    return bool(rows)


async def update(workspace_id: int, action_id: int, payload: dict[str, Any]) -> None:
    """Replace an action's payload (a merge's picks as they change)."""
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE bot_action SET payload = ? WHERE id = ? AND workspace_id = ?",
            [dump_json(payload), action_id, workspace_id],
        )
