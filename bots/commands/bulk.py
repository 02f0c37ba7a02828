"""tag-all, untag-all, delete-all: every contact matching a filter, after a confirmation."""

from __future__ import annotations

from typing import Any

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons, filter_value, last_word, matching_count
from bots.core import Context, Reply, Usage, command
from bots.pressing import on_pending
from store import bulk, tags
from store.bot_actions import PendingAction


async def _ask(ctx: Context, op: str, expr_text: str, tag: str | None) -> Reply:
    expr = filter_value(expr_text)
    if expr is None:
        raise Usage("give a filter expression")
    if tag is not None:
        tag = tags.clean([tag])[0]
    matched = await matching_count(ctx, expr)
    if not matched:
        return Reply(f"No contacts match `{expr_text.strip()}`; nothing to do.")
    what = {
        "tag": f"Tag them all with *{tag}*?",
        "untag": f"Take *{tag}* off them all?",
        "delete": "Delete them all with their messages, notes and tags? This cannot be undone.",
    }[op]
    payload: dict[str, Any] = {"op": op, "filter": expr, "tag": tag, "count": matched}
    pid = await ctx.remember("bulk", payload, SHORT_TTL)
    label = {"tag": "Tag", "untag": "Untag", "delete": "Delete"}[op]
    verb = "matches" if matched == 1 else "match"
    text = f"{render.count(matched, 'contact')} {verb} `{expr_text.strip()}`. {what}"
    style = "danger" if op == "delete" else "primary"
    return Reply(text, confirm_buttons(ctx, pid, f"{label} {matched}", style))


def _expr_and_tag(args: str) -> tuple[str, str]:
    expr, tag = last_word(args)
    if not expr or not tag:
        raise Usage("give a filter expression, then the tag")
    return expr, tag


@command("tag-all", role="admin", usage="tag-all <filter> <tag>")
async def tag_all(ctx: Context, args: str) -> Reply:
    """Tag every contact matching a filter (shows the count, asks first)."""
    return await _ask(ctx, "tag", *_expr_and_tag(args))


@command("untag-all", role="admin", usage="untag-all <filter> <tag>")
async def untag_all(ctx: Context, args: str) -> Reply:
    """Untag every contact matching a filter (shows the count, asks first)."""
    return await _ask(ctx, "untag", *_expr_and_tag(args))


@command("delete-all", role="admin", usage="delete-all <filter>")
async def delete_all(ctx: Context, args: str) -> Reply:
    """Delete every contact matching a filter (shows the count, asks first)."""
    return await _ask(ctx, "delete", args, None)


@on_pending("bulk", role="admin", once=True)
async def confirm_bulk(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Apply a confirmed bulk operation; a delete refuses when the count changed meanwhile."""
    p = action.payload
    if p["op"] == "delete":
        done = await bulk.bulk_delete(ctx.actor, filter=p["filter"], expected=int(p["count"]))
        return Reply(f"Deleted {render.count(done, 'contact')}.", replace=True)
    names = [str(p["tag"])]
    if p["op"] == "tag":
        done = await bulk.bulk_tag(ctx.actor, filter=p["filter"], add=names)
    else:
        done = await bulk.bulk_tag(ctx.actor, filter=p["filter"], remove=names)
    verb = "Tagged" if p["op"] == "tag" else "Untagged"
    return Reply(f"{verb} {render.count(done, 'contact')} ({p['tag']}).", replace=True)
