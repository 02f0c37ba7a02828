"""The admin bots' platform-neutral core: replies, the command registry, dispatch and buttons.

Adapters (bots/telegram.py, bots/slack.py) turn a platform request into an `Incoming` or a
button press, call `dispatch` / `press`, and render the `Reply` list. Commands live in
bots/commands/ and register here with `@command`; they declare their minimum role, which is
enforced once, here, before they run. Every refusal is audited as `bot.refused`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Protocol

import structlog

from bots import buttons, render
from bots.buttons import SHORT_TTL, Forged, sign_action
from bots.i18n import Lang, code_of, lang
from bots.registry import COMMANDS, ROLE_NAMES, Command, asked, command, find, listed, normalise
from store import access, bot_actions
from store.access import Actor, Stranger
from store.chat_admin import Binding, binding
from store.errors import DomainError, Forbidden
from store.refs import Ambiguous
from store.reset import ResetConfig, Run

log = structlog.get_logger("contactgate.bots")
PLAIN = Lang()  # the default language, UTC: for a Context built without a person (hints)
MAX_INLINE_LINES = 100  # longer lists: a "next" button, and above the platform limit a file
__all__ = [
    "COMMANDS", "MAX_INLINE_LINES", "Command", "command", "find", "listed", "normalise",
    "sign_action",
]  # fmt: skip


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
    # The person's language and role: adapters word their own parts (Slack's card buttons) in
    # it, and offer only the card buttons the role may use.
    lang: Lang = field(default=PLAIN, compare=False)
    role: str = field(default="agent", compare=False)


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
    language: str | None = None  # the platform's idea of the person's language (`es-419`)


class Usage(Exception):
    """The arguments cannot be read; the message says why (the usage line is added)."""


class ResetStarter(Protocol):
    """What the core needs of the gateway's reset runner (gateway.resets.ResetRunner)."""

    config: ResetConfig

    def running(self, workspace_id: int) -> bool: ...

    def start(self, run: Run) -> Awaitable[None]: ...


Send = Callable[[str, Reply], Awaitable[None]]
Result = Reply | list[Reply]


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of a message sent to a contact (bots.wiring wraps the gateway's outbound
    path): its id and channel kind, or the send error's code (`window_closed`…), the window's
    hours when one closed, and the seconds to wait when the provider said."""

    message_id: int | None
    kind: str
    error: str | None = None
    window_hours: float | None = None
    retry_after: int | None = None


class Outbound(Protocol):
    """Send a text to a contact through the same path as POST /contacts/{ref}/messages."""

    def __call__(self, actor: Actor, contact_id: int, text: str) -> Awaitable[Sent]: ...


@dataclass(slots=True)
class Runtime:
    """What the running gateway gives the bots: the reset runner, the adapters' senders and
    the outbound path to contacts."""

    resets: ResetStarter | None = None
    senders: dict[str, Send] = field(default_factory=dict)
    outbound: Outbound | None = None


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
    lang: Lang = PLAIN
    heard: str | None = None  # the platform's language for the person (`es-419`), if it said

    def _(self, message: str, **fields: object) -> str:
        """`message` in the person's language, `{fields}` filled in."""
        return self.lang._(message, **fields)

    def n_(self, singular: str, plural: str, n: int, **fields: object) -> str:
        """The plural form for `n` in the person's language; `{n}` is `n`, formatted."""
        return self.lang.n_(singular, plural, n, **fields)

    def typed(self, name: str) -> str:
        """What the person types for a command, in their language, on their platform:
        `/etiquetar_todos` on Telegram, `/contacts tag-all` on Slack."""
        return COMMANDS[name].typed(self.lang.code, self.user.platform)

    def usage(self, cmd: Command) -> str:
        """`/buscar <palabras, teléfono o email>`: the command as typed, then its arguments."""
        typed = cmd.typed(self.lang.code, self.user.platform)
        return f"{typed} {self._(cmd.usage)}" if cmd.usage else typed

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


async def dispatch(incoming: Incoming) -> list[Reply]:
    """Run a command for a chat user: binding, role, arguments, domain errors as replies,
    in the person's language."""
    replies = await _dispatch(incoming)
    said = replies[0].lang if replies else PLAIN
    return [replace(r, lang=said) for r in replies]


async def _dispatch(incoming: Incoming) -> list[Reply]:
    from bots import commands  # noqa: F401  (registers every command)

    user = incoming.user
    bound = await binding(user.platform, user.user_id)
    if bound is None:
        what = asked(incoming.command, incoming.text) or "contacts"
        said = lang(code_of(incoming.language))
        return [replace(r, lang=said) for r in await refuse_unknown(user, what, said)]
    found = find(incoming.command, incoming.text)
    ctx = Context(
        user, bound, incoming.chat_id, incoming.replied_contact, incoming.file,
        language_of(bound, incoming.language), incoming.language,
    )  # fmt: skip
    if found is None:
        name = asked(incoming.command, incoming.text)
        text = ctx._("I do not know the command `{name}`. Send `{help}` for the list.",
                     name=name, help=ctx.typed("help"))  # fmt: skip
        return [Reply(text, lang=ctx.lang)]
    cmd, rest = found
    if not ctx.allows(cmd.role):
        return _said(ctx, await refuse(ctx, cmd.name, needs_role(ctx, cmd.role)))
    return _said(ctx, await run(ctx, cmd.name, lambda: cmd.func(ctx, rest), ctx.usage(cmd)))


def _said(ctx: Context, replies: list[Reply]) -> list[Reply]:
    """The replies marked with the person's language and role."""
    return [replace(r, lang=ctx.lang, role=ctx.binding.role) for r in replies]


def language_of(bound: Binding, platform_language: str | None) -> Lang:
    """The person's language: pinned (`/idioma`), else the platform's, else the workspace's;
    times in the workspace's timezone."""
    code = bound.pinned or code_of(platform_language) or bound.language
    return lang(code, bound.timezone)


async def language_for(user: ChatUser, platform_language: str | None) -> Lang:
    """A chat user's language where an adapter answers by itself (a file that is no CSV)."""
    bound = await binding(user.platform, user.user_id)
    if bound is None:
        return lang(code_of(platform_language))
    return language_of(bound, platform_language)


def needs_role(ctx: Context, role: str) -> str:
    """A refusal's reason: the role a command needs."""
    return ctx._("this needs the {role} role", role=ctx._(ROLE_NAMES[role]))


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
    except Usage as exc:  # its message is in the person's language, or a msgid (N_)
        said = sentence(ctx._(str(exc)))
        return [Reply(ctx._("{said}\nUsage: `{usage}`", said=said, usage=usage) if usage else said)]
    except Ambiguous as exc:
        return [ambiguous_reply(ctx, exc)]
    except Forbidden:
        return await refuse(ctx, what, ctx._("your role does not allow it"))
    except DomainError as exc:
        return [Reply(sentence(exc))]
    except Forged as exc:  # its message is a msgid (bots.buttons)
        return await refuse(ctx, what, ctx._(str(exc)))
    except Exception:  # the one top-level handler of the bot surface
        log.exception("bot_command_failed", command=what, user=ctx.actor.name)
        text = ctx._("Something went wrong on our side; it has been logged. Try again later.")
        return [Reply(text)]
    return result if isinstance(result, list) else [result]


def sentence(exc: Exception | str) -> str:
    """An error message as a sentence: capital first letter, final stop."""
    text = str(exc).strip() or type(exc).__name__
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!", ")")) else text + "."


def ambiguous_reply(ctx: Context, exc: Ambiguous) -> Reply:
    """Several contacts match: list them with a show button each and ask for one."""
    lines = [ctx._("Several contacts match {phrase!r}; name one by its #id:", phrase=exc.phrase)]
    lines += [render.contact_line(c) for c in exc.contacts]
    if exc.more:
        search = f"{ctx.typed('search')} {exc.phrase}"
        lines.append(
            ctx._("… and more; narrow it down (`{search}` lists them all).", search=search)
        )
    shown = tuple(
        ctx.button(ctx._("Show #{id}", id=str(c.id)), f"show:{c.id}") for c in exc.contacts
    )
    return Reply("\n".join(lines), shown)


async def refuse(ctx: Context, what: str, reason: str) -> list[Reply]:
    """Refuse politely and audit it; nothing changes."""
    detail = {"reason": reason, "role": ctx.binding.role, "name": ctx.user.name}
    await access.refused(ctx.actor, what, detail)
    return [Reply(ctx._("Sorry, you cannot do that: {reason}.", reason=reason))]


async def refuse_unknown(user: ChatUser, what: str, said: Lang) -> list[Reply]:
    """Refuse a chat user bound to no workspace, and audit it."""
    stranger = Stranger(f"{user.platform}:{user.user_id}", user.platform)
    detail = {"reason": "unknown user", "name": user.name}
    await access.refused(stranger, what[:200], detail)
    text = said._(
        "Sorry, I do not know you yet. Ask an owner of your workspace to bind your"
        " {platform} user id `{user}` (contactgate admin add).",
        platform=user.platform.capitalize(), user=user.user_id,
    )  # fmt: skip
    return [Reply(text)]


async def press(
    user: ChatUser, data: str, chat_id: str, language: str | None = None
) -> list[Reply]:
    """A button: verify its signature and expiry, re-check the role, run its action."""
    from bots import commands  # noqa: F401  (registers every button action)
    from bots.pressing import handle

    bound = await binding(user.platform, user.user_id)
    if bound is None:
        said = lang(code_of(language))
        return [replace(r, lang=said) for r in await refuse_unknown(user, "button", said)]
    ctx = Context(user, bound, chat_id, lang=language_of(bound, language))
    return _said(ctx, await handle(ctx, data))


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
