"""A reset's month ends at midnight in the workspace's zone, whichever side of UTC it is on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from store import reset
from store.access import Actor
from store.setup import get_workspace
from tests import helpers as h
from tests.store.test_reset import person


@pytest.mark.parametrize(
    "zone",
    ["America/Mexico_City", "America/Guayaquil", "Asia/Tokyo", "Pacific/Auckland"],
)
@pytest.mark.usefixtures("orm")
async def test_the_month_of_a_contact_is_read_in_the_workspace_zone(zone: str) -> None:
    """People who first wrote on the last evening (local) are in the month's reset; people who
    wrote after local midnight are not, though in UTC the two are the other way round for one
    side of the world (SQLite compares the stored times as text)."""
    await h.workspace("acme", tz=zone)
    actor = Actor((await get_workspace("acme")).id, "token:boss", "api", "owner")
    tg = await h.channel("telegram")
    local = ZoneInfo(zone)
    made = {
        "last_evening": datetime(2026, 12, 31, 23, 10, tzinfo=local),
        "new_year": datetime(2027, 1, 1, 0, 20, tzinfo=local),
    }
    for who, moment in made.items():
        with time_machine.travel(moment, tick=False):
            await person(tg, who, 1)
    december = await reset.preview(actor, "all", now=datetime(2026, 12, 31, 23, 30, tzinfo=local))
    january = await reset.preview(actor, "all", now=datetime(2027, 1, 31, 23, 30, tzinfo=local))
    assert (december.period, december.contacts) == ("2026-12", 1)
    assert (january.period, january.contacts) == ("2027-01", 2)
