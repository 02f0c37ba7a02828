"""The audit log: who did what, from which surface, when."""

from __future__ import annotations

from typing import Any

from store.models_ops import AuditLog


async def record(
    workspace_id: int | None,
    actor: str,
    surface: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit line."""
    await AuditLog.create(
        workspace_id=workspace_id,
        actor=actor,
        surface=surface,
        action=action,
        target=target,
        detail=detail,
    )
