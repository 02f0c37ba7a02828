"""plan (usage against the cap) and plan set (the owner changes the cap)."""

from __future__ import annotations

from bots.core import COMMANDS, Context, Reply, Usage, command
from bots.i18n import N_, Lang
from store import plan
from store.plan import PlanUsage

MAX_CAP = 2**31 - 1


def usage_text(t: Lang, u: PlanUsage) -> str:
    """Usage of the period, per channel, the held queue and the days left."""
    share = f" ({u.used * 100 // u.cap} %)" if u.cap else ""
    num = t.number
    lines = [
        t._("*Plan of {workspace}, {month}*", workspace=u.workspace, month=t.month(u.period)),
        t._("Contacts this period: {used} of {cap}{share}, {carried} carried over",
            used=num(u.used), cap=num(u.cap), share=share, carried=num(u.carried_over)),
        t._("Held (waiting for room): {people}, {messages}",
            people=t.n_("{n} person", "{n} people", u.held_senders),
            messages=t.n_("{n} message", "{n} messages", u.held_messages)),
        t.n_("Next period in {n} day", "Next period in {n} days", u.days_to_next_period),
    ]  # fmt: skip
    if u.channels:
        lines.append(t._("*Per channel*"))
        lines += [
            t._("{kind} `{key}`: {new} new, {carried} carried over", kind=c.kind,
                key=c.channel_key, new=num(c.created), carried=num(c.carried_over))
            for c in u.channels
        ]  # fmt: skip
    if u.admitted_now:
        admitted = t.n_("{n} held person", "{n} held people", u.admitted_now)
        lines.append(t._("Admitted now: {people}", people=admitted))
    return "\n".join(lines)


@command(
    "plan", es="plan", role="agent", usage="", group="plan",
    brief=N_("Contacts used of the plan's cap, per channel, and who waits"),
)  # fmt: skip
async def show_plan(ctx: Context, args: str) -> Reply:
    """Show the plan: contacts used of the cap, per channel, held people, days left."""
    if args.strip():
        raise Usage(ctx._("unknown plan subcommand {word}; use `{plan}` or `{set}`",
                          word=repr(args.split()[0]), plan=ctx.typed("plan"),
                          set=ctx.usage(COMMANDS["plan set"])))  # fmt: skip
    return Reply(usage_text(ctx.lang, await plan.usage(ctx.binding.workspace)))


@command(
    "plan set", es="plan fijar", role="owner", usage=N_("<cap>"), group="plan",
    brief=N_("Change the plan's cap (raising it admits who waits)"),
)  # fmt: skip
async def set_cap(ctx: Context, args: str) -> Reply:
    """Change the plan cap; raising it admits held people at once."""
    value = args.strip().replace(",", "").replace("_", "")
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_CAP:
        example = ctx.typed("plan set") + " 2000"
        raise Usage(ctx._("give the new cap as a whole number, e.g. `{example}`", example=example))
    result = await plan.set_cap(ctx.actor, int(value))
    now = ctx._("The cap is now {cap}.", cap=ctx.lang.number(result.cap))
    return Reply(f"{now}\n{usage_text(ctx.lang, result)}")
