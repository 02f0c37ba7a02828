"""The command registry: each command's names (English, Spanish, aliases), role, usage, brief.

Commands register with `@command` (bots/commands/); adapters and help read the registry to list
them per role and language, and `find` turns what someone typed into a command and its text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bots.i18n import N_
from store import access

CommandFunc = Callable[[Any, str], Awaitable[Any]]  # (core.Context, args) -> Reply(s)
C = TypeVar("C", bound=CommandFunc)


@dataclass(slots=True)
class Names:
    """How commands are typed where it is configurable: the Slack app's slash command."""

    slack_command: str = "/contacts"


NAMES = Names()  # the Slack adapter sets the configured command at start


GROUPS = {  # help sections, in this order: what people do
    "find": N_("Find"),
    "tag": N_("Tag and notes"),
    "merge": N_("Merge and delete"),
    "files": N_("Files"),
    "plan": N_("Plan, reset and notifications"),
    "general": N_("You and this bot"),
}
ROLE_NAMES = {"agent": N_("agent"), "admin": N_("admin"), "owner": N_("owner")}


@dataclass(frozen=True, slots=True)
class Command:
    """A registered command: its function, minimum role, names, usage and one-line brief.

    `usage` is what follows the command's name (`<contact> <tag>`) and `brief` its one line of
    help, both English msgids of the catalogs; `es` is its Spanish name (`buscar`, for a
    subcommand the whole phrase `reinicio estado`).
    """

    name: str
    func: CommandFunc
    role: str
    usage: str
    brief: str
    es: str
    group: str
    aliases: tuple[str, ...] = ()

    def local_name(self, code: str) -> str:
        """The command's name in a language."""
        return self.es if code == "es" else self.name

    def typed(self, code: str, platform: str) -> str:
        """What to type: `/tag_all` (Telegram: no hyphens), `/contacts tag-all` (Slack)."""
        name = self.local_name(code)
        if platform == "telegram":
            return "/" + name.replace("-", "_")
        return f"{NAMES.slack_command} {name}" if platform == "slack" else name


COMMANDS: dict[str, Command] = {}  # name (and alias) -> command; "view save" is two words


def command(
    name: str,
    *,
    role: str,
    usage: str,
    brief: str,
    es: str,
    group: str,
    aliases: tuple[str, ...] = (),
) -> Callable[[C], C]:
    """Register a command under its English and Spanish names and aliases."""
    if role not in access.ROLES or group not in GROUPS:
        raise ValueError(f"unknown role {role!r} or group {group!r}")
    if len(name.split()) != len(es.split()):
        raise ValueError(f"{name!r} and {es!r}: a subcommand's Spanish name is a phrase too")

    def register(func: C) -> C:
        found = Command(name, func, role, usage, brief, es, group, aliases)
        parent = name.split()[:-1]  # "reset estado" is found as "reset" + "estado"
        spanish = " ".join([*parent, es.split()[-1]])
        for key in dict.fromkeys((name, spanish, *aliases)):
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
