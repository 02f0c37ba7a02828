"""store.plan.set_cap: owners only, one transaction holding the change and its audit line."""

from __future__ import annotations

from typing import Any

import pytest

from store import access, plan
from store.access import Actor
from store.db import ClientTx, RawTx
from store.errors import Forbidden
from store.serial import load_json
from tests import helpers


async def _actor(role: str) -> Actor:
    await helpers.workspace("acme", cap=5)
    return Actor((await helpers.owner()).workspace_id, f"token:{role}", "api", role)


async def _state() -> tuple[int, list[tuple[Any, ...]]]:
    tx = ClientTx()
    cap = await tx.fetch("SELECT plan_cap FROM workspace WHERE slug = 'acme'")
    lines = await tx.fetch(
        "SELECT actor, surface, action, target FROM audit_log WHERE action = 'plan.set_cap'"
    )
    return int(cap[0][0]), [tuple(row) for row in lines]


async def test_only_an_owner_sets_the_cap(orm: str) -> None:
    for role in ("agent", "admin"):
        with pytest.raises(Forbidden, match=f"^this needs the owner role; you are {role}$"):
            await plan.set_cap(await _actor(role), 9)
    assert await _state() == (5, [])
    assert (await plan.set_cap(await _actor("owner"), 9)).cap == 9
    assert await _state() == (9, [("token:owner", "api", "plan.set_cap", "acme")])


async def test_the_audit_line_is_written_in_the_change_s_transaction(
    orm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Any, ...]] = []

    async def audit(tx: RawTx, *args: Any, **kwargs: Any) -> None:
        await access.audit(tx, *args, **kwargs)
        cap = await tx.fetch("SELECT plan_cap FROM workspace WHERE slug = 'acme'")
        lines = await tx.fetch("SELECT detail FROM audit_log WHERE action = 'plan.set_cap'")
        seen.append((int(cap[0][0]), [load_json(d) for (d,) in lines]))

    monkeypatch.setattr(plan, "audit", audit)
    await plan.set_cap(await _actor("owner"), 7)
    assert seen == [(7, [{"from": 5, "to": 7, "admitted_senders": 0}])]
    assert await _state() == (7, [("token:owner", "api", "plan.set_cap", "acme")])


async def test_a_failing_change_leaves_neither_cap_nor_audit_line(
    orm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def audit_then_fail(tx: RawTx, *args: Any, **kwargs: Any) -> None:
        await access.audit(tx, *args, **kwargs)
        raise RuntimeError("the change fails after its audit line")

    monkeypatch.setattr(plan, "audit", audit_then_fail)
    with pytest.raises(RuntimeError, match="fails after its audit line"):
        await plan.set_cap(await _actor("owner"), 7)
    assert await _state() == (5, [])
