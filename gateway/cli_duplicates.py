"""`contactgate duplicates WORKSPACE [dismiss A B]`: likely duplicate pairs, and dismissing one
(acting as the workspace's owner)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from gateway.cli_common import owner_of, run, show, show_rows

if TYPE_CHECKING:
    from store.duplicates import Dismissed, Pair


@click.group(
    "duplicates", invoke_without_command=True, context_settings={"allow_interspersed_args": True}
)
@click.argument("workspace_slug")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def duplicates(ctx: click.Context, workspace_slug: str, limit: int, as_json: bool) -> None:
    """Likely duplicate pairs of a workspace, strongest first; `dismiss A B` forgets one."""
    ctx.obj.update(workspace=workspace_slug, json=as_json)
    if ctx.invoked_subcommand is not None:
        return
    from store import duplicates as finder

    async def work() -> list[Pair]:
        return (await finder.find(await owner_of(workspace_slug), limit=limit)).pairs

    show_rows(
        run(ctx, work),
        as_json,
        empty=f"no likely duplicates in {workspace_slug}",
        line=_line,
        record=_record,
    )


def _line(pair: Pair) -> str:
    reasons = "; ".join(f"{r.kind} {r.value}" for r in pair.reasons)
    return (
        f"{pair.score}\t#{pair.a.id} {pair.a.display_name}\t#{pair.b.id} {pair.b.display_name}"
        f"\t{reasons}"
    )


def _record(pair: Pair) -> dict[str, Any]:
    return {
        "a": {"id": pair.a.id, "name": pair.a.display_name},
        "b": {"id": pair.b.id, "name": pair.b.display_name},
        "score": pair.score,
        "reasons": [{"kind": r.kind, "value": r.value} for r in pair.reasons],
    }


@duplicates.command("dismiss")
@click.argument("first")
@click.argument("second")
@click.pass_context
def dismiss(ctx: click.Context, first: str, second: str) -> None:
    """Remember that contacts FIRST and SECOND (#id, email:…, phone:…) are not one person."""
    from store import duplicates as finder
    from store import refs
    from store.setup import get_workspace

    slug = ctx.obj["workspace"]

    async def work() -> Dismissed:
        actor, region = await owner_of(slug), (await get_workspace(slug)).default_region
        ids = [await refs.contact_id(actor, refs.parse(r), region) for r in (first, second)]
        return await finder.dismiss(actor, *ids)

    done = run(ctx, work)
    if ctx.obj["json"]:
        show(done, True)
        return
    state = "was already dismissed" if done.already else "dismissed"
    click.echo(f"#{done.a} and #{done.b}: {state}; the pair is not listed again")
