"""store/access.py: the one role ranking, and the one audit writer (with or without a
workspace)."""

from __future__ import annotations

import pytest

from store import access
from store.access import ROLES, Actor, Stranger
from store.db import ClientTx
from store.errors import Forbidden
from store.serial import load_json
from tests import helpers


def test_each_role_allows_what_the_ones_below_it_allow() -> None:
    table = {(role, needed): access.allows(role, needed) for role in ROLES for needed in ROLES}
    assert [pair for pair, allowed in table.items() if allowed] == [
        ("agent", "agent"),
        ("admin", "agent"),
        ("admin", "admin"),
        ("owner", "agent"),
        ("owner", "admin"),
        ("owner", "owner"),
    ]
    assert not access.allows("guest", "agent")
    with pytest.raises(Forbidden, match=r"^this needs the owner role; you are admin$"):
        access.require(Actor(1, "token:x", "api", "admin"), "owner")


async def test_a_refusal_is_audited_with_or_without_a_workspace(orm: str) -> None:
    await helpers.workspace()
    owner = await helpers.owner()
    await access.refused(owner, "plan set", {"reason": "r"})
    await access.refused(Stranger("telegram:42", "telegram"), "help", {"reason": "unknown user"})
    rows = await ClientTx().fetch(
        "SELECT workspace_id, actor, surface, action, target, detail FROM audit_log ORDER BY id"
    )
    assert [(*row[:5], load_json(row[5])) for row in rows[-2:]] == [
        (owner.workspace_id, "test", "test", "bot.refused", "plan set", {"reason": "r"}),
        (None, "telegram:42", "telegram", "bot.refused", "help", {"reason": "unknown user"}),
    ]
