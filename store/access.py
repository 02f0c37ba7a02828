"""Who is calling: the actor every contact operation takes, and the one role check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.db import RawTx
from store.errors import Forbidden
from store.serial import dump_json

ROLE_RANK = {"agent": 1, "admin": 2, "owner": 3}


@dataclass(frozen=True, slots=True)
class Actor:
    """A caller bound to one workspace with a role, seen through one surface.

    `name` is what the audit log shows (token name, `slack:T1:U1`, `telegram:42`, `cli`).
    """

    workspace_id: int
    name: str
    surface: str  # api | cli | slack | telegram | system
    role: str  # agent | admin | owner


def require(actor: Actor, role: str) -> None:
    """Refuse (Forbidden) unless the actor's role is at least `role`."""
    if ROLE_RANK.get(actor.role, 0) < ROLE_RANK[role]:
        raise Forbidden(f"this needs the {role} role; you are {actor.role}")


def system(workspace_id: int, name: str = "system") -> Actor:
    """The gateway itself (the scheduler, a reset run, a notification) as an audit actor."""
    return Actor(workspace_id, name, "system", "owner")


async def audit(
    tx: RawTx,
    actor: Actor,
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
