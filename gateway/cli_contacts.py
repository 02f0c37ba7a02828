"""`contactgate import` and `contactgate export`: contacts in and out as CSV (and PDF)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli_common import run, show
from gateway.cli_progress import progress

if TYPE_CHECKING:
    from store.files import OnConflict


@click.command("export")
@click.argument("workspace_slug")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "pdf"]),
    help="Default: pdf for -o *.pdf, else csv.",
)
@click.option("--columns", default=None, help="Comma-separated columns; name always comes first.")
@click.option("--filter", "filter_expr", default=None, help="Filter: text syntax or JSON.")
@click.option("--view", default=None, help="A saved view (its filter and columns).")
@click.option("--q", default="", help="Search box text.")
@click.option("-o", "--output", required=True, help="File to write; - for stdout.")
@click.pass_context
def export_contacts(
    ctx: click.Context,
    workspace_slug: str,
    fmt: str | None,
    columns: str | None,
    filter_expr: str | None,
    view: str | None,
    q: str,
    output: str,
) -> None:
    """Export contacts to CSV or PDF: all, a filter, a view or a search (count on stderr)."""
    from store.access import Actor
    from store.files import export
    from store.setup import get_workspace

    pdf = fmt == "pdf" or (fmt is None and output.lower().endswith(".pdf"))
    target = sys.stdout.buffer if output == "-" else output
    options: export.ExportOptions = {
        "filter": _export_filter(filter_expr),
        "view": view,
        "q": q,
        "columns": [c for c in (columns or "").split(",") if c.strip()] or None,
    }

    async def work() -> export.ExportResult:
        actor = Actor((await get_workspace(workspace_slug)).id, "cli", "cli", "owner")
        if pdf:
            return await export.write_pdf(actor, target, **options)
        with progress("exporting", "contacts") as report:
            return await export.write_csv(actor, target, progress=report, **options)

    result = run(ctx, work)
    where = "stdout" if output == "-" else output
    click.echo(
        f"exported {result.rows} contacts ({len(result.columns)} columns) to {where}", err=True
    )


def _export_filter(expr: str | None) -> str | dict[str, Any] | list[Any] | None:
    """The --filter text, or its JSON when it is a JSON tree or Chatwoot payload."""
    if not expr or not expr.lstrip().startswith(("{", "[")):
        return expr
    try:
        value: dict[str, Any] | list[Any] = json.loads(expr)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--filter") from exc
    return value


class _FileRefused(click.ClickException):
    """A file the import cannot use at all (exit status 2)."""

    exit_code = 2


@click.command("import")
@click.argument("workspace_slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Count what would change; write nothing.")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the failed rows (line, error, their cells) to this CSV file.",
)
@click.option(
    "--on-conflict",
    type=click.Choice(["skip", "update"]),
    default="skip",
    show_default=True,
    help="A row that would overwrite another person (another name on a matched email/phone,"
    " or a second row for a contact the file already wrote): skip it, or update anyway.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def import_contacts(
    ctx: click.Context,
    workspace_slug: str,
    file: Path,
    dry_run: bool,
    errors_path: Path | None,
    on_conflict: OnConflict,
    as_json: bool,
) -> None:
    """Import contacts from a CSV file: upsert by identifier, then email, then phone.

    Exits 0 once the file is read (even when some rows failed or were conflicts), 2 when it
    cannot be used.
    """
    from store.access import Actor
    from store.errors import Invalid
    from store.files.importer import ImportResult, import_csv
    from store.setup import get_workspace

    async def work() -> ImportResult:
        actor = Actor((await get_workspace(workspace_slug)).id, "cli", "cli", "owner")
        label = "checking" if dry_run else "importing"
        try:
            with progress(label, "rows") as report:
                return await import_csv(
                    actor, file, dry_run=dry_run, errors_path=errors_path,
                    on_conflict=on_conflict, progress=report,
                )  # fmt: skip
        except Invalid as exc:
            raise _FileRefused(f"{file}: {exc}") from exc

    result = run(ctx, work)
    show(result, as_json)
    if result.failed and errors_path is None:
        click.echo(f"{result.failed} rows failed: add --errors FILE to get them", err=True)
    if result.conflicts:
        rows = "1 row" if result.conflicts == 1 else f"{result.conflicts} rows"
        written = "would not be written" if dry_run else "not written"
        where = f"listed in {errors_path}" if errors_path else "add --errors FILE to list them"
        click.echo(
            f"{rows} {written}: each would overwrite another person ({where});"
            " --on-conflict update writes them",
            err=True,
        )
