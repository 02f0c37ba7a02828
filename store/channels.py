"""Channels: the lookup by webhook key, and adding, listing, disabling, rotating and removing."""

from __future__ import annotations

import re
import secrets as pysecrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.access import Actor, audit, require
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Conflict, Invalid, NotFound
from store.serial import dump_json, load_json
from store.types import ChannelInfo

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

CHANNEL_INFO_SQL = (
    "SELECT c.id, c.key, c.kind, c.workspace_id, w.slug, w.timezone, w.default_region,"
    " c.secrets, c.active FROM channel c JOIN workspace w ON w.id = c.workspace_id"
)


@dataclass(frozen=True, slots=True)
class ChannelSaved:
    """A channel after `channel add`: its info, and whether it was made or updated."""

    channel: ChannelInfo
    created: bool


@dataclass(frozen=True, slots=True)
class ChannelRemoved:
    """What `remove_channel` deleted with the channel (with `force`)."""

    key: str
    identities: int
    messages: int


async def channel_info(tx: RawTx, channel_id: int) -> ChannelInfo:
    """The ChannelInfo of a channel, read inside a transaction."""
    rows = await tx.fetch(f"{CHANNEL_INFO_SQL} WHERE c.id = ?", [channel_id])
    return channel_info_from_row(rows[0])


def channel_info_from_row(row: Sequence[Any]) -> ChannelInfo:
    """Build a ChannelInfo from a CHANNEL_INFO_SQL row."""
    cid, key, kind, ws_id, slug, tz, region, secrets, active = row
    return ChannelInfo(
        int(cid),
        str(key),
        str(kind),
        int(ws_id),
        str(slug),
        str(tz),
        str(region),
        dict(load_json(secrets) or {}),
        bool(active),
    )


async def channel_by_key(key: str) -> ChannelInfo | None:
    """The channel whose webhook path is `key`, with its workspace settings."""
    rows = await ClientTx().fetch(f"{CHANNEL_INFO_SQL} WHERE c.key = ?", [key])
    return channel_info_from_row(rows[0]) if rows else None


async def list_channels(workspace: str) -> list[ChannelInfo]:
    """The channels of a workspace (NotFound for an unknown workspace)."""
    tx = ClientTx()
    await workspace_id(tx, workspace)
    rows = await tx.fetch(f"{CHANNEL_INFO_SQL} WHERE w.slug = ? ORDER BY c.id", [workspace])
    return [channel_info_from_row(r) for r in rows]


async def workspace_id(tx: RawTx, slug: str) -> int:
    """The id of the workspace `slug` (NotFound when there is none)."""
    rows = await tx.fetch("SELECT id FROM workspace WHERE slug = ?", [slug])
    if not rows:
        raise NotFound(f"no workspace {slug!r}")
    return int(rows[0][0])


def _check_channel(
    kind: str, key: str, secrets: dict[str, str], known_kinds: dict[str, tuple[str, ...]]
) -> None:
    if kind not in known_kinds:
        raise Invalid(f"unknown channel kind {kind!r}; known: {', '.join(sorted(known_kinds))}")
    missing = [s for s in known_kinds[kind] if not secrets.get(s)]
    if missing:
        raise Invalid(f"channel kind {kind} needs secrets: {', '.join(missing)}")
    if not KEY.match(key):
        raise Invalid("channel key must be 8-64 of A-Z a-z 0-9 _ -")


async def upsert_channel(
    workspace: str,
    kind: str,
    key: str | None,
    secrets: dict[str, str],
    *,
    name: str = "",
    known_kinds: dict[str, tuple[str, ...]],
    actor: str = "system",
    surface: str = "cli",
) -> ChannelInfo:
    """Create or update a channel; `known_kinds` maps kind -> required secret names."""
    saved = await save_channel(
        workspace, kind, key, secrets, name=name, known_kinds=known_kinds, by=(actor, surface)
    )
    return saved.channel


async def save_channel(
    workspace: str,
    kind: str,
    key: str | None,
    secrets: dict[str, str],
    *,
    name: str = "",
    known_kinds: dict[str, tuple[str, ...]],
    by: tuple[str, str] = ("system", "cli"),
) -> ChannelSaved:
    """Create the channel `key`, or update the one with that key: secrets not given keep their
    value, a disabled channel stays disabled, its kind cannot change."""
    key = key or pysecrets.token_urlsafe(18)
    async with raw_transaction() as tx:
        ws = await workspace_id(tx, workspace)
        old = await _same_channel(tx, ws, kind, key)
        merged = {**(old[1] if old else {}), **secrets}
        _check_channel(kind, key, merged, known_kinds)
        made = None if old else await _insert_channel(tx, ws, kind, key, name, merged)
        channel_id = made
        if channel_id is None:  # it existed, or another process made it a moment ago
            channel_id, kept = old or await _existing_channel(tx, ws, kind, key)
            await tx.execute(
                "UPDATE channel SET secrets = ?, name = ? WHERE id = ?",
                [dump_json({**kept, **secrets}), name, channel_id],
            )
        action = "channel.update" if made is None else "channel.create"
        await audit(tx, Actor(ws, by[0], by[1], "owner"), action, key, {"kind": kind})
        return ChannelSaved(await channel_info(tx, channel_id), made is not None)


async def _existing_channel(tx: RawTx, ws: int, kind: str, key: str) -> tuple[int, dict[str, str]]:
    found = await _same_channel(tx, ws, kind, key)
    assert found is not None  # an INSERT just met it
    return found


async def _same_channel(
    tx: RawTx, ws: int, kind: str, key: str
) -> tuple[int, dict[str, str]] | None:
    """The id and secrets of channel `key`, refused (Conflict) when it is another workspace's
    or of another kind; None when there is none."""
    rows = await tx.fetch(
        f"SELECT id, workspace_id, kind, secrets FROM channel WHERE key = ?{tx.for_update}", [key]
    )
    if not rows:
        return None
    if int(rows[0][1]) != ws:
        raise Conflict(f"channel key {key!r} belongs to another workspace")
    if rows[0][2] != kind:
        raise Conflict(f"channel {key} is a {rows[0][2]} channel; remove it to reuse its key")
    return int(rows[0][0]), dict(load_json(rows[0][3]) or {})


async def _insert_channel(
    tx: RawTx, ws: int, kind: str, key: str, name: str, secrets: dict[str, str]
) -> int | None:
    made = await tx.fetch(
        "INSERT INTO channel (workspace_id, kind, key, name, secrets, settings, active,"
        " created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING RETURNING id",
        [ws, kind, key, name, dump_json(secrets), "{}", True, datetime.now(UTC)],
    )
    return int(made[0][0]) if made else None


async def _own_channel(tx: RawTx, actor: Actor, key: str) -> ChannelInfo:
    rows = await tx.fetch(
        f"{CHANNEL_INFO_SQL} WHERE c.key = ? AND c.workspace_id = ?", [key, actor.workspace_id]
    )
    if not rows:
        raise NotFound(f"no channel {key!r} in this workspace")
    return channel_info_from_row(rows[0])


async def set_active(actor: Actor, key: str, active: bool) -> bool:
    """Enable or disable a channel (owners); False when it already was. A disabled channel's
    webhooks are refused (410) and nothing is stored; its contacts and history stay."""
    require(actor, "owner")
    async with raw_transaction() as tx:
        channel = await _own_channel(tx, actor, key)
        if channel.active == active:
            return False
        await tx.execute("UPDATE channel SET active = ? WHERE id = ?", [active, channel.id])
        await audit(tx, actor, "channel.enable" if active else "channel.disable", key)
    return True


async def rotate_secret(actor: Actor, key: str, name: str, value: str | None = None) -> str:
    """Give the channel's secret `name` a new value (random unless given) and return it."""
    require(actor, "owner")
    async with raw_transaction() as tx:
        channel = await _own_channel(tx, actor, key)
        if name not in channel.secrets:
            known = ", ".join(sorted(channel.secrets)) or "none"
            raise Invalid(f"channel {key} has no secret {name!r}; its secrets: {known}")
        value = value or pysecrets.token_urlsafe(24)
        secrets = {**channel.secrets, name: value}
        await tx.execute(
            "UPDATE channel SET secrets = ? WHERE id = ?", [dump_json(secrets), channel.id]
        )
        await audit(tx, actor, "channel.rotate_secret", key, {"secret": name})
    return value


async def remove_channel(actor: Actor, key: str, *, force: bool = False) -> ChannelRemoved:
    """Delete a channel (owners). A channel with contacts' identities or messages is refused
    (Conflict, with the counts) unless `force`, which deletes those too (contacts stay)."""
    require(actor, "owner")
    async with raw_transaction() as tx:
        channel = await _own_channel(tx, actor, key)
        identities = await _count(tx, "identity", channel.id)
        messages = await _count(tx, "message", channel.id)
        if (identities or messages) and not force:
            raise Conflict(
                f"channel {key} has {identities} identities and {messages} messages of"
                " contacts; disable it instead, or remove it with --force to delete them"
            )
        for table in ("message", "held_message", "message_part", "identity"):
            await tx.execute(f"DELETE FROM {table} WHERE channel_id = ?", [channel.id])
        await tx.execute("DELETE FROM period_channel_usage WHERE channel_id = ?", [channel.id])
        await tx.execute(
            "UPDATE contact SET last_channel_id = NULL WHERE last_channel_id = ?", [channel.id]
        )
        await tx.execute("DELETE FROM channel WHERE id = ?", [channel.id])
        detail = {"kind": channel.kind, "identities": identities, "messages": messages}
        await audit(tx, actor, "channel.remove", key, detail)
    return ChannelRemoved(key, identities, messages)


async def _count(tx: RawTx, table: str, channel_id: int) -> int:
    rows = await tx.fetch(f"SELECT count(*) FROM {table} WHERE channel_id = ?", [channel_id])
    return int(rows[0][0])
