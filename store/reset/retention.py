"""Retention rules as operations: show and set them, preview what they delete, run today's.

A retention run is the reset's scheduled deletion with retention's selections (store.reset.rules
for the rules, store.reset.targets for inactive contacts, store.reset.old_messages for old
messages): claimed once a day, exported first, deleted in batches, resumable. Reading needs the
admin role; setting the rules and running one by hand need the owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.access import Actor, audit, require
from store.contacts import as_datetime
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Conflict, Invalid, NotFound
from store.models import Workspace
from store.periods import zone
from store.reset import lease, old_messages, rules, targets
from store.reset.operations import RunInfo, execute_here, get_run
from store.reset.run import claim

KIND = "retention"
KEYS = ("contacts_inactive_days", "messages_older_than_days")


@dataclass(frozen=True, slots=True)
class RetentionStatus:
    """A workspace's retention rules (None = off) and when they next run."""

    workspace: str
    contacts_inactive_days: int | None
    messages_older_than_days: int | None
    local_time: str
    timezone: str
    next_run_at: datetime | None  # UTC; None when no rule is set
    next_run_local: str | None
    set_by: str | None
    set_at: datetime | None
    message: str = ""


@dataclass(frozen=True, slots=True)
class RetentionPreview:
    """What the rules would delete today, without deleting: counts, cutoffs and a sample."""

    workspace: str
    day: str
    contacts_inactive_days: int | None
    messages_older_than_days: int | None
    contacts_cutoff: datetime | None  # contacts with no activity since then go
    messages_cutoff: datetime | None  # messages received before then go
    contacts: int
    identities: int
    messages: int  # the deleted contacts' messages and the old messages of the others
    notes: int
    old_messages: int  # of those: old messages of contacts that stay
    sample: list[dict[str, Any]]


async def _workspace(actor: Actor) -> Workspace:
    ws = await Workspace.get_or_none(id=actor.workspace_id)
    if ws is None:
        raise NotFound("the workspace no longer exists")
    return ws


def rules_of(ws: Workspace) -> rules.Rules:
    """The rules in a workspace row."""
    return rules.Rules(ws.retention_contact_days, ws.retention_message_days)


async def show(actor: Actor, *, now: datetime | None = None, message: str = "") -> RetentionStatus:
    """The rules, who set them, and when the next run is due (admin)."""
    require(actor, "admin")
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    found = rules_of(ws)
    upcoming = await next_run(ws, now) if found.active else None
    local = upcoming.astimezone(zone(ws.timezone)) if upcoming else None
    return RetentionStatus(
        ws.slug, found.contact_days, found.message_days, ws.reset_local_time, ws.timezone,
        upcoming, local.strftime("%Y-%m-%d %H:%M %Z") if local else None,
        ws.retention_set_by, as_datetime(ws.retention_set_at), message,
    )  # fmt: skip


async def next_run(ws: Workspace, now: datetime) -> datetime:
    """Today's run time (past when it is due now), or tomorrow's once today's is done."""
    day = rules.day_of(now, ws.timezone)
    done = await ClientTx().fetch(
        "SELECT 1 FROM reset_run WHERE workspace_id = ? AND kind = ? AND period = ?"
        " AND state = 'done'",
        [ws.id, KIND, day],
    )
    if done:
        day = rules.next_day(day)
    return rules.run_at(day, ws.timezone, ws.reset_local_time)


async def set_rules(
    actor: Actor, changes: Mapping[str, int | None], *, now: datetime | None = None
) -> RetentionStatus:
    """Change the rules (owner): `changes` maps KEYS to days or None (off); keys left out keep
    their value. Applies from the next run on."""
    require(actor, "owner")
    if not changes or set(changes) - set(KEYS):
        raise Invalid(f"send {' and/or '.join(KEYS)}: a number of days, or null to turn it off")
    ws = await _workspace(actor)
    before = rules_of(ws)
    try:
        after = rules.check(
            changes.get(KEYS[0], before.contact_days), changes.get(KEYS[1], before.message_days)
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    now = now or datetime.now(UTC)
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE workspace SET retention_contact_days = ?, retention_message_days = ?,"
            " retention_set_by = ?, retention_set_at = ? WHERE id = ?",
            [after.contact_days, after.message_days, actor.name, now, ws.id],
        )
        detail = {"from": before.mode or "off", "to": after.mode or "off"}
        await audit(tx, actor, "retention.set", ws.slug, detail)
    return await show(actor, now=now, message=_explain(after))


def _explain(found: rules.Rules) -> str:
    parts = []
    if found.contact_days is not None:
        parts.append(f"contacts with no activity for {found.contact_days} days")
    if found.message_days is not None:
        parts.append(f"messages older than {found.message_days} days")
    if not parts:
        return "Retention rules turned off: nothing is deleted by them."
    return f"Every day the retention run deletes {' and '.join(parts)}, export first."


async def preview(
    actor: Actor, changes: Mapping[str, int | None] | None = None, *, now: datetime | None = None
) -> RetentionPreview:
    """Counts and a sample of what the rules (or `changes` to them) would delete today (admin)."""
    require(actor, "admin")
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    found = rules_of(ws)
    if changes:
        try:
            found = rules.check(
                changes.get(KEYS[0], found.contact_days), changes.get(KEYS[1], found.message_days)
            )
        except ValueError as exc:
            raise Invalid(str(exc)) from exc
    return await preview_of(ClientTx(), ws, found, rules.day_of(now, ws.timezone))


async def preview_of(tx: RawTx, ws: Workspace, found: rules.Rules, day: str) -> RetentionPreview:
    """The preview of `found` for workspace `ws` on local day `day`."""
    contacts_cut = messages_cut = None
    chosen: targets.Inactive | None = None
    old: old_messages.OldMessages | None = None
    if found.contact_days is not None:
        contacts_cut = rules.cutoff(day, ws.timezone, found.contact_days)
        chosen = targets.Inactive(ws.id, contacts_cut)
    if found.message_days is not None:
        messages_cut = rules.cutoff(day, ws.timezone, found.message_days)
        keep_out = None
        if chosen is not None:
            sql, params, _col = chosen.primaries(tx.dialect)
            keep_out = (sql, params)
        old = old_messages.OldMessages(ws.id, messages_cut, None, keep_out)
    counts = await targets.count(tx, chosen)
    stale = await old_messages.count(tx, old)
    return RetentionPreview(
        ws.slug, day, found.contact_days, found.message_days, contacts_cut, messages_cut,
        counts.contacts, counts.identities, counts.messages + stale, counts.notes, stale,
        await targets.sample(tx, chosen),
    )  # fmt: skip


async def claim_now(
    actor: Actor, config: lease.ResetConfig, *, now: datetime | None = None
) -> lease.Run:
    """Claim today's retention run by hand (owner); an unfinished one resumes as it began."""
    require(actor, "owner")
    now = now or datetime.now(UTC)
    ws = await _workspace(actor)
    day = rules.day_of(now, ws.timezone)
    unfinished = await ClientTx().fetch(
        "SELECT mode FROM reset_run WHERE workspace_id = ? AND kind = ? AND period = ?"
        " AND state <> 'done'",
        [ws.id, KIND, day],
    )
    mode = str(unfinished[0][0]) if unfinished else rules_of(ws).mode
    if not mode:
        raise Conflict("no retention rule is set; set contacts_inactive_days or"
                       " messages_older_than_days first")  # fmt: skip
    return await claim(
        ws.id, day, mode, config, trigger="manual", requested_by=actor.name,
        enabled_by=ws.retention_set_by, kind=KIND,
    )  # fmt: skip


async def run_now(
    actor: Actor, config: lease.ResetConfig, *, now: datetime | None = None
) -> RunInfo:
    """Run today's retention now (owner), export first; once done, today's scheduled run does
    not happen again. Refused when today's already ran."""
    return await execute_here(actor, await claim_now(actor, config, now=now))


async def get(actor: Actor, run_id: int) -> RunInfo:
    """One retention run of the workspace (admin)."""
    return await get_run(actor, run_id, KIND)
