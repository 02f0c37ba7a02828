"""Who is calling: the actor every operation takes, the one role ranking and the one audit
writer (inside the transaction of the change it records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.db import RawTx, raw_transaction
from store.errors import Forbidden
from store.serial import dump_json

ROLES = ("agent", "admin", "owner")  # each may do what the ones before it may
_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}


@dataclass(frozen=True, slots=True)
class Actor:
    """A caller bound to one workspace with a role, seen through one surface.

    `name` is what the audit log shows (token name, `slack:T1:U1`, `telegram:42`, `cli`).
    """

    workspace_id: int
    name: str
    surface: str  # api | cli | slack | telegram | system
    role: str  # agent | admin | owner


@dataclass(frozen=True, slots=True)
class Stranger:
    """A caller bound to no workspace (a chat user nobody added): audited, never served."""

    name: str
    surface: str
    workspace_id: None = None


def allows(role: str, needed: str) -> bool:
    """Whether `role` is at least `needed` (an unknown role allows nothing)."""
    return _RANK.get(role, 0) >= _RANK[needed]


def require(actor: Actor, role: str) -> None:
    """Refuse (Forbidden) unless the actor's role is at least `role`."""
    if not allows(actor.role, role):
        raise Forbidden(f"this needs the {role} role; you are {actor.role}")


def system(workspace_id: int, name: str = "system") -> Actor:
    """The gateway itself (the scheduler, a reset run, a notification) as an audit actor."""
    return Actor(workspace_id, name, "system", "owner")


async def audit(
    tx: RawTx,
    actor: Actor | Stranger,
    action: str,
    target: str | None,
    detail: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Write an audit line inside the transaction that makes the change (at `at`, or now)."""
    await tx.execute(
        "INSERT INTO audit_log (workspace_id, actor, surface, action, target, detail, at)"
        " VALUES (?,?,?,?,?,?,?)",
        [
            actor.workspace_id,
            actor.name,
            actor.surface,
            action,
            target,
            dump_json(detail) if detail is not None else None,
            at or datetime.now(UTC),
        ],
    )


async def refused(actor: Actor | Stranger, what: str, detail: dict[str, Any]) -> None:
    """Audit a refused request: nothing changed, so its line is a transaction of its own."""
    async with raw_transaction() as tx:
        await audit(tx, actor, "bot.refused", what, detail)
