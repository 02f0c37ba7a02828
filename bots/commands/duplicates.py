"""duplicates (duplicados): likely duplicate pairs in words, a Merge… button per pair opening the
merge preview, and a Not duplicates button that dismisses the pair."""

from __future__ import annotations

from bots import render
from bots.buttons import LONG_TTL
from bots.commands.merging import open_preview
from bots.core import Button, Context, Reply, Usage, command
from bots.pressing import on_button, on_pending, pending_action
from store import duplicates
from store.bot_actions import PendingAction

PAGE = 5  # pairs per message: two buttons each stay under every platform's limits


@command("duplicates", role="agent", usage="duplicates", aliases=("duplicados",))
async def list_duplicates(ctx: Context, args: str) -> Reply:
    """List likely duplicate contacts, strongest first, each one press away from the merge."""
    if args.strip():
        raise Usage("duplicates takes no arguments")
    return await _page(ctx, None)


async def _page(ctx: Context, cursor: str | None) -> Reply:
    page = await duplicates.find(ctx.actor, limit=PAGE, cursor=cursor)
    if not page.pairs:
        return Reply("No likely duplicates." if cursor is None else "No more likely duplicates.")
    head = f"*Likely duplicates: {render.count(page.total, 'pair')}*" if cursor is None else ""
    lines = [head] if head else []
    buttons: list[Button] = []
    for pair in page.pairs:
        lines.append(_pair_line(pair))
        if ctx.allows("admin"):  # merging and dismissing are for admins
            a, b = pair.a.id, pair.b.id
            buttons.append(ctx.button(f"Merge #{b} into #{a}…", f"dupmerge:{a}:{b}", ttl=LONG_TTL))
            buttons.append(ctx.button(f"Not duplicates #{a}/#{b}", f"notdup:{a}:{b}", ttl=LONG_TTL))
    if page.next_cursor:
        pid = await ctx.remember("dupes", {"cursor": page.next_cursor}, LONG_TTL)
        buttons.append(ctx.button("Next page", pending_action(pid, "next"), ttl=LONG_TTL))
    return Reply("\n".join(lines), tuple(buttons))


def _pair_line(pair: duplicates.Pair) -> str:
    """`#12 *Ana* and #40 *Ana M.* (score 70): same phone under a variant (+52…)`."""
    reasons = "; ".join(_reason(r) for r in pair.reasons)
    return (
        f"`#{pair.a.id}` *{render.plain(pair.a.display_name)}* and `#{pair.b.id}`"
        f" *{render.plain(pair.b.display_name)}* (score {pair.score}): {reasons}"
    )


def _reason(reason: duplicates.Reason) -> str:
    """A reason in words."""
    value = render.plain(reason.value)
    words = {
        "phone": f"same phone under a variant ({value})",
        "email": f"same email ({value})",
        "identifier": f"same identifier ({value})",
        "name_company": f"same name and company ({value})",
        "name_city": f"same name and city ({value})",
    }
    return words.get(reason.kind, f"{reason.kind} ({value})")


@on_pending("dupes", role="agent", once=False)
async def next_page(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """The next page of duplicate pairs."""
    return await _page(ctx, str(action.payload["cursor"]))


def _pair(args: list[str]) -> tuple[int, int]:
    if len(args) != 2 or not all(a.isdigit() for a in args):
        raise Usage("that button is not one of a duplicate pair")
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
        return Reply(f"#{done.a} and #{done.b} were already marked as not duplicates.")
    return Reply(
        f"Marked #{done.a} and #{done.b} as not duplicates; they will not be listed again."
    )
