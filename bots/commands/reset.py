"""reset status|preview|enable|disable|time|now: the monthly reset (changes: owner, confirmed)."""

from __future__ import annotations

from datetime import date

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons
from bots.core import COMMANDS, RUNTIME, Context, Reply, Usage, command
from bots.i18n import N_, Lang
from bots.pressing import on_pending
from store import reset as resets
from store.bot_actions import PendingAction
from store.reset import Preview, ResetStatus, RunBusy

MODES = {"all": "all", "tagged": "tagged", "todos": "all", "etiquetados": "tagged"}


def _mode_name(t: Lang, mode: str, tag: str) -> str:
    names = {"off": t._("off"), "all": t._("every contact")}
    return names.get(mode) or t._("contacts tagged {tag}", tag=tag)


def _counts(t: Lang, counts: dict[str, int]) -> str:
    return ", ".join(f"{t.number(v)} {t._(k)}" for k, v in counts.items())


MODE_WORDS = {"all": N_("all"), "tagged": N_("tagged")}  # as typed: `reset enable tagged`
RUN_WORDS = (N_("contacts"), N_("messages"), N_("notes"), N_("identities"))  # run counts' keys


def status_text(t: Lang, s: ResetStatus) -> str:
    """The reset policy, what is pending, the next run and recent runs."""
    head = t._("*Monthly reset of {workspace}, {month}: {mode}*", workspace=s.workspace,
               month=t.month(s.period), mode=_mode_name(t, s.mode, s.tag))  # fmt: skip
    lines = [s.message, head] if s.message else [head]
    if s.pending_mode and s.pending_from:
        lines.append(t._("From {month}: {mode}", month=t.month(s.pending_from),
                         mode=_mode_name(t, s.pending_mode, s.tag)))  # fmt: skip
    lines.append(t._("Runs at {time} ({zone}) on the month's last day", time=s.local_time,
                     zone=s.timezone))  # fmt: skip
    due = t.when(s.next_run_at) if s.next_run_at else t._("none due")
    lines.append(t._("Next run: {when}", when=due))
    lines.append(t._("A change that deletes more counts for this month until {day}",
                     day=t.date(date.fromisoformat(s.last_change_day))))  # fmt: skip
    if s.set_by:
        lines.append(t._("Last set by {who} ({when})", who=s.set_by, when=t.when(s.set_at)))
    for r in s.runs:
        counts = _counts(t, r.counts) or t._("nothing counted yet")
        lines.append(t._("Run #{id} {month} {mode} ({trigger}): {state}, {counts}", id=r.id,
                         month=t.month(r.period), mode=_mode_name(t, r.mode, s.tag),
                         trigger=r.trigger, state=r.state, counts=counts))  # fmt: skip
    return "\n".join(lines)


def preview_text(t: Lang, p: Preview, tag: str) -> str:
    """What a reset would delete now."""
    lines = [
        t._("A reset of {mode} now would delete {contacts} ({messages}, {notes}, {identities}).",
            mode=_mode_name(t, p.mode, tag),
            contacts=t.n_("{n} contact", "{n} contacts", p.contacts),
            messages=t.n_("{n} message", "{n} messages", p.messages),
            notes=t.n_("{n} note", "{n} notes", p.notes),
            identities=t.n_("{n} identity", "{n} identities", p.identities))
    ]  # fmt: skip
    for row in p.sample:
        shown = row["name"] or row["phone"] or row["email"] or ""
        lines.append(f"`#{row['id']}` {render.plain(shown)}")
    if p.contacts > len(p.sample):
        lines.append("…")
    return "\n".join(lines)


def _mode(ctx: Context, args: str, *, required: bool) -> str | None:
    word = args.strip().lower()
    if not word and not required:
        return None
    if word not in MODES:
        raise Usage(ctx._("say `all` or `tagged`"))
    return MODES[word]


@command(
    "reset", es="reinicio", role="admin", usage="", group="plan",
    brief=N_("The monthly reset: its mode, next run and runs"),
)  # fmt: skip
async def reset(ctx: Context, args: str) -> Reply:
    """The monthly reset: status, preview, enable, disable, run now."""
    if args.strip():
        raise Usage(
            ctx._(
                "unknown reset subcommand {word}; send `{help}`",
                word=repr(args.split()[0]),
                help=ctx.typed("help") + " " + COMMANDS["reset"].local_name(ctx.lang.code),
            )
        )
    return Reply(status_text(ctx.lang, await resets.status(ctx.actor)))


@command(
    "reset status", es="reinicio estado", role="admin", usage="", group="plan",
    brief=N_("The reset's mode, next run and recent runs"),
)  # fmt: skip
async def reset_status(ctx: Context, args: str) -> Reply:
    """Show the reset mode, the next run and recent runs."""
    return Reply(status_text(ctx.lang, await resets.status(ctx.actor)))


@command(
    "reset preview", es="reinicio prueba", role="admin", usage=N_("[all|tagged]"), group="plan",
    brief=N_("What a reset would delete now (deletes nothing)"),
)  # fmt: skip
async def reset_preview(ctx: Context, args: str) -> Reply:
    """Show what a reset would delete now, deleting nothing."""
    found = await resets.preview(ctx.actor, _mode(ctx, args, required=False))
    if found.mode == "off":
        return Reply(ctx._("The reset is off; preview a mode: `{usage}`.",
                           usage=ctx.usage(COMMANDS["reset preview"])))  # fmt: skip
    return Reply(preview_text(ctx.lang, found, ctx.binding.reset_tag))


@command(
    "reset enable", es="reinicio activar", role="owner", usage=N_("all|tagged"), group="plan",
    brief=N_("Turn the monthly reset on (asks first)"),
)  # fmt: skip
async def reset_enable(ctx: Context, args: str) -> Reply:
    """Turn the monthly reset on for all contacts or the tagged ones (asks first)."""
    mode = _mode(ctx, args, required=True) or ""
    shown = preview_text(ctx.lang, await resets.preview(ctx.actor, mode), ctx.binding.reset_tag)
    pid = await ctx.remember("reset", {"op": "mode", "mode": mode}, SHORT_TTL)
    name = _mode_name(ctx.lang, mode, ctx.binding.reset_tag)
    text = ctx._("Enable the monthly reset of {mode}?", mode=name) + f"\n{shown}"
    label = ctx._("Enable ({mode})", mode=ctx._(MODE_WORDS[mode]))
    return Reply(text, confirm_buttons(ctx, pid, label, "danger"))


@command(
    "reset disable", es="reinicio desactivar", role="owner", usage="", group="plan",
    brief=N_("Turn the monthly reset off"),
)  # fmt: skip
async def reset_disable(ctx: Context, args: str) -> Reply:
    """Turn the monthly reset off."""
    return Reply(status_text(ctx.lang, await resets.set_mode(ctx.actor, "off")))


@command(
    "reset time", es="reinicio hora", role="owner", usage="HH:MM", group="plan",
    brief=N_("The local time the reset runs on the month's last day"),
)  # fmt: skip
async def reset_time(ctx: Context, args: str) -> Reply:
    """Set the local time the reset runs on the month's last day."""
    if not args.strip():
        raise Usage(ctx._("give the time as HH:MM"))
    return Reply(status_text(ctx.lang, await resets.set_time(ctx.actor, args.strip())))


@command(
    "reset now", es="reinicio ahora", role="owner", usage=N_("[all|tagged]"), group="plan",
    brief=N_("Run this month's reset now, export first (asks first)"),
)  # fmt: skip
async def reset_now(ctx: Context, args: str) -> Reply:
    """Run this month's reset now, after its export (asks first)."""
    mode = _mode(ctx, args, required=False)
    found = await resets.preview(ctx.actor, mode)
    if found.mode == "off":
        return Reply(ctx._("The reset is off this month; name a mode: `{usage}`.",
                           usage=ctx.usage(COMMANDS["reset now"])))  # fmt: skip
    pid = await ctx.remember("reset", {"op": "now", "mode": found.mode}, SHORT_TTL)
    shown = preview_text(ctx.lang, found, ctx.binding.reset_tag)
    text = ctx._("Run the reset now?") + f" {shown}"
    return Reply(text, confirm_buttons(ctx, pid, ctx._("Run the reset now"), "danger"))


@on_pending("reset", role="owner", once=True)
async def confirm_reset(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Apply a confirmed mode change, or start a confirmed run in the background."""
    mode = str(action.payload["mode"])
    if action.payload["op"] == "mode":
        return Reply(status_text(ctx.lang, await resets.set_mode(ctx.actor, mode)), replace=True)
    runner = RUNTIME.resets
    if runner is None:
        text = ctx._("This process runs no resets; use `contactgate reset <workspace> run`.")
        return Reply(text, replace=True)
    if runner.running(ctx.binding.workspace_id):
        raise RunBusy(ctx._("a reset of this workspace is already running"))
    claimed = await resets.claim_now(ctx.actor, runner.config, mode)
    runner.start(claimed)
    text = ctx._(
        "Reset of {month} ({mode}) started as run #{id}. The export is written first; subscribed"
        " chats hear when it is done.", month=ctx.lang.month(claimed.period),
        mode=_mode_name(ctx.lang, mode, ctx.binding.reset_tag), id=claimed.id,
    )  # fmt: skip
    return Reply(text, replace=True)
