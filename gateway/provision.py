"""Apply the workspaces, channels, admins and tokens declared in the settings to the database."""

from __future__ import annotations

from gateway.channels import CHANNELS
from gateway.settings import Settings
from store import channels, setup, tokens


def known_kinds() -> dict[str, tuple[str, ...]]:
    """Channel kind -> the secret names it needs."""
    return {kind: module.SECRETS for kind, module in CHANNELS.items()}


def generated_secrets(kind: str) -> tuple[str, ...]:
    """The secrets of `kind` the gateway may make up itself (the rest come from the provider)."""
    return tuple(getattr(CHANNELS[kind], "GENERATED_SECRETS", ()))


DEFAULT_WORKSPACE = "default"


async def apply_declarations(settings: Settings) -> None:
    """Create or update everything the config file declares (idempotent).

    With nothing declared and an empty database, the embedded mode gets one `default` workspace.
    """
    if not settings.workspaces and not await setup.list_workspaces():
        await setup.upsert_workspace(
            DEFAULT_WORKSPACE, name="Default workspace", actor="system", surface="system"
        )
    for ws in settings.workspaces:
        await setup.upsert_workspace(
            ws.slug,
            name=ws.name,
            plan_cap=ws.plan_cap,
            timezone=ws.timezone,
            default_region=ws.default_region,
            actor="config",
            surface="config",
        )
    for ch in settings.channels:
        await channels.upsert_channel(
            ch.workspace,
            ch.kind,
            ch.key,
            ch.secrets,
            name=ch.name,
            known_kinds=known_kinds(),
            actor="config",
            surface="config",
        )
    for admin in settings.admins:
        await setup.bind_admin(
            admin.workspace,
            admin.platform,
            admin.user,
            admin.role,
            name=admin.name,
            actor="config",
            surface="config",
        )
    for token in settings.tokens:
        await tokens.ensure_token(token.workspace, token.name, token.role, token.token)
