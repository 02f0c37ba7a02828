"""Retention rules: what a day's retention run deletes and when it is due.

A workspace may delete contacts with no activity for N days and/or messages older than N days
(None = off). A retention run is the reset's scheduled deletion with another selection: one a
day (period `YYYY-MM-DD`, the workspace's local date), due at the workspace's reset local time.
The rules the run was claimed with are its `mode` (`contacts:30 messages:90`), so a resumed run
keeps them, and each cutoff is fixed by the run's day: the start of that local day minus N days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from store.periods import zone

MAX_DAYS = 36500
# WhatsApp retries an unanswered delivery for up to 7 days and the message row is its dedupe
# mark: a message deleted sooner would be stored again by a late retry.
MIN_MESSAGE_DAYS = 8


@dataclass(frozen=True, slots=True)
class Rules:
    """A workspace's retention rules in days (None = off)."""

    contact_days: int | None = None
    message_days: int | None = None

    @property
    def active(self) -> bool:
        """True when either rule is set."""
        return self.contact_days is not None or self.message_days is not None

    @property
    def mode(self) -> str:
        """The rules as a run's `mode`: `contacts:30 messages:90` (either part may be absent)."""
        parts = []
        if self.contact_days is not None:
            parts.append(f"contacts:{self.contact_days}")
        if self.message_days is not None:
            parts.append(f"messages:{self.message_days}")
        return " ".join(parts)

    @classmethod
    def of_mode(cls, mode: str) -> Rules:
        """The rules a run was claimed with (the inverse of `mode`)."""
        days = dict(part.split(":") for part in mode.split())
        found = {k: int(v) for k, v in days.items()}
        return cls(found.get("contacts"), found.get("messages"))


def check_days(value: object, name: str, least: int = 1) -> int | None:
    """A rule's days: None (off) or a whole number from `least` to MAX_DAYS; ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_DAYS:
        raise ValueError(f"{name} must be null (off) or a whole number of days {least}-{MAX_DAYS}")
    return value


def check(contact_days: object, message_days: object) -> Rules:
    """Validated rules (ValueError names the field and the range)."""
    return Rules(
        check_days(contact_days, "contacts_inactive_days"),
        check_days(message_days, "messages_older_than_days", MIN_MESSAGE_DAYS),
    )


def day_of(moment: datetime, tz: str) -> str:
    """The local date of `moment` in zone `tz` as a run period: `YYYY-MM-DD`."""
    return moment.astimezone(zone(tz)).date().isoformat()


def next_day(day: str) -> str:
    """The local date after `day`."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def cutoff(day: str, tz: str, days: int) -> datetime:
    """In UTC: the start of local day `day` minus `days` days (what is older goes)."""
    start = datetime.combine(date.fromisoformat(day) - timedelta(days=days), time(0))
    return start.replace(tzinfo=zone(tz)).astimezone(UTC)


def run_at(day: str, tz: str, local_time: str) -> datetime:
    """When the retention run of local day `day` is due, in UTC."""
    hour, minute = (int(p) for p in local_time.split(":"))
    local = datetime.combine(date.fromisoformat(day), time(hour, minute), tzinfo=zone(tz))
    return local.astimezone(UTC)
