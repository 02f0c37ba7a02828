"""merge (field-by-field preview, a button per differing field to pick its side, a button to
also move the reset tag) and unmerge."""

from __future__ import annotations

from typing import Any

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons
from bots.core import Button, Context, Reply, Usage, command
from bots.i18n import N_
from bots.pressing import on_pending, pending_action
from bots.refs import contact_and_rest, one_contact, resolve, take_ref
from store import merge as merging
from store import refs
from store.bot_actions import PendingAction, update
from store.bot_actions import take as take_action

MAX_PICKS = 20  # buttons: one per differing field
OTHER = {"primary": "secondary", "secondary": "primary"}


@command(
    "merge", es="fusionar", role="admin", usage=N_("<contact kept> <contact merged into it>"),
    group="merge", brief=N_("Merge two contacts: preview, pick fields, confirm"),
)  # fmt: skip
async def merge(ctx: Context, args: str) -> Reply:
    """Merge two contacts: preview the differences, pick each field's side, then confirm."""
    primary, rest = await contact_and_rest(ctx, args, need_rest=True)
    ref, extra = take_ref(rest)
    if extra:
        raise Usage(ctx._("name exactly two contacts (quote names of several words), not {extra}"
                          " too", extra=repr(extra)))  # fmt: skip
    secondary = await resolve(ctx, ref)
    return await open_preview(ctx, primary.id, secondary.id)


async def open_preview(ctx: Context, primary_id: int, secondary_id: int) -> Reply:
    """The merge preview of two contacts with its pick and confirm buttons (the `merge`
    command, and a duplicate pair's Merge… button)."""
    found = await merging.preview(ctx.actor, primary_id, secondary_id)
    diffs = [
        {"field": d.field, "p": d.primary, "s": d.secondary, "keeps": d.keeps, "pick": d.pickable}
        for d in found.diffs
    ]
    state: dict[str, Any] = {"p": found.primary.id, "s": found.secondary.id, "diffs": diffs}
    state["picks"] = {}
    state["moving"] = [found.identities, found.messages, found.notes]
    state |= {"tags": found.tags, "reset_tag": found.reset_tag, "move_reset": False}
    pid = await ctx.remember("merge", state, SHORT_TTL)
    return _preview(ctx, pid, state)


def _side(state: dict[str, Any], i: int) -> str:
    diff = state["diffs"][i]
    return str(state["picks"].get(diff["field"], diff["keeps"]))


def _preview(ctx: Context, pid: int, state: dict[str, Any], *, replace: bool = False) -> Reply:
    p, s = state["p"], state["s"]
    identities, messages, notes = state["moving"]
    moving = ", ".join((
        ctx.n_("{n} identity", "{n} identities", identities),
        ctx.n_("{n} message", "{n} messages", messages), ctx.n_("{n} note", "{n} notes", notes),
    ))  # fmt: skip
    lines = [
        ctx._("*Merge #{s} into #{p}?* #{p} stays; #{s}'s {moving} and {tags} move to it.",
              s=s, p=p, moving=moving, tags=_moving_tags(ctx, state.get("tags", []))),
        *_reset_line(ctx, state),
    ]  # fmt: skip
    if not state["diffs"]:
        lines.append(ctx._("No field differs."))
    buttons: list[Button] = []
    for i, diff in enumerate(state["diffs"][:MAX_PICKS]):
        side = _side(state, i)
        kept = diff["p"] if side == "primary" else diff["s"]
        field = render.field_name(ctx.lang, diff["field"])
        lines.append(ctx._("{field}: #{p} `{pv}` | #{s} `{sv}` → keeps `{kept}`", field=field,
                           p=p, pv=_shown(ctx, diff["p"]), s=s, sv=_shown(ctx, diff["s"]),
                           kept=_shown(ctx, kept)))  # fmt: skip
        if diff.get("pick"):  # only when neither side is empty: a pick never blanks
            other = s if side == "primary" else p
            label = ctx._("{field}: use #{id}", field=field[:30], id=other)
            buttons.append(ctx.button(label, pending_action(pid, f"f{i}")))
    if state.get("reset_tag"):
        verb = N_("Do not move {tag}") if state.get("move_reset") else N_("Also move {tag}")
        buttons.append(
            ctx.button(ctx._(verb, tag=state["reset_tag"][:30]), pending_action(pid, "r"))
        )
    buttons += confirm_buttons(ctx, pid, ctx._("Merge"), "danger")
    return Reply("\n".join(lines), tuple(buttons), replace=replace)


def _moving_tags(ctx: Context, names: list[str]) -> str:
    """`no tags`, `tag vip`, `tags lead, vip`: every tag that moves, by name."""
    if not names:
        return ctx._("no tags")
    return ctx.n_("tag {names}", "tags {names}", len(names), names=_names(names))


def _reset_line(ctx: Context, state: dict[str, Any]) -> list[str]:
    """What happens to the secondary's reset tag (it moves only when picked), if it has one."""
    reset, p = state.get("reset_tag"), state["p"]
    if not reset:
        return []
    tag = render.plain(reset)
    if state.get("move_reset"):
        return [ctx._("*{tag}* (the reset tag) moves too: a tagged monthly reset will delete"
                      " #{p}.", tag=tag, p=p)]  # fmt: skip
    also = ctx._("Also move {tag}", tag=tag)
    return [ctx._("*{tag}* (the reset tag) does not move: #{p} keeps its own state unless you"
                  " press “{also}”.", tag=tag, p=p, also=also)]  # fmt: skip


def _names(names: list[str]) -> str:
    return ", ".join(render.plain(n) for n in names)


def _shown(ctx: Context, value: Any) -> str:
    return render.snippet("" if value is None else str(value), 60) or ctx._("(empty)")


@on_pending("merge", role="admin", once=False)
async def merge_press(ctx: Context, action: PendingAction, choice: str) -> Reply:
    """Flip a field's side, move the reset tag or not, or (ok) merge with the picks."""
    state = dict(action.payload)
    if choice == "ok":
        return await _confirm(ctx, action, state)
    if choice == "r" and state.get("reset_tag"):
        state["move_reset"] = not state.get("move_reset")
    elif choice[:1] == "f" and choice[1:].isdigit() and int(choice[1:]) < len(state["diffs"]):
        i = int(choice[1:])
        if not state["diffs"][i].get("pick"):
            raise Usage(ctx._("that field has an empty side: a pick never blanks a value"))
        state["picks"] = {**state["picks"], state["diffs"][i]["field"]: OTHER[_side(state, i)]}
    else:
        raise Usage(ctx._("that button is not one of this merge"))
    await update(ctx.binding.workspace_id, action.id, state)
    return _preview(ctx, action.id, state, replace=True)


async def _confirm(ctx: Context, action: PendingAction, state: dict[str, Any]) -> Reply:
    if not await take_action(ctx.binding.workspace_id, action.id):
        return Reply(ctx._("That was already done or cancelled."), replace=True)
    done = await merging.merge(
        ctx.actor,
        int(state["p"]),
        int(state["s"]),
        state["picks"],
        move_reset_tag=bool(state.get("move_reset")),
    )
    if done.moved_tags:
        moved = ctx._("Tags moved: {tags}.", tags=_names(done.moved_tags))
    else:
        moved = ctx._("No tag moved.")
    if done.reset_tag_stayed:
        stayed = render.plain(done.reset_tag_stayed)
        moved += " " + ctx._("{tag} (the reset tag) did not move.", tag=stayed)
    merged = ctx._("Merged #{s} into #{id} {name}.", s=state["s"], id=done.contact.id,
                   name=render.plain(done.contact.display_name))  # fmt: skip
    return Reply(f"{merged} {moved}", contact_id=done.contact.id, replace=True)


@command(
    "unmerge", es="separar", role="admin", usage=N_("<merged contact>"), group="merge",
    brief=N_("Undo a merge"),
)  # fmt: skip
async def unmerge(ctx: Context, args: str) -> Reply:
    """Undo a merge: name the contact that was merged away (or its primary, if only one)."""
    ref = refs.parse_chat(args)
    if ref.kind == "id" and ctx.contact_id is None:  # a merged-away id, not its primary
        target = await refs.contact_id(ctx.actor, ref)
    else:
        target = (await one_contact(ctx, args)).id
    primary, secondary = await merging.unmerge(ctx.actor, target)
    return Reply(ctx._("Unmerged: #{p} {pname} and #{s} {sname} are separate again.",
                       p=primary.id, pname=render.plain(primary.display_name), s=secondary.id,
                       sname=render.plain(secondary.display_name)))  # fmt: skip
