"""`contactgate contact data|erase` (a person's data on request, erasure) and `contactgate exports
purge` (old reset exports off the disk)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO

import click

from gateway.cli_common import owner_of, run, show
from store import refs
from store.audit_log import parse_time, workspace_zone
from store.contacts import workspace_region
from store.db import ClientTx
from store.person import data, erase
from store.reset.on_disk import purge_exports


@click.group("contact")
def contact() -> None:
    """One person's data: hand it over on request, or erase it."""


@contact.command("data")
@click.argument("workspace_slug")
@click.argument("ref")
@click.option("-o", "--output", required=True, help="The ZIP to write; - for stdout.")
@click.pass_context
def contact_data(ctx: click.Context, workspace_slug: str, ref: str, output: str) -> None:
    """Write everything stored about a person (#12, email:…, phone:…) to a ZIP archive."""
    to_file = output != "-"
    out: BinaryIO = open(output, "wb") if to_file else sys.stdout.buffer  # noqa: SIM115

    async def work() -> int:
        owner = await owner_of(workspace_slug)
        region = await workspace_region(ClientTx(), owner.workspace_id)
        found = await refs.contact(owner, refs.parse(ref), region)
        await data.write(owner, found.id, out)
        return found.id

    try:
        cid = run(ctx, work)
    except BaseException:
        if to_file:
            out.close()
            Path(output).unlink(missing_ok=True)  # no half archive left behind
        raise
    if to_file:
        out.close()
    where = output if to_file else "stdout"
    click.echo(f"wrote the data of contact #{cid} to {where}", err=True)


@contact.command("erase")
@click.argument("workspace_slug")
@click.argument("ref")
@click.option(
    "--confirm", type=int, default=None, help="The number of contacts it takes (asked if absent)."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def contact_erase(
    ctx: click.Context, workspace_slug: str, ref: str, confirm: int | None, as_json: bool
) -> None:
    """Erase a person and everything of theirs; the audit log keeps who did what, not them."""

    async def work() -> erase.Erasure:
        owner = await owner_of(workspace_slug)
        region = await workspace_region(ClientTx(), owner.workspace_id)
        found = await refs.contact(owner, refs.parse(ref), region)
        return await erase.erase(owner, found.id, confirm)

    done = run(ctx, work)
    if as_json:
        show(done, True)
        return
    counts = ", ".join(f"{kind.replace('_', ' ')}: {n}" for kind, n in done.erased.items() if n)
    click.echo(f"erased #{done.contact_id} ({counts})")
    for path in done.exports_holding:
        click.echo(f"still on disk in a reset export: {path}")


@click.group("exports")
def exports() -> None:
    """Reset exports on disk."""


@exports.command("purge")
@click.argument("workspace_slug")
@click.option("--before", required=True, help="Remove exports of runs finished before this date.")
@click.option("--dry-run", is_flag=True, help="Only list what would go.")
@click.pass_context
def exports_purge(ctx: click.Context, workspace_slug: str, before: str, dry_run: bool) -> None:
    """Remove the export folders of finished reset runs (the run records stay)."""

    async def work() -> list[Any]:
        owner = await owner_of(workspace_slug)
        return await purge_exports(
            owner, parse_time(before, await workspace_zone(owner)), dry_run=dry_run
        )

    gone = run(ctx, work)
    verb = "would remove" if dry_run else "removed"
    for p in gone:
        click.echo(
            f"{verb} {p.path} (run {p.run_id}, {p.period})"
            + ("" if p.existed else ", already gone")
        )
    if not gone:
        click.echo("no reset export finished before that date")
