"""Chat users and chats of the admin bots: who a Slack or Telegram user is, where notices go."""

from __future__ import annotations

from dataclasses import dataclass

from store.access import Actor, audit, require
from store.contacts import load
from store.db import ClientTx, raw_transaction
from store.errors import Invalid, NotFound
from store.setup import check_language

PLATFORMS = ("slack", "telegram")


@dataclass(frozen=True, slots=True)
class Binding:
    """A chat user's workspace and role, with the workspace facts the commands need."""

    workspace_id: int
    workspace: str  # slug
    region: str
    reset_tag: str
    role: str
    name: str
    timezone: str = "UTC"  # the workspace's: every time shown to the person is in it
    language: str = "es"  # the workspace's, for people whose own is unknown
    pinned: str | None = None  # the person's own choice (`/idioma en`), above all else


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """A chat where a workspace's notifications are delivered."""

    id: int
    workspace_id: int
    platform: str
    chat_id: str


async def binding(platform: str, platform_user: str) -> Binding | None:
    """The binding of a chat user (Slack `TEAM:USER`, Telegram user id); None when unknown."""
    rows = await ClientTx().fetch(
        "SELECT w.id, w.slug, w.default_region, w.reset_tag, b.role, b.name, w.timezone,"
        " w.language, b.language FROM admin_binding b JOIN workspace w ON w.id = b.workspace_id"
        " WHERE b.platform = ? AND b.platform_user = ?",
        [platform, platform_user],
    )
    if not rows:
        return None
    ws, slug, region, tag, role, name, tz, language, pinned = rows[0]
    return Binding(
        int(ws), str(slug), str(region), str(tag), str(role), str(name or ""), str(tz),
        str(language), str(pinned) if pinned else None,
    )  # fmt: skip


async def pin_language(
    actor: Actor, platform: str, platform_user: str, language: str | None
) -> None:
    """Pin a chat user's own bot language (`es`, `en`), or None to follow the detected one."""
    require(actor, "agent")
    code = check_language(language) if language is not None else None
    async with raw_transaction() as tx:
        await tx.execute(
            "UPDATE admin_binding SET language = ? WHERE workspace_id = ? AND platform = ?"
            " AND platform_user = ?",
            [code, actor.workspace_id, platform, platform_user],
        )
        await audit(
            tx, actor, "admin_binding.language", f"{platform}:{platform_user}", {"language": code}
        )


def _check(platform: str, chat_id: str) -> None:
    if platform not in PLATFORMS:
        raise Invalid("platform must be slack or telegram")
    if not chat_id or len(chat_id) > 128 or "\x00" in chat_id:
        raise Invalid("a chat id is 1-128 characters")


async def add_chat(actor: Actor, platform: str, chat_id: str) -> bool:
    """Deliver the workspace's notifications to this chat (admins); False when it already was."""
    require(actor, "admin")
    _check(platform, chat_id)
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "INSERT INTO admin_chat (workspace_id, platform, chat_id) VALUES (?,?,?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            [actor.workspace_id, platform, chat_id],
        )
        if rows:
            await audit(tx, actor, "admin_chat.add", f"{platform}:{chat_id}")
    return bool(rows)


async def remove_chat(actor: Actor, platform: str, chat_id: str) -> bool:
    """Stop delivering notifications to this chat (admins); False when it was not listed."""
    require(actor, "admin")
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "SELECT id FROM admin_chat WHERE workspace_id = ? AND platform = ? AND chat_id = ?",
            [actor.workspace_id, platform, chat_id],
        )
        if not rows:
            return False
        await tx.execute("DELETE FROM event_delivery WHERE chat_id = ?", [rows[0][0]])
        await tx.execute("DELETE FROM admin_chat WHERE id = ?", [rows[0][0]])
        await audit(tx, actor, "admin_chat.remove", f"{platform}:{chat_id}")
    return True


async def add_chat_for(
    workspace: str, platform: str, chat_id: str, *, actor: str = "system", surface: str = "cli"
) -> bool:
    """`add_chat` by workspace slug, for the CLI and the config file."""
    _check(platform, chat_id)
    rows = await ClientTx().fetch("SELECT id FROM workspace WHERE slug = ?", [workspace])
    if not rows:
        raise NotFound(f"no workspace {workspace!r}")
    return await add_chat(Actor(int(rows[0][0]), actor, surface, "owner"), platform, chat_id)


async def list_chats(workspace_id: int) -> list[ChatInfo]:
    """The workspace's admin chats."""
    rows = await ClientTx().fetch(
        "SELECT id, workspace_id, platform, chat_id FROM admin_chat WHERE workspace_id = ?"
        " ORDER BY id",
        [workspace_id],
    )
    return [ChatInfo(int(i), int(w), str(p), str(c)) for i, w, p, c in rows]


async def contact_of_identity(actor: Actor, kind: str, external_id: str) -> int | None:
    """The live contact of a person on a channel kind (a forwarded Telegram sender, say)."""
    require(actor, "agent")
    tx = ClientTx()
    rows = await tx.fetch(
        "SELECT i.contact_id FROM identity i JOIN channel ch ON ch.id = i.channel_id"
        " WHERE i.workspace_id = ? AND ch.kind = ? AND i.external_id = ? ORDER BY i.id LIMIT 1",
        [actor.workspace_id, kind, external_id],
    )
    if not rows:
        return None
    try:
        return (await load(tx, actor.workspace_id, int(rows[0][0]))).id
    except NotFound:
        return None
