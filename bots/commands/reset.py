"""reset status|preview|enable|disable|time|now: the monthly reset (changes: owner, confirmed)."""

from __future__ import annotations

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons
from bots.core import RUNTIME, Context, Reply, Usage, command
from bots.pressing import on_pending
from store import reset as resets
from store.bot_actions import PendingAction
from store.reset import Preview, ResetStatus, RunBusy

MODES = ("all", "tagged")
SUBCOMMANDS = "status, preview, enable all|tagged, disable, time HH:MM, now"


def _mode_name(mode: str, tag: str) -> str:
    return {"off": "off", "all": "every contact", "tagged": f"contacts tagged {tag}"}[mode]


def status_text(s: ResetStatus) -> str:
    """The reset policy, what is pending, the next run and recent runs."""
    lines = [f"*Monthly reset of {s.workspace}, {s.period}: {_mode_name(s.mode, s.tag)}*"]
    if s.message:
        lines.insert(0, s.message)
    if s.pending_mode:
        lines.append(f"From {s.pending_from}: {_mode_name(s.pending_mode, s.tag)}")
    lines.append(f"Runs at {s.local_time} ({s.timezone}) on the month's last day")
    lines.append(f"Next run: {s.next_run_local or 'none due'}")
    lines.append(f"A change that deletes more counts for this month until {s.last_change_day}")
    if s.set_by:
        lines.append(f"Last set by {s.set_by} ({render.when(s.set_at)})")
    for r in s.runs:
        counts = ", ".join(f"{v} {k}" for k, v in r.counts.items()) or "nothing counted yet"
        lines.append(f"Run #{r.id} {r.period} {r.mode} ({r.trigger}): {r.state}, {counts}")
    return "\n".join(lines)


def preview_text(p: Preview, tag: str) -> str:
    """What a reset would delete now."""
    lines = [
        f"A reset of {_mode_name(p.mode, tag)} now would delete"
        f" {render.count(p.contacts, 'contact')} ({render.count(p.messages, 'message')},"
        f" {render.count(p.notes, 'note')},"
        f" {render.count(p.identities, 'identity', 'identities')})."
    ]
    for row in p.sample:
        shown = row["name"] or row["phone"] or row["email"] or ""
        lines.append(f"`#{row['id']}` {render.plain(shown)}")
    if p.contacts > len(p.sample):
        lines.append("…")
    return "\n".join(lines)


def _mode(args: str, *, required: bool) -> str | None:
    word = args.strip().lower()
    if not word and not required:
        return None
    if word not in MODES:
        raise Usage("say `all` or `tagged`")
    return word


@command("reset", role="admin", usage=f"reset [{SUBCOMMANDS}]")
async def reset(ctx: Context, args: str) -> Reply:
    """The monthly reset: status, preview, enable, disable, run now."""
    if args.strip():
        raise Usage(f"unknown reset subcommand {args.split()[0]!r}; use {SUBCOMMANDS}")
    return Reply(status_text(await resets.status(ctx.actor)))


@command("reset status", role="admin", usage="reset status")
async def reset_status(ctx: Context, args: str) -> Reply:
    """Show the reset mode, the next run and recent runs."""
    return Reply(status_text(await resets.status(ctx.actor)))


@command("reset preview", role="admin", usage="reset preview [all|tagged]")
async def reset_preview(ctx: Context, args: str) -> Reply:
    """Show what a reset would delete now, deleting nothing."""
    found = await resets.preview(ctx.actor, _mode(args, required=False))
    if found.mode == "off":
        return Reply("The reset is off; preview a mode: `reset preview all|tagged`.")
    return Reply(preview_text(found, ctx.binding.reset_tag))


@command("reset enable", role="owner", usage="reset enable all|tagged")
async def reset_enable(ctx: Context, args: str) -> Reply:
    """Turn the monthly reset on for all contacts or the tagged ones (asks first)."""
    mode = _mode(args, required=True) or ""
    shown = preview_text(await resets.preview(ctx.actor, mode), ctx.binding.reset_tag)
    pid = await ctx.remember("reset", {"op": "mode", "mode": mode}, SHORT_TTL)
    text = f"Enable the monthly reset of {_mode_name(mode, ctx.binding.reset_tag)}?\n{shown}"
    return Reply(text, confirm_buttons(ctx, pid, f"Enable ({mode})", "danger"))


@command("reset disable", role="owner", usage="reset disable")
async def reset_disable(ctx: Context, args: str) -> Reply:
    """Turn the monthly reset off."""
    return Reply(status_text(await resets.set_mode(ctx.actor, "off")))


@command("reset time", role="owner", usage="reset time HH:MM")
async def reset_time(ctx: Context, args: str) -> Reply:
    """Set the local time the reset runs on the month's last day."""
    if not args.strip():
        raise Usage("give the time as HH:MM")
    return Reply(status_text(await resets.set_time(ctx.actor, args.strip())))


@command("reset now", role="owner", usage="reset now [all|tagged]")
async def reset_now(ctx: Context, args: str) -> Reply:
    """Run this month's reset now, after its export (asks first)."""
    mode = _mode(args, required=False)
    found = await resets.preview(ctx.actor, mode)
    if found.mode == "off":
        return Reply("The reset is off this month; name a mode: `reset now all|tagged`.")
    pid = await ctx.remember("reset", {"op": "now", "mode": found.mode}, SHORT_TTL)
    text = f"Run the reset now? {preview_text(found, ctx.binding.reset_tag)}"
    return Reply(text, confirm_buttons(ctx, pid, "Run the reset now", "danger"))


@on_pending("reset", role="owner", once=True)
async def confirm_reset(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Apply a confirmed mode change, or start a confirmed run in the background."""
    mode = str(action.payload["mode"])
    if action.payload["op"] == "mode":
        return Reply(status_text(await resets.set_mode(ctx.actor, mode)), replace=True)
    runner = RUNTIME.resets
    if runner is None:
        return Reply(
            "This process runs no resets; use `contactgate reset <workspace> run`.", replace=True
        )
    if runner.running(ctx.binding.workspace_id):
        raise RunBusy("a reset of this workspace is already running")
    claimed = await resets.claim_now(ctx.actor, runner.config, mode)
    runner.start(claimed)
    return Reply(
        f"Reset of {claimed.period} ({_mode_name(mode, ctx.binding.reset_tag)}) started as run"
        f" #{claimed.id}. The export is written first; subscribed chats hear when it is done.",
        replace=True,
    )
