"""The admin bots' platform-neutral core: replies, the command registry, dispatch and buttons.

Adapters (bots/telegram.py, bots/slack.py) turn a platform request into an `Incoming` or a
button press, call `dispatch` / `press`, and render the `Reply` list. Commands live in
bots/commands/ and register here with `@command`; they declare their minimum role, which is
enforced once, here, before they run. Every refusal is audited as `bot.refused`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol, TypeVar

import structlog

from bots import buttons, render
from bots.buttons import SHORT_TTL, Forged, sign_action
from store import access, bot_actions
from store.access import Actor, Stranger
from store.chat_admin import Binding, binding
from store.errors import DomainError, Forbidden
from store.refs import Ambiguous
from store.reset import ResetConfig, Run

log = structlog.get_logger("contactgate.bots")
MAX_INLINE_LINES = 100  # longer lists: a "next" button, and above the platform limit a file
__all__ = ["MAX_INLINE_LINES", "sign_action"]


@dataclass(frozen=True, slots=True)
class ChatUser:
    """Who wrote: platform, user id (Slack `TEAM:USER`, Telegram user id), display name."""

    platform: str
    user_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a reply; `data` comes from `sign_action` (<= 64 bytes)."""

    label: str
    data: str
    style: str | None = None  # "primary" | "danger" | None


@dataclass(frozen=True, slots=True)
class OutFile:
    """A file the adapter uploads to the chat."""

    name: str
    content: bytes
    mime: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """One message: light markdown text (*bold*, `code`), buttons, a file, a contact card.

    `replace` (button presses only): the adapter may edit the message that carried the
    pressed button instead of posting a new one (a confirmation's outcome, a changed pick).
    """

    text: str
    buttons: tuple[Button, ...] = ()
    file: OutFile | None = None
    contact_id: int | None = None
    replace: bool = False


@dataclass(frozen=True, slots=True)
class InFile:
    """A file the user uploaded (a CSV to import)."""

    name: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Incoming:
    """A command as the adapter received it."""

    user: ChatUser
    command: str
    text: str
    chat_id: str
    replied_contact: int | None = None
    file: InFile | None = None


class Usage(Exception):
    """The arguments cannot be read; the message says why (the usage line is added)."""


class ResetStarter(Protocol):
    """What the core needs of the gateway's reset runner (gateway.resets.ResetRunner)."""

    config: ResetConfig

    def running(self, workspace_id: int) -> bool: ...

    def start(self, run: Run) -> Awaitable[None]: ...


Send = Callable[[str, Reply], Awaitable[None]]


@dataclass(slots=True)
class Runtime:
    """What the running gateway gives the bots: the reset runner and the adapters' senders."""

    resets: ResetStarter | None = None
    senders: dict[str, Send] = field(default_factory=dict)


RUNTIME = Runtime()  # filled at start (bots.wiring); holds no connection


def configure(*, key: bytes, resets: ResetStarter | None) -> None:
    """Set the button key and the reset runner (the gateway does this at start)."""
    buttons.set_key(key)
    RUNTIME.resets = resets


def register_sender(platform: str, send: Send) -> None:
    """Let notifications reach `platform` chats through `send(chat_id, reply)`."""
    RUNTIME.senders[platform] = send


def unregister_sender(platform: str) -> None:
    """Stop delivering to `platform` (its adapter is shutting down)."""
    RUNTIME.senders.pop(platform, None)


@dataclass(frozen=True, slots=True)
class Context:
    """A bound chat user running a command: who, where, and the contact a reply points at."""

    user: ChatUser
    binding: Binding
    chat_id: str
    contact_id: int | None = None
    file: InFile | None = None

    @property
    def actor(self) -> Actor:
        """The actor store functions audit: `telegram:42`, `slack:T1:U2`."""
        name = f"{self.user.platform}:{self.user.user_id}"
        return Actor(self.binding.workspace_id, name, self.user.platform, self.binding.role)

    def allows(self, role: str) -> bool:
        """Whether the user's role is at least `role`."""
        return access.allows(self.binding.role, role)

    def button(
        self, label: str, action: str, style: str | None = None, ttl: timedelta = SHORT_TTL
    ) -> Button:
        """A signed button running `action` (`verb:arg…`) for this workspace."""
        return Button(label, sign_action(self.binding.workspace_id, action, ttl), style)

    async def remember(
        self, kind: str, payload: dict[str, object], ttl: timedelta, blob: bytes | None = None
    ) -> int:
        """Keep state for buttons server-side; returns the id the buttons carry."""
        return await bot_actions.save(
            self.binding.workspace_id, kind, payload, created_by=self.actor.name, ttl=ttl,
            blob=blob,
        )  # fmt: skip


Result = Reply | list[Reply]
CommandFunc = Callable[[Context, str], Awaitable[Result]]
C = TypeVar("C", bound=CommandFunc)


@dataclass(frozen=True, slots=True)
class Command:
    """A registered command: its function, minimum role, usage line and help (the docstring)."""

    name: str
    func: CommandFunc
    role: str
    usage: str
    aliases: tuple[str, ...] = ()

    @property
    def help(self) -> str:
        """The first line of the docstring."""
        return (self.func.__doc__ or "").strip().splitlines()[0]


COMMANDS: dict[str, Command] = {}  # name (and alias) -> command; "view save" is two words


def command(name: str, *, role: str, usage: str, aliases: tuple[str, ...] = ()) -> Callable[[C], C]:
    """Register a command; the docstring's first line is its help."""
    if role not in access.ROLES:
        raise ValueError(f"unknown role {role!r}")

    def register(func: C) -> C:
        found = Command(name, func, role, usage, aliases)
        for key in (name, *aliases):
            if key in COMMANDS:
                raise ValueError(f"command {key!r} registered twice")
            COMMANDS[key] = found
        return func

    return register


def listed(role: str | None = None) -> list[Command]:
    """Registered commands once each, by name; only those `role` may run when given."""
    unique = {c.name: c for c in COMMANDS.values()}
    chosen = [c for c in unique.values() if role is None or access.allows(role, c.role)]
    return sorted(chosen, key=lambda c: c.name)


def find(command_name: str, text: str) -> tuple[Command, str] | None:
    """The command a platform command and its text name (`view` + `save x` -> `view save`)."""
    name = normalise(command_name)
    if name in ("contacts", ""):
        first, text = _head(text)
        name = normalise(first) or "help"
    if name in COMMANDS:
        name = COMMANDS[name].name  # an alias: its subcommands are the command's
    first, rest = _head(text)
    two = f"{name} {first.lower()}"
    if first and two in COMMANDS:
        return COMMANDS[two], rest
    return (COMMANDS[name], text.strip()) if name in COMMANDS else None


def _head(text: str) -> tuple[str, str]:
    """The first word and the rest (which keeps its line breaks)."""
    parts = text.strip().split(maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0] if parts else "", "")


def asked(command_name: str, text: str) -> str:
    """The command name a user typed: `contacts tag …` asks for `tag`."""
    name = normalise(command_name)
    return normalise(_head(text)[0]) if name in ("contacts", "") else name


def normalise(name: str) -> str:
    """`/Tag_All@mybot` -> `tag-all`."""
    return name.strip().lstrip("/").split("@", 1)[0].lower().replace("_", "-")


async def dispatch(incoming: Incoming) -> list[Reply]:
    """Run a command for a chat user: binding, role, arguments, domain errors as replies."""
    from bots import commands  # noqa: F401  (registers every command)

    user = incoming.user
    bound = await binding(user.platform, user.user_id)
    if bound is None:
        return await refuse_unknown(user, asked(incoming.command, incoming.text) or "contacts")
    found = find(incoming.command, incoming.text)
    if found is None:
        name = asked(incoming.command, incoming.text)
        return [Reply(f"I do not know the command `{name}`. Send `help` for the list.")]
    cmd, rest = found
    ctx = Context(user, bound, incoming.chat_id, incoming.replied_contact, incoming.file)
    if not ctx.allows(cmd.role):
        return await refuse(ctx, cmd.name, f"this needs the {cmd.role} role")
    return await run(ctx, cmd.name, lambda: cmd.func(ctx, rest), cmd.usage)


async def may_run(user: ChatUser, command_name: str) -> bool:
    """Whether a chat user is bound with the role a command needs (an adapter asks before
    costly work such as a download; dispatch checks again and answers a refusal)."""
    found = find(command_name, "")
    bound = await binding(user.platform, user.user_id)
    if found is None or bound is None:
        return False
    return access.allows(bound.role, found[0].role)


async def run(
    ctx: Context, what: str, work: Callable[[], Awaitable[Result]], usage: str = ""
) -> list[Reply]:
    """Run a command or a button's work, turning user mistakes and domain errors into replies.

    This is the bots' one top-level error handler: an unexpected error is logged and answered
    with a short apology; nothing is half-done by it (store functions are transactions).
    """
    try:
        result = await work()
    except Usage as exc:
        return [Reply(f"{sentence(exc)}\nUsage: `{usage}`" if usage else sentence(exc))]
    except Ambiguous as exc:
        return [ambiguous_reply(ctx, exc)]
    except Forbidden as exc:
        return await refuse(ctx, what, str(exc))
    except DomainError as exc:
        return [Reply(sentence(exc))]
    except Forged as exc:
        return await refuse(ctx, what, str(exc))
    except Exception:  # the one top-level handler of the bot surface
        log.exception("bot_command_failed", command=what, user=ctx.actor.name)
        return [Reply("Something went wrong on our side; it has been logged. Try again later.")]
    return result if isinstance(result, list) else [result]


def sentence(exc: Exception) -> str:
    """An error message as a sentence: capital first letter, final stop."""
    text = str(exc).strip() or type(exc).__name__
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!", ")")) else text + "."


def ambiguous_reply(ctx: Context, exc: Ambiguous) -> Reply:
    """Several contacts match: list them with a show button each and ask for one."""
    lines = [f"Several contacts match {exc.phrase!r}; name one by its #id:"]
    lines += [render.contact_line(c) for c in exc.contacts]
    if exc.more:
        lines.append(f"… and more; narrow it down (`search {exc.phrase}` lists them all).")
    shown = tuple(ctx.button(f"Show #{c.id}", f"show:{c.id}") for c in exc.contacts)
    return Reply("\n".join(lines), shown)


async def refuse(ctx: Context, what: str, reason: str) -> list[Reply]:
    """Refuse politely and audit it; nothing changes."""
    detail = {"reason": reason, "role": ctx.binding.role, "name": ctx.user.name}
    await access.refused(ctx.actor, what, detail)
    return [Reply(f"Sorry, you cannot do that: {reason}.")]


async def refuse_unknown(user: ChatUser, what: str) -> list[Reply]:
    """Refuse a chat user bound to no workspace, and audit it."""
    stranger = Stranger(f"{user.platform}:{user.user_id}", user.platform)
    detail = {"reason": "unknown user", "name": user.name}
    await access.refused(stranger, what[:200], detail)
    return [
        Reply(
            "Sorry, I do not know you yet. Ask an owner of your workspace to bind your"
            f" {user.platform} user id `{user.user_id}` (contactgate admin add)."
        )
    ]


async def press(user: ChatUser, data: str, chat_id: str) -> list[Reply]:
    """A button: verify its signature and expiry, re-check the role, run its action."""
    from bots import commands  # noqa: F401  (registers every button action)
    from bots.pressing import handle

    bound = await binding(user.platform, user.user_id)
    if bound is None:
        return await refuse_unknown(user, "button")
    ctx = Context(user, bound, chat_id)
    return await handle(ctx, data)


def split_text(text: str, limit: int) -> list[str]:
    """Split on line boundaries into parts of at most `limit` characters (a longer line is cut)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current or not parts:
        parts.append(current)
    return [p for p in parts if p.strip()] or [""]
