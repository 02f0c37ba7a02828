"""`contactgate contact data`: one person's data (everything stored about them) as a ZIP."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

import click

from gateway.cli_common import owner_of, run
from store import refs
from store.contacts import workspace_region
from store.db import ClientTx
from store.person import data


@click.group("contact")
def contact() -> None:
    """One person's data: hand it over on request."""


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
