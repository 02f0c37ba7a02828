"""Scheduled deletions, public face: the monthly reset and the retention rules, one engine.

Both are "a scheduled deletion of what a selection selects": a run claimed once per workspace,
kind and period, exported first, deleted in batches, resumable; only the selection and the
calendar differ. Inside: operations.py (the reset's status, mode and time, preview, run now,
history), retention.py (the same for retention rules), policy.py and rules.py (the reset's
calendar; retention's rules and days), schedule.py (the scheduler's duties), lease.py (a claimed
run, its lease and fencing), run.py (claim, snapshot, export, finish), delete.py (the delete
phase), targets.py (which contacts go), old_messages.py (which messages go, for retention),
export.py (the files written before deleting), on_disk.py (a run's export files handed
over, old folders purged). The retention operations are the public module
`store.reset.retention`, its rules and limits `store.reset.rules`.
"""

from store.reset.lease import ResetConfig, Run, RunBusy
from store.reset.operations import (
    Preview,
    ResetStatus,
    RunInfo,
    claim_now,
    get_run,
    list_runs,
    preview,
    run_now,
    set_mode,
    set_time,
    status,
    tag_in_use,
)
from store.reset.run import claim, execute
from store.reset.schedule import Due, due, due_retention, warn_upcoming

__all__ = [
    "Due",
    "Preview",
    "ResetConfig",
    "ResetStatus",
    "Run",
    "RunBusy",
    "RunInfo",
    "claim",
    "claim_now",
    "due",
    "due_retention",
    "execute",
    "get_run",
    "list_runs",
    "preview",
    "run_now",
    "set_mode",
    "set_time",
    "status",
    "tag_in_use",
    "warn_upcoming",
]
