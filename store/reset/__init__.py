"""The monthly reset, public face: the operations the surfaces call, the run and the schedule.

Inside: operations.py (status, mode and time, preview, run now, history: Actor-taking
operations), policy.py (the calendar rules), schedule.py (the scheduler's duties), lease.py (a
claimed run, its lease and fencing), run.py (claim, snapshot, export, finish), delete.py (the
delete phase), targets.py (which contacts go), export.py (the files written before deleting),
on_disk.py (a run's export files handed over, old folders purged).
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
from store.reset.schedule import due, warn_upcoming

__all__ = [
    "Preview",
    "ResetConfig",
    "ResetStatus",
    "Run",
    "RunBusy",
    "RunInfo",
    "claim",
    "claim_now",
    "due",
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
