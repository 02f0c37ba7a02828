"""`contactgate channel …`: add (prints the secrets once and a ready curl), list, disable,
enable, rotate-secret, remove."""

from __future__ import annotations

import secrets as pysecrets

import click

from gateway.cli_common import as_owner, run, settings_of, show_rows
from gateway.samples import sample_curl
from store.types import ChannelInfo


@click.group()
def channel() -> None:
    """Connect channels: add, list, disable, enable, rotate-secret, remove."""


class _ChannelAdd(click.Command):
    """`channel add`, whose help ends with the kinds and their secrets (from the registry)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from gateway.provision import generated_secrets, known_kinds

        rows = []
        for kind, names in sorted(known_kinds().items()):
            made = generated_secrets(kind)
            shown = [f"{n} (made up when omitted)" if n in made else n for n in names]
            rows.append((kind, ", ".join(shown)))
        with formatter.section("Kinds and their secrets"):
            formatter.write_dl(rows)


@channel.command("add", cls=_ChannelAdd)
@click.argument("workspace_slug")
@click.argument("kind")
@click.option("--key", default=None, help="Webhook path key (random when omitted).")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="NAME=VALUE",
    help="A channel secret, e.g. --secret app_secret=abc (repeat).",
)
@click.option("--name", default="")
@click.pass_context
def channel_add(
    ctx: click.Context,
    workspace_slug: str,
    kind: str,
    key: str | None,
    secrets: tuple[str, ...],
    name: str,
) -> None:
    """Add a channel, or update the one with this --key; prints its webhook URL, its secrets
    (once) and a curl that delivers a sample message."""
    from gateway.provision import generated_secrets, known_kinds
    from store.channels import channel_by_key, save_channel

    given = dict(_pair(s) for s in secrets)

    async def work() -> tuple[ChannelInfo, bool]:
        old = await channel_by_key(key) if key else None
        kept = old.secrets if old is not None and old.kind == kind else {}
        for made in generated_secrets(kind) if kind in known_kinds() else ():
            if not given.get(made) and not kept.get(made):
                given[made] = pysecrets.token_urlsafe(24)
        saved = await save_channel(
            workspace_slug, kind, key, given, name=name, known_kinds=known_kinds()
        )
        return saved.channel, saved.created

    info, created = run(ctx, work)
    url = f"{_base_url(ctx)}/webhooks/{info.key}"
    click.echo(f"channel {info.kind} {'added' if created else 'updated'}: POST {url}")
    for secret_name, value in sorted(info.secrets.items()):
        click.echo(f"  {secret_name}: {value}")
    curl = sample_curl(info.kind, info.secrets, url)
    if curl is None:
        click.echo(f"sample delivery: see docs/channels.md ({info.kind})")
    else:
        click.echo(f"try it (a sample {info.kind} delivery):\n{curl}")


def _base_url(ctx: click.Context) -> str:
    settings = settings_of(ctx)
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r} must be NAME=VALUE", param_hint="--secret")
    return name, value


@channel.command("list")
@click.argument("workspace_slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (secrets are left out).")
@click.pass_context
def channel_list(ctx: click.Context, workspace_slug: str, as_json: bool) -> None:
    """List a workspace's channels (secrets are not shown)."""
    from store.channels import list_channels

    show_rows(
        run(ctx, lambda: list_channels(workspace_slug)),
        as_json,
        empty=f"no channels in {workspace_slug}",
        line=lambda ch: f"{ch.key}\t{ch.kind}\t{'active' if ch.active else 'disabled'}",
        record=lambda ch: {"key": ch.key, "kind": ch.kind, "active": ch.active},
    )


def _set_active(active: bool) -> click.Command:
    word = "enabled" if active else "disabled"

    @click.argument("workspace_slug")
    @click.argument("key")
    @click.pass_context
    def command(ctx: click.Context, workspace_slug: str, key: str) -> None:
        from store.channels import set_active

        changed = run(ctx, lambda: as_owner(workspace_slug, set_active, key, active))
        click.echo(f"channel {key} {'is now' if changed else 'was already'} {word}")

    command.__doc__ = (
        "Enable KEY: its webhooks are stored again."
        if active
        else "Disable KEY: its webhooks are refused with 410 and nothing is stored; contacts"
        " and history stay (enable brings it back)."
    )
    return click.command("enable" if active else "disable")(command)


channel.add_command(_set_active(False))
channel.add_command(_set_active(True))


@channel.command("rotate-secret")
@click.argument("workspace_slug")
@click.argument("key")
@click.argument("secret_name")
@click.option("--value", default=None, help="The new value (random when omitted).")
@click.pass_context
def channel_rotate(
    ctx: click.Context, workspace_slug: str, key: str, secret_name: str, value: str | None
) -> None:
    """Give SECRET_NAME of channel KEY a new value and print it once (tell the provider)."""
    from store.channels import rotate_secret

    new = run(ctx, lambda: as_owner(workspace_slug, rotate_secret, key, secret_name, value))
    click.echo(f"channel {key} {secret_name}: {new}")


@channel.command("remove")
@click.argument("workspace_slug")
@click.argument("key")
@click.option("--force", is_flag=True, help="Also delete its identities and messages.")
@click.pass_context
def channel_remove(ctx: click.Context, workspace_slug: str, key: str, force: bool) -> None:
    """Remove channel KEY. Refused while contacts have identities or messages on it, unless
    --force (which deletes those; the contacts stay): `channel disable` keeps them."""
    from store.channels import remove_channel

    gone = run(ctx, lambda: as_owner(workspace_slug, remove_channel, key, force=force))
    more = f" with {gone.identities} identities and {gone.messages} messages" if force else ""
    click.echo(f"channel {key} removed{more}")
