"""Workspaces and the chat users bound to them (admin bindings): creation, lookup, listing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from store.access import Actor, audit, require
from store.channels import workspace_id
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Invalid, NotFound
from store.inbound import consent
from store.models import Workspace
from store.periods import UnknownTimezone, zone
from store.serial import dump_json, load_json
from store.tokens import check_role

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PLATFORMS = ("slack", "telegram")
LANGUAGES = ("es", "en")  # the bots' catalogs (bots/locale)
# the model's defaults for a new workspace
NEW_WORKSPACE_DEFAULTS = ("reset_mode", "reset_tag", "reset_local_time", "language")


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
    language: str


def _workspace_info(w: Workspace) -> WorkspaceInfo:
    return WorkspaceInfo(
        w.id, w.slug, w.name, w.plan_cap, w.timezone, w.default_region, w.reset_mode, w.reset_tag,
        w.language,
    )  # fmt: skip


def check_language(language: str) -> str:
    """A bot language as stored: `es` or `en` (case and a region such as `es-419` ignored)."""
    code = language.strip().lower().replace("_", "-").split("-", 1)[0]
    if code not in LANGUAGES:
        raise Invalid(f"language {language!r} must be one of {', '.join(LANGUAGES)}")
    return code


async def set_workspace_language(
    slug: str, language: str, *, actor: str = "system", surface: str = "cli"
) -> WorkspaceInfo:
    """Set the language the bots use with people whose own language is unknown."""
    code = check_language(language)
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "UPDATE workspace SET language = ? WHERE slug = ? RETURNING id", [code, slug]
        )
        if not rows:
            raise NotFound(f"no workspace {slug!r}")
        owner = Actor(int(rows[0][0]), actor, surface, "owner")
        await audit(tx, owner, "workspace.language", slug, {"language": code})
    return await get_workspace(slug)


async def set_consent_words(
    slug: str,
    opt_out: Sequence[str] | None,
    opt_in: Sequence[str] | None,
    *,
    actor: str = "system",
    surface: str = "cli",
) -> dict[str, list[str]]:
    """Set the workspace's own opt-out and/or opt-in words (None keeps a list as it is; an
    empty list goes back to the defaults of store.inbound.consent). The words in force."""
    async with raw_transaction() as tx:
        rows = await tx.fetch("SELECT id, consent_words FROM workspace WHERE slug = ?", [slug])
        if not rows:
            raise NotFound(f"no workspace {slug!r}")
        current = load_json(rows[0][1]) if rows[0][1] is not None else {}
        words = dict(current) if isinstance(current, dict) else {}
        for key, given in (("opt_out", opt_out), ("opt_in", opt_in)):
            if given is None:
                continue
            cleaned = consent.clean_words(given)
            if cleaned:
                words[key] = cleaned
            else:
                words.pop(key, None)
        clash = {consent.folded(w) for w in words.get("opt_out", [])} & {
            consent.folded(w) for w in words.get("opt_in", [])
        }
        if clash:
            raise Invalid(f"a word cannot both opt out and opt in: {', '.join(sorted(clash))}")
        await tx.execute(
            "UPDATE workspace SET consent_words = ? WHERE id = ?",
            [dump_json(words) if words else None, rows[0][0]],
        )
        owner = Actor(int(rows[0][0]), actor, surface, "owner")
        await audit(tx, owner, "workspace.consent_words", slug, words)
    consent.forget()
    return {
        "opt_out": words.get("opt_out", list(consent.OPT_OUT)),
        "opt_in": words.get("opt_in", list(consent.OPT_IN)),
    }


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
    async with raw_transaction() as tx:
        made = await _insert_workspace(tx, slug, values)
        ws_id = made if made is not None else await _update_workspace(tx, slug, values)
        action = "workspace.create" if made is not None else "workspace.update"
        await audit(tx, Actor(ws_id, actor, surface, "owner"), action, slug, values)
    return await get_workspace(slug)


async def _insert_workspace(tx: RawTx, slug: str, values: dict[str, Any]) -> int | None:
    """The new workspace's id; None when the slug exists (another process may have made it)."""
    defaults = {f: Workspace._meta.fields_map[f].default for f in NEW_WORKSPACE_DEFAULTS}
    row = {"slug": slug, **values, **defaults, "created_at": datetime.now(UTC)}
    made = await tx.fetch(
        f"INSERT INTO workspace ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        " ON CONFLICT (slug) DO NOTHING RETURNING id",
        list(row.values()),
    )
    return int(made[0][0]) if made else None


async def _update_workspace(tx: RawTx, slug: str, values: dict[str, Any]) -> int:
    rows = await tx.fetch(
        "UPDATE workspace SET name = ?, plan_cap = ?, timezone = ?, default_region = ?"
        " WHERE slug = ? RETURNING id",
        [*values.values(), slug],
    )
    return int(rows[0][0])


async def get_workspace(slug: str) -> WorkspaceInfo:
    """The workspace with this slug."""
    ws = await Workspace.get_or_none(slug=slug)
    if ws is None:
        raise NotFound(f"no workspace {slug!r}")
    return _workspace_info(ws)


async def list_workspaces() -> list[WorkspaceInfo]:
    """Every workspace, by slug."""
    return [_workspace_info(w) for w in await Workspace.all().order_by("slug")]


@dataclass(frozen=True, slots=True)
class AdminInfo:
    """A chat user bound to a workspace, as `admin list` shows it."""

    platform: str
    user: str  # Slack TEAM:USER, Telegram user id
    role: str
    name: str


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
    check_role(role)
    _check_platform(platform)
    async with raw_transaction() as tx:
        ws = await workspace_id(tx, workspace)
        await tx.execute(
            "INSERT INTO admin_binding (workspace_id, platform, platform_user, role, name,"
            " created_at) VALUES (?,?,?,?,?,?) ON CONFLICT (platform, platform_user) DO UPDATE"
            " SET workspace_id = excluded.workspace_id, role = excluded.role, name = excluded.name",
            [ws, platform, platform_user, role, name, datetime.now(UTC)],
        )
        target = f"{platform}:{platform_user}"
        await audit(tx, Actor(ws, actor, surface, "owner"), "admin.bind", target, {"role": role})


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise Invalid("platform must be slack or telegram")


async def list_admins(workspace: str) -> list[AdminInfo]:
    """The chat users bound to a workspace, by platform and user."""
    tx = ClientTx()
    ws = await workspace_id(tx, workspace)
    rows = await tx.fetch(
        "SELECT platform, platform_user, role, name FROM admin_binding WHERE workspace_id = ?"
        " ORDER BY platform, platform_user",
        [ws],
    )
    return [AdminInfo(str(p), str(u), str(r), str(n or "")) for p, u, r, n in rows]


async def remove_admin(actor: Actor, platform: str, platform_user: str) -> None:
    """Unbind a chat user from the actor's workspace (owners); NotFound when not bound."""
    require(actor, "owner")
    _check_platform(platform)
    async with raw_transaction() as tx:
        rows = await tx.fetch(
            "SELECT id FROM admin_binding WHERE workspace_id = ? AND platform = ?"
            " AND platform_user = ?",
            [actor.workspace_id, platform, platform_user],
        )
        if not rows:
            raise NotFound(f"{platform} user {platform_user} is not bound to this workspace")
        await tx.execute("DELETE FROM admin_binding WHERE id = ?", [rows[0][0]])
        await audit(tx, actor, "admin.remove", f"{platform}:{platform_user}")
