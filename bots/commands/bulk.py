"""tag-all, untag-all, delete-all: every contact matching a filter, after a confirmation."""

from __future__ import annotations

from typing import Any

from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons, filter_value, last_word, matching_count
from bots.core import Context, Reply, Usage, command
from bots.i18n import N_
from bots.pressing import on_pending
from store import bulk, tags
from store.bot_actions import PendingAction


async def _ask(ctx: Context, op: str, expr_text: str, tag: str | None) -> Reply:
    expr = filter_value(expr_text)
    if expr is None:
        raise Usage(ctx._("give a filter expression"))
    if tag is not None:
        tag = tags.clean([tag])[0]
    shown = expr_text.strip()
    matched = await matching_count(ctx, expr)
    if not matched:
        return Reply(ctx._("No contacts match `{filter}`; nothing to do.", filter=shown))
    what = {
        "tag": N_("Tag them all with *{tag}*?"),
        "untag": N_("Take *{tag}* off them all?"),
        "delete": N_("Delete them all with their messages, notes and tags? This cannot be undone."),
    }[op]
    payload: dict[str, Any] = {"op": op, "filter": expr, "tag": tag, "count": matched}
    pid = await ctx.remember("bulk", payload, SHORT_TTL)
    label = {
        "tag": ctx.n_("Tag {n}", "Tag {n}", matched),
        "untag": ctx.n_("Untag {n}", "Untag {n}", matched),
        "delete": ctx.n_("Delete {n}", "Delete {n}", matched),
    }[op]
    counted = ctx.n_("{n} contact matches `{filter}`.", "{n} contacts match `{filter}`.", matched,
                     filter=shown)  # fmt: skip
    text = f"{counted} {ctx._(what, tag=tag or '')}"
    style = "danger" if op == "delete" else "primary"
    return Reply(text, confirm_buttons(ctx, pid, label, style))


def _expr_and_tag(ctx: Context, args: str) -> tuple[str, str]:
    expr, tag = last_word(args)
    if not expr or not tag:
        raise Usage(ctx._("give a filter expression, then the tag"))
    return expr, tag


@command(
    "tag-all", es="etiquetar-todos", role="admin", usage=N_("<filter> <tag>"), group="tag",
    brief=N_("Tag every contact matching a filter (asks first)"),
)  # fmt: skip
async def tag_all(ctx: Context, args: str) -> Reply:
    """Tag every contact matching a filter (shows the count, asks first)."""
    return await _ask(ctx, "tag", *_expr_and_tag(ctx, args))


@command(
    "untag-all", es="desetiquetar-todos", role="admin", usage=N_("<filter> <tag>"), group="tag",
    brief=N_("Untag every contact matching a filter (asks first)"),
)  # fmt: skip
async def untag_all(ctx: Context, args: str) -> Reply:
    """Untag every contact matching a filter (shows the count, asks first)."""
    return await _ask(ctx, "untag", *_expr_and_tag(ctx, args))


@command(
    "delete-all", es="eliminar-todos", role="admin", usage=N_("<filter>"), group="merge",
    brief=N_("Delete every contact matching a filter (asks first)"),
)  # fmt: skip
async def delete_all(ctx: Context, args: str) -> Reply:
    """Delete every contact matching a filter (shows the count, asks first)."""
    return await _ask(ctx, "delete", args, None)


@on_pending("bulk", role="admin", once=True)
async def confirm_bulk(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Apply a confirmed bulk operation; a delete refuses when the count changed meanwhile."""
    p = action.payload
    if p["op"] == "delete":
        done = await bulk.bulk_delete(ctx.actor, filter=p["filter"], expected=int(p["count"]))
        return Reply(ctx.n_("Deleted {n} contact.", "Deleted {n} contacts.", done), replace=True)
    names = [str(p["tag"])]
    if p["op"] == "tag":
        done = await bulk.bulk_tag(ctx.actor, filter=p["filter"], add=names)
    else:
        done = await bulk.bulk_tag(ctx.actor, filter=p["filter"], remove=names)
    if p["op"] == "tag":
        text = ctx.n_(
            "Tagged {n} contact ({tag}).", "Tagged {n} contacts ({tag}).", done, tag=p["tag"]
        )
    else:
        text = ctx.n_("Untagged {n} contact ({tag}).", "Untagged {n} contacts ({tag}).", done,
                      tag=p["tag"])  # fmt: skip
    return Reply(text, replace=True)
