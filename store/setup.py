"""Workspaces, channels, admin bindings and API tokens: creation, lookup, listing."""

from __future__ import annotations

import hashlib
import re
import secrets as pysecrets
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from store import audit
from store.db import client
from store.errors import Conflict, Invalid, NotFound
from store.inbound.capacity import CHANNEL_INFO_SQL, channel_info_from_row
from store.models import Channel, Workspace
from store.models_ops import AdminBinding, ApiToken
from store.periods import UnknownTimezone, zone
from store.types import ChannelInfo

ROLES = ("agent", "admin", "owner")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    """A workspace as the surfaces show it."""

    id: int
    slug: str
    name: str
    plan_cap: int
    timezone: str
    default_region: str
    reset_mode: str
    reset_tag: str


def _workspace_info(w: Workspace) -> WorkspaceInfo:
    return WorkspaceInfo(
        w.id, w.slug, w.name, w.plan_cap, w.timezone, w.default_region, w.reset_mode, w.reset_tag
    )


def _check_workspace_fields(slug: str, cap: int, timezone: str, region: str) -> None:
    if not SLUG.match(slug):
        raise Invalid(f"workspace slug {slug!r} must be 1-64 of a-z 0-9 _ - (lower case)")
    if cap < 0:
        raise Invalid("plan cap must be 0 or more")
    try:
        zone(timezone)
    except UnknownTimezone as exc:
        raise Invalid(str(exc)) from exc
    if not re.fullmatch(r"[A-Z]{2}", region):
        raise Invalid(f"default region {region!r} must be a two-letter country code like EC")


async def upsert_workspace(
    slug: str,
    *,
    name: str | None = None,
    plan_cap: int = 1000,
    timezone: str = "UTC",
    default_region: str = "US",
    actor: str = "system",
    surface: str = "cli",
) -> WorkspaceInfo:
    """Create the workspace, or update its name, cap, timezone and region."""
    region = default_region.upper()
    _check_workspace_fields(slug, plan_cap, timezone, region)
    values = {
        "name": name or slug,
        "plan_cap": plan_cap,
        "timezone": timezone,
        "default_region": region,
    }
    ws, created = await Workspace.get_or_create(slug=slug, defaults=values)
    if not created:
        await Workspace.filter(id=ws.id).update(**values)
        ws = await Workspace.get(id=ws.id)
    await audit.record(
        ws.id, actor, surface, "workspace.create" if created else "workspace.update", slug, values
    )
    return _workspace_info(ws)


async def get_workspace(slug: str) -> WorkspaceInfo:
    """The workspace with this slug."""
    ws = await Workspace.get_or_none(slug=slug)
    if ws is None:
        raise NotFound(f"no workspace {slug!r}")
    return _workspace_info(ws)


async def list_workspaces() -> list[WorkspaceInfo]:
    """Every workspace, by slug."""
    return [_workspace_info(w) for w in await Workspace.all().order_by("slug")]


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
    if kind not in known_kinds:
        raise Invalid(f"unknown channel kind {kind!r}; known: {', '.join(sorted(known_kinds))}")
    missing = [s for s in known_kinds[kind] if not secrets.get(s)]
    if missing:
        raise Invalid(f"channel kind {kind} needs secrets: {', '.join(missing)}")
    key = key or pysecrets.token_urlsafe(18)
    if not KEY.match(key):
        raise Invalid("channel key must be 8-64 of A-Z a-z 0-9 _ -")
    ws = await Workspace.get_or_none(slug=workspace)
    if ws is None:
        raise NotFound(f"no workspace {workspace!r}")
    existing = await Channel.get_or_none(key=key)
    if existing and existing.workspace_id != ws.id:  # type: ignore[attr-defined]
        raise Conflict(f"channel key {key!r} belongs to another workspace")
    values: dict[str, Any] = {"kind": kind, "secrets": secrets, "name": name, "active": True}
    if existing:
        await Channel.filter(id=existing.id).update(**values)
    else:
        existing = await Channel.create(workspace=ws, key=key, **values)
    await audit.record(ws.id, actor, surface, "channel.upsert", key, {"kind": kind})
    info = await channel_by_key(key)
    assert info is not None
    return info


async def channel_by_key(key: str) -> ChannelInfo | None:
    """The channel whose webhook path is `key`, with its workspace settings."""
    _, rows = await client().execute_query(f"{CHANNEL_INFO_SQL} WHERE c.key = {_mark()}", [key])
    return channel_info_from_row(tuple(rows[0])) if rows else None


async def list_channels(workspace: str) -> list[ChannelInfo]:
    """The channels of a workspace."""
    _, rows = await client().execute_query(
        f"{CHANNEL_INFO_SQL} WHERE w.slug = {_mark()} ORDER BY c.id", [workspace]
    )
    return [channel_info_from_row(tuple(r)) for r in rows]


def _mark() -> str:
    return "$1" if client().capabilities.dialect == "postgres" else "?"


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")


async def bind_admin(
    workspace: str,
    platform: str,
    platform_user: str,
    role: str,
    *,
    name: str = "",
    actor: str = "system",
    surface: str = "cli",
) -> None:
    """Bind a chat user (Slack `TEAM:USER`, Telegram user id) to a workspace with a role."""
    _check_role(role)
    if platform not in ("slack", "telegram"):
        raise Invalid("platform must be slack or telegram")
    ws = await Workspace.get_or_none(slug=workspace)
    if ws is None:
        raise NotFound(f"no workspace {workspace!r}")
    await AdminBinding.update_or_create(
        platform=platform,
        platform_user=platform_user,
        defaults={"workspace": ws, "role": role, "name": name},
    )
    await audit.record(
        ws.id, actor, surface, "admin.bind", f"{platform}:{platform_user}", {"role": role}
    )


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    workspace: str,
    name: str,
    role: str,
    *,
    token: str | None = None,
    actor: str = "system",
    surface: str = "cli",
) -> str:
    """Create an API token and return it in clear (the only time it is seen)."""
    _check_role(role)
    ws = await Workspace.get_or_none(slug=workspace)
    if ws is None:
        raise NotFound(f"no workspace {workspace!r}")
    token = token or f"cg_{pysecrets.token_urlsafe(32)}"
    try:
        await ApiToken.create(workspace=ws, name=name, role=role, token_hash=hash_token(token))
    except IntegrityError as exc:
        raise Conflict("that token already exists") from exc
    await audit.record(ws.id, actor, surface, "token.create", name, {"role": role})
    return token


async def ensure_token(workspace: str, name: str, role: str, token: str) -> None:
    """Make a declared token exist with this role (idempotent, for the config file)."""
    _check_role(role)
    ws = await Workspace.get_or_none(slug=workspace)
    if ws is None:
        raise NotFound(f"no workspace {workspace!r}")
    await ApiToken.update_or_create(
        token_hash=hash_token(token), defaults={"workspace": ws, "name": name, "role": role}
    )
