"""The reset policy's calendar rules at frozen times: the 2-day deadline, run times, pending."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store.reset import policy
from store.reset.policy import Setting


def at(text: str, tz: str = "UTC") -> datetime:
    """A moment given as local wall time in `tz`."""
    from store.periods import zone

    return datetime.fromisoformat(text).replace(tzinfo=zone(tz))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-01T00:00", "2026-11"),
        ("2026-11-28T00:00", "2026-11"),  # 30 November is the last day: the 28th still counts
        ("2026-11-28T23:59", "2026-11"),
        ("2026-11-29T00:00", "2026-12"),
        ("2026-11-30T22:00", "2026-12"),
        ("2027-02-26T12:00", "2027-02"),  # February 2027 ends on the 28th
        ("2027-02-27T00:00", "2027-03"),
        ("2028-02-27T12:00", "2028-02"),  # leap year: 29 February is the last day
        ("2028-02-28T00:00", "2028-03"),
        ("2026-12-29T23:00", "2026-12"),
        ("2026-12-30T00:00", "2027-01"),  # December rolls into the next year
        ("2026-12-31T23:59", "2027-01"),
        ("2027-04-28T08:00", "2027-04"),  # 30-day month
        ("2027-04-29T08:00", "2027-05"),
    ],
)
def test_a_wider_mode_counts_this_month_until_two_days_before_the_last_day(
    moment: str, expected: str
) -> None:
    assert policy.applies_from(at(moment), "UTC", "off", "all") == expected
    assert policy.applies_from(at(moment), "UTC", "tagged", "all") == expected
    assert policy.applies_from(at(moment), "UTC", "off", "tagged") == expected


def test_the_deadline_is_the_workspace_local_date() -> None:
    # 29 November 02:00 UTC is still the 28th in Guayaquil (UTC-5): this month there
    moment = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    assert policy.applies_from(moment, "America/Guayaquil", "off", "all") == "2026-11"
    assert policy.applies_from(moment, "UTC", "off", "all") == "2026-12"
    # 28 November 16:00 UTC is already the 29th in Tokyo (UTC+9): next month there
    moment = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert policy.applies_from(moment, "Asia/Tokyo", "off", "all") == "2026-12"
    assert policy.applies_from(moment, "UTC", "off", "all") == "2026-11"
    # New Year's Eve in Auckland while it is still 30 December in UTC
    moment = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    assert policy.applies_from(moment, "Pacific/Auckland", "off", "tagged") == "2027-01"


@pytest.mark.parametrize(("old", "new"), [("all", "off"), ("all", "tagged"), ("tagged", "off")])
def test_deleting_less_applies_at_once_even_on_the_last_day(old: str, new: str) -> None:
    assert policy.applies_from(at("2026-11-30T22:59"), "UTC", old, new) == "2026-11"


@pytest.mark.parametrize(
    ("period", "tz", "local", "expected"),
    [
        ("2026-11", "UTC", "23:00", datetime(2026, 11, 30, 23, 0, tzinfo=UTC)),
        ("2026-11", "America/Guayaquil", "23:00", datetime(2026, 12, 1, 4, 0, tzinfo=UTC)),
        ("2027-02", "UTC", "23:00", datetime(2027, 2, 28, 23, 0, tzinfo=UTC)),
        ("2028-02", "UTC", "06:30", datetime(2028, 2, 29, 6, 30, tzinfo=UTC)),
        ("2026-12", "Asia/Tokyo", "23:00", datetime(2026, 12, 31, 14, 0, tzinfo=UTC)),
        # Madrid: summer time on 31 March 2027 (UTC+2), winter time on 31 October 2027 (UTC+1)
        ("2027-03", "Europe/Madrid", "23:00", datetime(2027, 3, 31, 21, 0, tzinfo=UTC)),
        ("2027-10", "Europe/Madrid", "23:00", datetime(2027, 10, 31, 22, 0, tzinfo=UTC)),
    ],
)
def test_the_run_is_due_on_the_last_local_day_at_the_local_time(
    period: str, tz: str, local: str, expected: datetime
) -> None:
    assert policy.run_at(period, tz, local) == expected


def setting(mode: str = "off", pending: str | None = None, since: str | None = None) -> Setting:
    return Setting(mode, pending, since, "UTC", "23:00")


def test_a_pending_mode_is_in_force_from_its_month_on() -> None:
    s = setting("tagged", "all", "2026-12")
    assert policy.mode_for(s, "2026-11") == "tagged"
    assert policy.mode_for(s, "2026-12") == "all"
    assert policy.mode_for(s, "2027-03") == "all"


def test_a_late_change_is_deferred_and_the_latest_instruction_wins() -> None:
    late = at("2026-11-29T10:00")
    deferred = policy.change(setting("off"), "all", late)
    assert (deferred.mode, deferred.pending_mode, deferred.pending_period) == (
        "off",
        "all",
        "2026-12",
    )
    assert deferred.deferred and deferred.applies_from == "2026-12"
    # then, still late, they switch it off: at once, and the pending change is dropped
    s = setting("off", "all", "2026-12")
    off = policy.change(s, "off", late)
    assert (off.mode, off.pending_mode, off.pending_period, off.deferred) == (
        "off",
        None,
        None,
        False,
    )
    # a pending change whose month came is folded in when the next change is made
    s = setting("off", "tagged", "2026-11")
    wider = policy.change(s, "all", late)
    assert (wider.mode, wider.pending_mode, wider.pending_period) == ("tagged", "all", "2026-12")
    early = policy.change(setting("off"), "tagged", at("2026-11-10T10:00"))
    assert (early.mode, early.pending_mode, early.deferred) == ("tagged", None, False)


def test_inputs_are_checked() -> None:
    assert policy.check_mode(" ALL ") == "all"
    with pytest.raises(ValueError, match="off, tagged, all"):
        policy.check_mode("some")
    assert policy.check_local_time("7:05") == "07:05"
    assert policy.check_local_time("23:59") == "23:59"
    for bad in ("24:00", "23:60", "2300", "noon", ""):
        with pytest.raises(ValueError, match="HH:MM"):
            policy.check_local_time(bad)
    assert policy.month_name("2027-01") == "January 2027"
