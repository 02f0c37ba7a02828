"""merge (field-by-field preview, a button per differing field to pick its side, a button to
also move the reset tag) and unmerge."""

from __future__ import annotations

from typing import Any

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import confirm_buttons
from bots.core import Button, Context, Reply, Usage, command
from bots.pressing import on_pending, pending_action
from bots.refs import contact_and_rest, one_contact, resolve, take_ref
from store import merge as merging
from store import refs
from store.bot_actions import PendingAction, update
from store.bot_actions import take as take_action

MAX_PICKS = 20  # buttons: one per differing field
OTHER = {"primary": "secondary", "secondary": "primary"}


@command("merge", role="admin", usage="merge <contact kept> <contact merged into it>")
async def merge(ctx: Context, args: str) -> Reply:
    """Merge two contacts: preview the differences, pick each field's side, then confirm."""
    primary, rest = await contact_and_rest(ctx, args, need_rest=True)
    ref, extra = take_ref(rest)
    if extra:
        raise Usage(f"name exactly two contacts (quote names of several words), not {extra!r} too")
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
    state["moving"] = (
        f"{render.count(found.identities, 'identity', 'identities')},"
        f" {render.count(found.messages, 'message')}, {render.count(found.notes, 'note')}"
    )
    state |= {"tags": found.tags, "reset_tag": found.reset_tag, "move_reset": False}
    pid = await ctx.remember("merge", state, SHORT_TTL)
    return _preview(ctx, pid, state)


def _side(state: dict[str, Any], i: int) -> str:
    diff = state["diffs"][i]
    return str(state["picks"].get(diff["field"], diff["keeps"]))


def _preview(ctx: Context, pid: int, state: dict[str, Any], *, replace: bool = False) -> Reply:
    p, s = state["p"], state["s"]
    lines = [
        f"*Merge #{s} into #{p}?* #{p} stays; #{s}'s {state['moving']} and"
        f" {_moving_tags(state.get('tags', []))} move to it.",
        *_reset_line(state),
    ]
    if not state["diffs"]:
        lines.append("No field differs.")
    buttons: list[Button] = []
    for i, diff in enumerate(state["diffs"][:MAX_PICKS]):
        side = _side(state, i)
        kept = diff["p"] if side == "primary" else diff["s"]
        lines.append(
            f"{diff['field']}: #{p} `{_shown(diff['p'])}` | #{s} `{_shown(diff['s'])}`"
            f" → keeps `{_shown(kept)}`"
        )
        if diff.get("pick"):  # only when neither side is empty: a pick never blanks
            other = s if side == "primary" else p
            label = f"{diff['field'][:30]}: use #{other}"
            buttons.append(ctx.button(label, pending_action(pid, f"f{i}")))
    if state.get("reset_tag"):
        verb = "Do not move" if state.get("move_reset") else "Also move"
        label = f"{verb} {state['reset_tag'][:30]}"
        buttons.append(ctx.button(label, pending_action(pid, "r")))
    buttons += confirm_buttons(ctx, pid, "Merge", "danger")
    return Reply("\n".join(lines), tuple(buttons), replace=replace)


def _moving_tags(names: list[str]) -> str:
    """`no tags`, `tag vip`, `tags lead, vip`: every tag that moves, by name."""
    if not names:
        return "no tags"
    return f"{'tag' if len(names) == 1 else 'tags'} {_names(names)}"


def _reset_line(state: dict[str, Any]) -> list[str]:
    """What happens to the secondary's reset tag (it moves only when picked), if it has one."""
    reset, p = state.get("reset_tag"), state["p"]
    if not reset:
        return []
    if state.get("move_reset"):
        return [
            f"*{render.plain(reset)}* (the reset tag) moves too: a tagged monthly reset will"
            f" delete #{p}."
        ]
    return [
        f"*{render.plain(reset)}* (the reset tag) does not move: #{p} keeps its own state"
        f" unless you press “Also move {render.plain(reset)}”."
    ]


def _names(names: list[str]) -> str:
    return ", ".join(render.plain(n) for n in names)


def _shown(value: Any) -> str:
    return render.snippet("" if value is None else str(value), 60) or "(empty)"


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
            raise Usage("that field has an empty side: a pick never blanks a value")
        state["picks"] = {**state["picks"], state["diffs"][i]["field"]: OTHER[_side(state, i)]}
    else:
        raise Usage("that button is not one of this merge")
    await update(ctx.binding.workspace_id, action.id, state)
    return _preview(ctx, action.id, state, replace=True)


async def _confirm(ctx: Context, action: PendingAction, state: dict[str, Any]) -> Reply:
    if not await take_action(ctx.binding.workspace_id, action.id):
        return Reply("That was already done or cancelled.", replace=True)
    done = await merging.merge(
        ctx.actor,
        int(state["p"]),
        int(state["s"]),
        state["picks"],
        move_reset_tag=bool(state.get("move_reset")),
    )
    moved = f"Tags moved: {_names(done.moved_tags)}." if done.moved_tags else "No tag moved."
    if done.reset_tag_stayed:
        moved += f" {render.plain(done.reset_tag_stayed)} (the reset tag) did not move."
    return Reply(
        f"Merged #{state['s']} into #{done.contact.id} {render.plain(done.contact.display_name)}."
        f" {moved}",
        contact_id=done.contact.id,
        replace=True,
    )


@command("unmerge", role="admin", usage="unmerge <merged contact>")
async def unmerge(ctx: Context, args: str) -> Reply:
    """Undo a merge: name the contact that was merged away (or its primary, if only one)."""
    ref = refs.parse_chat(args)
    if ref.kind == "id" and ctx.contact_id is None:  # a merged-away id, not its primary
        target = await refs.contact_id(ctx.actor, ref)
    else:
        target = (await one_contact(ctx, args)).id
    primary, secondary = await merging.unmerge(ctx.actor, target)
    return Reply(
        f"Unmerged: #{primary.id} {render.plain(primary.display_name)} and"
        f" #{secondary.id} {render.plain(secondary.display_name)} are separate again."
    )
