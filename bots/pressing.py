"""Button presses: verify the data, re-check the role, run the action the button stands for.

Two kinds of buttons: stateless ones (`show:12`, `borrar:12`), registered with `@on_button`,
and ones backed by a stored action (`p:<id>:<choice>`: a confirmation, a list's next page, a
merge pick), registered per stored kind with `@on_pending`. A confirmation (`once=True`) is
taken before it runs, so a second press, or a press in another process, does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from bots.buttons import Expired, Forged, verify_action
from bots.core import Context, Reply, Result, needs_role, refuse, run
from bots.i18n import N_
from store import bot_actions
from store.access import ROLES
from store.bot_actions import PendingAction

ButtonFunc = Callable[[Context, list[str]], Awaitable[Result]]
PendingFunc = Callable[[Context, PendingAction, str], Awaitable[Result]]
ALREADY = N_("That was already done or cancelled.")
GONE = N_("This button has expired; run the command again.")
F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class _Handler(Generic[F]):
    func: F
    role: str
    once: bool = False


BUTTONS: dict[str, _Handler[ButtonFunc]] = {}
PENDING: dict[str, _Handler[PendingFunc]] = {}


def on_button(verb: str, *, role: str) -> Callable[[ButtonFunc], ButtonFunc]:
    """Register a stateless button verb (`show`, `borrar`…) and the role it needs."""

    def register(func: ButtonFunc) -> ButtonFunc:
        if verb in BUTTONS or verb == "p" or role not in ROLES:
            raise ValueError(f"bad button verb registration {verb!r}")
        BUTTONS[verb] = _Handler(func, role)
        return func

    return register


def on_pending(kind: str, *, role: str, once: bool) -> Callable[[PendingFunc], PendingFunc]:
    """Register what pressing a stored action's button does; `once`: it runs one time only."""

    def register(func: PendingFunc) -> PendingFunc:
        if kind in PENDING or role not in ROLES:
            raise ValueError(f"bad pending kind registration {kind!r}")
        PENDING[kind] = _Handler(func, role, once)
        return func

    return register


def pending_action(pid: int, choice: str) -> str:
    """The action text of a stored action's button (`p:<id>:<choice>`)."""
    return f"p:{pid}:{choice}"


async def handle(ctx: Context, data: str) -> list[Reply]:
    """Verify and run one press for a bound user."""
    try:
        action = verify_action(ctx.binding.workspace_id, data)
    except Expired:
        return [Reply(ctx._(GONE))]
    except Forged as exc:  # its message is a msgid (bots.buttons)
        return await refuse(ctx, "button", ctx._(str(exc)))
    verb, *args = action.split(":")
    if verb == "p":
        return await _pending(ctx, args)
    handler = BUTTONS.get(verb)
    if handler is None:
        return [Reply(ctx._("This button no longer works; run the command again."))]
    if not ctx.allows(handler.role):
        return await refuse(ctx, verb, needs_role(ctx, handler.role))
    return await run(ctx, verb, lambda: handler.func(ctx, args))


async def _pending(ctx: Context, args: list[str]) -> list[Reply]:
    if len(args) != 2 or not args[0].isdigit():
        return await refuse(ctx, "button", ctx._("this button is not one of mine"))
    found = await bot_actions.get(ctx.binding.workspace_id, int(args[0]))
    handler = PENDING.get(found.kind) if found else None
    if found is None or handler is None:
        return [Reply(ctx._(GONE))]
    if not ctx.allows(handler.role):
        return await refuse(ctx, found.kind, needs_role(ctx, handler.role))
    if found.used:
        return [Reply(ctx._(ALREADY), replace=True)]
    if found.expires_at <= datetime.now(UTC):
        return [Reply(ctx._(GONE))]
    choice = args[1]
    if choice == "no" or handler.once:
        if not await bot_actions.take(ctx.binding.workspace_id, found.id):
            return [Reply(ctx._(ALREADY), replace=True)]
        if choice == "no":
            return [Reply(ctx._("Cancelled; nothing changed."), replace=True)]
    return await run(ctx, found.kind, lambda: handler.func(ctx, found, choice))
