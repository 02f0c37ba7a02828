"""plan (usage against the cap) and plan set (the owner changes the cap)."""

from __future__ import annotations

from bots import render
from bots.core import Context, Reply, Usage, command
from store import plan
from store.plan import PlanUsage

MAX_CAP = 2**31 - 1


def usage_text(u: PlanUsage) -> str:
    """Usage of the period, per channel, the held queue and the days left."""
    share = f" ({u.used * 100 // u.cap} %)" if u.cap else ""
    lines = [
        f"*Plan of {u.workspace}, {u.period}*",
        f"Contacts this period: {u.used} of {u.cap}{share}, {u.carried_over} carried over",
        f"Held (waiting for room): {render.count(u.held_senders, 'person', 'people')},"
        f" {render.count(u.held_messages, 'message')}",
        f"Next period in {u.days_to_next_period:g} days",
    ]
    if u.channels:
        lines.append("*Per channel*")
        lines += [
            f"{c.kind} `{c.channel_key}`: {c.created} new, {c.carried_over} carried over"
            for c in u.channels
        ]
    if u.admitted_now:
        lines.append(f"Admitted now: {render.count(u.admitted_now, 'held person', 'held people')}")
    return "\n".join(lines)


@command("plan", role="agent", usage="plan")
async def show_plan(ctx: Context, args: str) -> Reply:
    """Show the plan: contacts used of the cap, per channel, held people, days left."""
    if args.strip():
        raise Usage(f"unknown plan subcommand {args.split()[0]!r}; use `plan` or `plan set <cap>`")
    return Reply(usage_text(await plan.usage(ctx.binding.workspace)))


@command("plan set", role="owner", usage="plan set <cap>")
async def set_cap(ctx: Context, args: str) -> Reply:
    """Change the plan cap; raising it admits held people at once."""
    value = args.strip().replace(",", "").replace("_", "")
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_CAP:
        raise Usage("give the new cap as a whole number, e.g. `plan set 2000`")
    result = await plan.set_cap(ctx.actor, int(value))
    return Reply(f"The cap is now {result.cap}.\n{usage_text(result)}")
