"""What every `contactgate` sub-command shares: settings, running store work, printing."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

import click

from gateway.settings import Settings, SettingsError, load_settings
from store import db
from store.errors import DomainError

T = TypeVar("T")


def settings_of(ctx: click.Context) -> Settings:
    try:
        return load_settings(ctx.obj.get("config"))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def run(ctx: click.Context, work: Callable[[], Awaitable[T]], *, migrate: bool = True) -> T:
    """Open the database (applying migrations first), run `work`, close it."""
    settings = settings_of(ctx)
    from gateway import logs

    logs.configure(settings.log_level, settings.log_format, sys.stderr)

    async def main() -> T:
        from gateway.app import prepare_database

        if migrate:
            await prepare_database(settings)
        await db.init(settings.database_url)
        try:
            return await work()
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc


def show(value: Any, as_json: bool) -> None:
    data = asdict(value) if hasattr(value, "__dataclass_fields__") else value
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    elif isinstance(data, dict):
        for key, val in data.items():
            click.echo(f"{key}: {val}")
    else:
        click.echo(data)
