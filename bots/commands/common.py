"""What several commands share: reading a filter, paged contact lists with a "next" button."""

from __future__ import annotations

from typing import Any

import orjson

from bots import render
from bots.buttons import LONG_TTL
from bots.core import MAX_INLINE_LINES, Context, Reply, Usage
from bots.i18n import N_
from bots.pressing import on_pending, pending_action
from store import query, views
from store.bot_actions import PendingAction


def filter_value(text: str) -> Any:
    """A filter as typed: the text syntax (`tag:vip country:EC`), or JSON when it starts with
    `{` or `[`; None when empty."""
    text = text.strip()
    if not text:
        return None
    if text.startswith(("{", "[")):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise Usage(N_("that filter is not valid JSON")) from exc
    return text


def last_word(text: str) -> tuple[str, str]:
    """Split off the last word, or the last quoted phrase: (`tag:vip country:EC`, `VIP EC`)."""
    text = text.strip()
    if text.endswith(('"', "”")):
        start = max(text.rfind('"', 0, len(text) - 1), text.rfind("“", 0, len(text) - 1))
        if start >= 0:
            return text[:start].strip(), text[start + 1 : -1].strip()
    head, _, tail = text.rpartition(" ")
    return head.strip(), tail.strip()


async def matching_count(ctx: Context, filter: Any) -> int:
    """How many live contacts match a filter (it is validated on the way)."""
    page = await query.list_contacts(ctx.actor, filter=filter, limit=1, count=True)
    return page.total or 0


async def page_reply(ctx: Context, spec: dict[str, Any], cursor: str | None = None) -> Reply:
    """A page of up to MAX_INLINE_LINES contacts of a search, filter or view, with a count on the
    first page and a "Next page" button while more follow."""
    first = cursor is None
    if spec.get("view"):
        page = await views.run(
            ctx.actor, spec["view"], cursor=cursor, limit=MAX_INLINE_LINES, count=first
        )
    else:
        page = await query.list_contacts(
            ctx.actor, q=spec.get("q") or "", filter=spec.get("filter"), cursor=cursor,
            limit=MAX_INLINE_LINES, count=first,
        )  # fmt: skip
    title = spec["title"]
    if first and not page.contacts:
        return Reply(ctx._("{title}: no contacts match.", title=title))
    total = page.total or 0
    counted = ctx.n_("{n} contact", "{n} contacts", total)
    head = f"{title}: {counted}" if first else ctx._("{title}, more:", title=title)
    lines = [head, *(render.contact_line(c) for c in page.contacts)]
    buttons: tuple[Any, ...] = ()
    if page.next_cursor:
        pid = await ctx.remember("page", {**spec, "cursor": page.next_cursor}, LONG_TTL)
        buttons = (ctx.button(ctx._("Next page"), pending_action(pid, "next"), ttl=LONG_TTL),)
    return Reply("\n".join(lines), buttons)


@on_pending("page", role="agent", once=False)
async def next_page(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """The next page of a list."""
    spec = dict(action.payload)
    cursor = str(spec.pop("cursor"))
    return await page_reply(ctx, spec, cursor)


def confirm_buttons(ctx: Context, pid: int, label: str, style: str = "primary") -> tuple[Any, ...]:
    """A confirm button and a cancel button for a stored action."""
    return (
        ctx.button(label, pending_action(pid, "ok"), style),
        ctx.button(ctx._("Cancel"), pending_action(pid, "no")),
    )
