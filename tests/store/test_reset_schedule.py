"""The scheduler's reset duties at frozen moments: warn 48 h before, run when due, catch up."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from gateway.resets import ResetRunner
from gateway.settings import load_settings
from store import reset
from store.reset.schedule import due, previous_period, warn_upcoming
from tests import helpers as h
from tests.store.test_reset import owner, person

ZONE = ZoneInfo(h.TEST_ZONE)  # the test workspace's zone: the times below are local


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


NOV_RUN = moment("2026-11-30T23:00")
NOV_MIDMONTH = moment("2026-11-10T12:00")  # when the November run's people wrote


def test_previous_period() -> None:
    assert previous_period("2027-01") == "2026-12"
    assert previous_period("2026-11") == "2026-10"


@pytest.mark.usefixtures("orm")
async def test_a_run_is_due_from_the_last_day_at_the_local_time() -> None:
    actor = await owner()
    await reset.set_mode(actor, "all", now=moment("2026-11-03T10:00"))
    assert await due(moment("2026-11-30T22:59"), 72) == []
    [run] = await due(NOV_RUN, 72)
    assert (run.slug, run.period, run.mode, run.enabled_by) == (
        "acme",
        "2026-11",
        "all",
        "token:boss",
    )
    assert [d.period for d in await due(moment("2026-11-30T23:59"), 72)] == ["2026-11"]


@pytest.mark.usefixtures("orm")
async def test_a_late_change_runs_from_next_month() -> None:
    actor = await owner()
    status = await reset.set_mode(actor, "tagged", now=moment("2026-11-29T09:00"))
    assert status.mode == "off" and status.pending_mode == "tagged"
    assert status.pending_from == "2026-12"
    assert "from December 2026 on" in status.message and "2026-11-28" in status.message
    assert await due(NOV_RUN, 72) == []
    [run] = await due(moment("2026-12-31T23:00"), 72)
    assert (run.period, run.mode) == ("2026-12", "tagged")


@pytest.mark.usefixtures("orm")
async def test_a_missed_run_is_caught_up_early_next_month_unless_changed_since() -> None:
    actor = await owner()
    await reset.set_mode(actor, "all", now=moment("2026-11-03T10:00"))
    [late] = await due(moment("2026-12-01T05:00"), 72)
    assert late.period == "2026-11"
    assert await due(moment("2026-12-04T01:00"), 72) == []  # past the 72 h of grace
    assert await due(moment("2026-12-01T05:00"), 0) == []
    await reset.set_mode(
        actor, "tagged", now=moment("2026-12-01T01:00")
    )  # changed after it was due
    assert await due(moment("2026-12-01T05:00"), 72) == []


@pytest.mark.usefixtures("orm")
async def test_the_warning_comes_once_48_hours_before_with_the_counts() -> None:
    actor = await owner()
    tg = await h.channel("telegram")
    with time_machine.travel(NOV_MIDMONTH, tick=False):
        await person(tg, "ana", 3)
    await reset.set_mode(actor, "all", now=moment("2026-11-03T10:00"))
    assert await warn_upcoming(moment("2026-11-28T22:59")) == []
    assert await warn_upcoming(moment("2026-11-28T23:00")) == ["acme"]
    assert await warn_upcoming(moment("2026-11-29T10:00")) == []
    [event] = await h.rows("SELECT kind, key, payload FROM event")
    payload = (
        event["payload"] if isinstance(event["payload"], dict) else json.loads(event["payload"])
    )
    assert (event["kind"], event["key"]) == ("reset_soon", "reset_soon:2026-11")
    assert payload["contacts"] == 1 and payload["messages"] == 3 and payload["mode"] == "all"
    assert payload["run_at"] == NOV_RUN.astimezone(UTC).isoformat()


@pytest.mark.usefixtures("orm")
async def test_the_runner_claims_and_runs_a_due_reset_once(tmp_path: Path) -> None:
    actor = await owner()
    tg = await h.channel("telegram")
    with time_machine.travel(NOV_MIDMONTH, tick=False):
        for name in ("ana", "beto"):
            await person(tg, name, 1)
    await reset.set_mode(actor, "all", now=moment("2026-11-03T10:00"))
    settings = load_settings(reset_export_dir=tmp_path / "x", reset_pause_seconds=0)
    runner, rival = ResetRunner(settings), ResetRunner(settings)
    [started] = await runner.tick(NOV_RUN)
    assert await rival.tick(NOV_RUN) == []  # another process: the run is taken
    assert await runner.tick(NOV_RUN) == []  # this process: already running here
    await runner.join()
    [run] = await reset.list_runs(actor)
    assert (run.id, run.state, run.trigger, run.period) == (started, "done", "schedule", "2026-11")
    assert run.counts["contacts"] == 2 and run.requested_by is None
    assert await runner.tick(moment("2026-11-30T23:30")) == []
    await runner.close()
