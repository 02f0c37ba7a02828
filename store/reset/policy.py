"""The monthly reset policy of a workspace: its mode, when a change takes effect, when it runs.

Dates are the workspace's local calendar (its IANA timezone). The run of a period is due on the
period's last day at the workspace's `reset_local_time` (23:00 unless set). A change that makes
the reset delete more (off -> tagged -> all) counts for this month only when made at least
DEADLINE_DAYS calendar days before the last day (30 November: up to 28 November); later, it
takes effect the following month. A change that deletes less (disable, all -> tagged) applies
at once: nobody should lose contacts because they changed their mind late.

Workspace columns: `reset_mode` is in force now; `reset_pending_mode` replaces it from
`reset_pending_period` on. Nothing rewrites them when a month starts: `mode_for` reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from store.periods import last_day, next_period, period_of, zone

MODES = ("off", "tagged", "all")  # in order of how much they delete
DEADLINE_DAYS = 2
LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Setting:
    """The reset columns of a workspace row."""

    mode: str
    pending_mode: str | None
    pending_period: str | None
    timezone: str
    local_time: str
    set_at: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> Setting:
        """From a Workspace model (or anything with its attribute names)."""
        return cls(
            row.reset_mode,
            row.reset_pending_mode,
            row.reset_pending_period,
            row.timezone,
            row.reset_local_time,
            row.reset_set_at,
        )


def month_name(period: str) -> str:
    """`2026-12` -> `December 2026`."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def mode_for(setting: Setting, period: str) -> str:
    """The mode in force for `period` (a pending change counts from its period on)."""
    pending, since = setting.pending_mode, setting.pending_period
    if pending is not None and since is not None and period >= since:
        return pending
    return setting.mode


def last_change_day(period: str) -> date:
    """The last local date on which a wider mode still counts for `period`."""
    return last_day(period) - timedelta(days=DEADLINE_DAYS)


def applies_from(moment: datetime, tz: str, old: str, new: str) -> str:
    """The first period a change from mode `old` to `new`, made at `moment`, counts for."""
    period = period_of(moment, tz)
    if MODES.index(new) <= MODES.index(old):
        return period  # deletes less (or the same): at once
    local_day = moment.astimezone(zone(tz)).date()
    return period if local_day <= last_change_day(period) else next_period(period)


def run_at(period: str, tz: str, local_time: str) -> datetime:
    """When the reset of `period` is due, in UTC: its last day at `local_time` there."""
    hour, minute = (int(p) for p in local_time.split(":"))
    local = datetime.combine(last_day(period), time(hour, minute), tzinfo=zone(tz))
    return local.astimezone(UTC)


def check_mode(mode: str) -> str:
    """The mode, lower-cased; ValueError names the valid ones."""
    value = mode.strip().lower()
    if value not in MODES:
        raise ValueError(f"reset mode must be one of {', '.join(MODES)}; got {mode!r}")
    return value


def check_local_time(value: str) -> str:
    """`HH:MM` (24-hour); ValueError otherwise."""
    text = value.strip()
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    if not LOCAL_TIME.match(text):
        raise ValueError(f"reset time must be HH:MM on a 24-hour clock, like 23:00; got {value!r}")
    return text


@dataclass(frozen=True, slots=True)
class Change:
    """The columns to write for a mode change, and the period it counts from."""

    mode: str
    pending_mode: str | None
    pending_period: str | None
    applies_from: str
    deferred: bool


def change(setting: Setting, new: str, moment: datetime) -> Change:
    """What setting mode `new` at `moment` writes (the latest instruction wins)."""
    period = period_of(moment, setting.timezone)
    current = mode_for(setting, period)
    starts = applies_from(moment, setting.timezone, current, new)
    if starts == period:
        return Change(new, None, None, period, deferred=False)
    return Change(current, new, starts, starts, deferred=True)
