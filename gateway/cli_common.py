"""What every `contactgate` sub-command shares: settings, running store work, printing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, TextIO, TypeVar

import click
import structlog
from tortoise.exceptions import DBConnectionError, OperationalError

from gateway.settings import Settings, SettingsError, load_settings, unknown_variables
from gateway.startup import SETTING, DatabaseUnavailable, check_database, shown_url
from store import db
from store.access import Actor
from store.errors import DomainError

T = TypeVar("T")


def settings_of(ctx: click.Context) -> Settings:
    try:
        return load_settings(ctx.obj.get("config"))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def start(ctx: click.Context, stream: TextIO | None = None, *, cache: bool = False) -> Settings:
    """The settings, with logging configured on `stream` (stderr by default; see
    `logs.configure` for `cache`) and a warning logged for each CONTACTGATE_* variable that is
    no setting."""
    from gateway import logs

    settings = settings_of(ctx)
    out = stream or sys.stderr
    secrets = logs.secrets_of(settings)
    logs.configure(settings.log_level, settings.log_format, out, secrets, cache=cache)
    for warning in unknown_variables(os.environ):
        structlog.get_logger("contactgate.settings").warning(warning)
    return settings


@contextmanager
def start_up_errors(settings: Settings) -> Iterator[None]:
    """A database that cannot be opened or used becomes one line and exit status 1."""
    from gateway.app import SchemaOutdated

    try:
        yield
    except (DatabaseUnavailable, SchemaOutdated) as exc:
        raise click.ClickException(str(exc)) from exc
    except (DBConnectionError, OperationalError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        where = f"{SETTING}={shown_url(settings.database_url)}"
        raise click.ClickException(f"{where}: {first}") from exc


def run(ctx: click.Context, work: Callable[[], Awaitable[T]], *, migrate: bool = True) -> T:
    """Open the database (applying migrations first), run `work`, close it."""
    settings = start(ctx)

    async def main() -> T:
        from gateway.app import prepare_database

        if migrate:
            await prepare_database(settings)
        else:
            await check_database(settings)
        await db.init(settings.database_url)
        try:
            return await work()
        finally:
            await db.close()

    try:
        with start_up_errors(settings):
            return asyncio.run(main())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc


def show_rows(
    rows: Sequence[T],
    as_json: bool,
    *,
    empty: str,
    line: Callable[[T], str],
    record: Callable[[T], Any] | None = None,
) -> None:
    """A read command's list: JSON records, or one line per row (`empty` when there is none)."""
    if as_json:
        to_record: Callable[[Any], Any] = record or asdict  # rows are dataclasses by default
        show([to_record(row) for row in rows], True)
        return
    if not rows:
        click.echo(empty)
    for row in rows:
        click.echo(line(row))


def show(value: Any, as_json: bool) -> None:
    data = asdict(value) if hasattr(value, "__dataclass_fields__") else value
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    elif isinstance(data, dict):
        for key, val in data.items():
            click.echo(f"{key}: {val}")
    else:
        click.echo(data)


async def owner_of(slug: str) -> Actor:
    """The CLI's actor on workspace `slug`: its owner, named `cli` in the audit log."""
    from store.setup import get_workspace

    return Actor((await get_workspace(slug)).id, "cli", "cli", "owner")


async def as_owner(slug: str, operation: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
    """Run a store operation that takes an Actor as the owner of workspace `slug`."""
    return await operation(await owner_of(slug), *args, **kw)
