"""`contactgate audit`: the workspace's audit log, filtered, as lines, JSON or CSV."""

from __future__ import annotations

import sys
from typing import BinaryIO
from zoneinfo import ZoneInfo

import click

from gateway.cli_common import owner_of, run, show_rows
from store import audit_log
from store.access import Actor
from store.audit_log import AuditLine, AuditPage, AuditQuery
from store.contacts import workspace_region
from store.db import ClientTx


@click.command("audit")
@click.argument("workspace_slug")
@click.option("--actor", default=None, help="Only this actor (token name, telegram:42, cli…).")
@click.option("--action", default=None, help="Only this action, or a family: contact.*")
@click.option("--contact", default=None, help="Only lines about this contact (#12, email:…).")
@click.option("--since", default=None, help="From this date or time (workspace timezone).")
@click.option("--until", default=None, help="Before this date or time (exclusive).")
@click.option("--limit", type=click.IntRange(1, audit_log.MAX_PAGE), default=50, show_default=True)
@click.option("--cursor", default=None, help="next_cursor of a previous page.")
@click.option("--csv", "csv_out", default=None, help="Write every match as CSV (- for stdout).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit(
    ctx: click.Context,
    workspace_slug: str,
    actor: str | None,
    action: str | None,
    contact: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    cursor: str | None,
    csv_out: str | None,
    as_json: bool,
) -> None:
    """Who changed what, newest first: a page of lines, or every matching line as CSV."""

    async def query() -> tuple[Actor, AuditQuery, str]:
        owner = await owner_of(workspace_slug)
        zone = await audit_log.workspace_zone(owner)
        region = await workspace_region(ClientTx(), owner.workspace_id)
        chosen = AuditQuery(
            actor=actor,
            action=action,
            contact_id=await audit_log.contact_for(owner, contact, region) if contact else None,
            since=audit_log.parse_time(since, zone) if since else None,
            until=audit_log.parse_time(until, zone) if until else None,
        )
        return owner, chosen, zone

    if csv_out is not None:
        out: BinaryIO = sys.stdout.buffer if csv_out == "-" else open(csv_out, "wb")  # noqa: SIM115

        async def write() -> int:
            owner, chosen, _ = await query()
            return await audit_log.write_csv(owner, chosen, out)

        try:
            count = run(ctx, write)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        where = "stdout" if csv_out == "-" else csv_out
        click.echo(f"wrote {count} audit lines to {where}", err=True)
        return

    async def read() -> tuple[AuditPage, str]:
        owner, chosen, zone = await query()
        return await audit_log.page(owner, chosen, cursor=cursor, limit=limit), zone

    page, zone = run(ctx, read)
    show_rows(page.lines, as_json, empty="no audit lines match", line=lambda x: _line(x, zone))
    if page.next_cursor and not as_json:
        click.echo(f"more: --cursor {page.next_cursor}", err=True)


def _line(line: AuditLine, zone: str) -> str:
    at = line.at.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
    detail = "" if line.detail is None else f"\t{line.detail}"
    return f"{at}\t{line.actor} ({line.surface})\t{line.action}\t{line.target or '-'}{detail}"
