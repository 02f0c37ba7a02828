"""duplicates (duplicados): likely duplicate pairs in words, a Merge… button per pair opening the
merge preview, and a Not duplicates button that dismisses the pair."""

from __future__ import annotations

from bots import render
from bots.buttons import LONG_TTL
from bots.commands.merging import open_preview
from bots.core import Button, Context, Reply, Usage, command
from bots.i18n import N_
from bots.pressing import on_button, on_pending, pending_action
from store import duplicates
from store.bot_actions import PendingAction

PAGE = 5  # pairs per message: two buttons each stay under every platform's limits


@command(
    "duplicates", es="duplicados", role="agent", usage="", group="merge",
    brief=N_("Likely duplicate contacts, each one press away from the merge"),
)  # fmt: skip
async def list_duplicates(ctx: Context, args: str) -> Reply:
    """List likely duplicate contacts, strongest first, each one press away from the merge."""
    if args.strip():
        raise Usage(ctx._("duplicates takes no arguments"))
    return await _page(ctx, None)


async def _page(ctx: Context, cursor: str | None) -> Reply:
    page = await duplicates.find(ctx.actor, limit=PAGE, cursor=cursor)
    if not page.pairs:
        if cursor is None:
            return Reply(ctx._("No likely duplicates."))
        return Reply(ctx._("No more likely duplicates."))
    head = ""
    if cursor is None:
        head = "*" + ctx.n_("Likely duplicates: {n} pair", "Likely duplicates: {n} pairs",
                            page.total) + "*"  # fmt: skip
    lines = [head] if head else []
    buttons: list[Button] = []
    for pair in page.pairs:
        lines.append(_pair_line(ctx, pair))
        if ctx.allows("admin"):  # merging and dismissing are for admins
            a, b = pair.a.id, pair.b.id
            merge = ctx._("Merge #{b} into #{a}…", a=a, b=b)
            apart = ctx._("Not duplicates #{a}/#{b}", a=a, b=b)
            buttons.append(ctx.button(merge, f"dupmerge:{a}:{b}", ttl=LONG_TTL))
            buttons.append(ctx.button(apart, f"notdup:{a}:{b}", ttl=LONG_TTL))
    if page.next_cursor:
        pid = await ctx.remember("dupes", {"cursor": page.next_cursor}, LONG_TTL)
        label = ctx._("Next page")
        buttons.append(ctx.button(label, pending_action(pid, "next"), ttl=LONG_TTL))
    return Reply("\n".join(lines), tuple(buttons))


def _pair_line(ctx: Context, pair: duplicates.Pair) -> str:
    """`#12 *Ana* and #40 *Ana M.* (score 70): same phone under a variant (+52…)`."""
    reasons = "; ".join(_reason(ctx, r) for r in pair.reasons)
    return ctx._(
        "`#{a}` *{aname}* and `#{b}` *{bname}* (score {score}): {reasons}",
        a=pair.a.id, aname=render.plain(pair.a.display_name), b=pair.b.id,
        bname=render.plain(pair.b.display_name), score=pair.score, reasons=reasons,
    )  # fmt: skip


REASONS = {
    "phone": N_("same phone under a variant ({value})"),
    "email": N_("same email ({value})"),
    "identifier": N_("same identifier ({value})"),
    "name_company": N_("same name and company ({value})"),
    "name_city": N_("same name and city ({value})"),
}


def _reason(ctx: Context, reason: duplicates.Reason) -> str:
    """A reason in words."""
    value = render.plain(reason.value)
    if reason.kind in REASONS:
        return ctx._(REASONS[reason.kind], value=value)
    return f"{reason.kind} ({value})"


@on_pending("dupes", role="agent", once=False)
async def next_page(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """The next page of duplicate pairs."""
    return await _page(ctx, str(action.payload["cursor"]))


def _pair(args: list[str]) -> tuple[int, int]:
    if len(args) != 2 or not all(a.isdigit() for a in args):
        raise Usage(N_("that button is not one of a duplicate pair"))
    return int(args[0]), int(args[1])


@on_button("dupmerge", role="admin")
async def merge_pair(ctx: Context, args: list[str]) -> Reply:
    """Open the merge preview of a pair: the older contact is kept."""
    return await open_preview(ctx, *_pair(args))


@on_button("notdup", role="admin")
async def dismiss_pair(ctx: Context, args: list[str]) -> Reply:
    """Remember that a pair is not one person."""
    done = await duplicates.dismiss(ctx.actor, *_pair(args))
    if done.already:
        return Reply(ctx._("#{a} and #{b} were already marked as not duplicates.", a=done.a,
                           b=done.b))  # fmt: skip
    return Reply(ctx._("Marked #{a} and #{b} as not duplicates; they will not be listed again.",
                       a=done.a, b=done.b))  # fmt: skip
