"""export (a CSV or PDF file in the chat) and import (an uploaded CSV: dry run, then confirm)."""

from __future__ import annotations

import asyncio
import io
import tempfile
from pathlib import Path
from typing import Any

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import filter_value
from bots.core import Context, InFile, OutFile, Reply, Usage, command
from bots.pressing import on_pending, pending_action
from store import views
from store.bot_actions import PendingAction
from store.errors import Invalid, NotFound
from store.files import OnConflict, export, importer

MIMES = {"csv": "text/csv", "pdf": "application/pdf"}
MAX_EXPORT = 45 * 1024 * 1024  # Telegram bots upload at most 50 MB
MAX_IMPORT = 20 * 1024 * 1024  # Telegram bots download at most 20 MB
IMPORT_TTL = SHORT_TTL * 2
OVERWRITE = "overwrite"  # the import button's choice that writes conflicts too


@command("export", role="admin", usage="export [csv|pdf] [filter or view name]")
async def export_(ctx: Context, args: str) -> Reply:
    """Export contacts (all, a filter, or a saved view) as a CSV or PDF file."""
    fmt, _, rest = args.strip().partition(" ")
    if fmt.lower() in MIMES:
        fmt, rest = fmt.lower(), rest.strip()
    else:
        fmt, rest = "csv", args.strip()
    options: export.ExportOptions = await _selection(ctx, rest)
    out = io.BytesIO()
    if fmt == "pdf":
        written = await export.write_pdf(ctx.actor, out, **options)
    else:
        written = await export.write_csv(ctx.actor, out, **options)
    data = out.getvalue()
    if len(data) > MAX_EXPORT:
        raise Invalid(
            f"the export is {len(data) // 1_000_000} MB, too large for a chat file; narrow it"
            " with a filter, or use `contactgate export` or the API"
        )
    name = await export.file_name(ctx.actor, fmt, **options)
    what = f" ({rest})" if rest else ""
    text = f"Exported {render.count(written.rows, 'contact')}{what}."
    return Reply(text, file=OutFile(name, data, MIMES[fmt], f"contacts{what}"))


async def _selection(ctx: Context, rest: str) -> export.ExportOptions:
    if not rest:
        return {}
    try:
        await views.get(ctx.actor, rest.strip('"“”'))
    except NotFound:
        return {"filter": filter_value(rest)}
    return {"view": rest.strip('"“”')}


@command("import", role="admin", usage="import (with a CSV file: name, email, phone, …)")
async def import_(ctx: Context, args: str) -> list[Reply]:
    """Import contacts from a CSV file: a dry run first, then a button to apply it.

    The buttons count the rows that would change; rows that would overwrite another person
    (conflicts) get a second button that writes them too.
    """
    upload = ctx.file
    if upload is None:
        raise Usage(
            "send me the CSV file (Telegram: as a document, or reply /import to one;"
            " Slack: share the file and point at it)"
        )
    if len(upload.content) > MAX_IMPORT:
        raise Invalid(f"the file is larger than {MAX_IMPORT // 1_000_000} MB; use the API or CLI")
    result, report = await _run(ctx, upload, dry_run=True)
    summary = _summary(upload.name, result)
    if not (_changing(result) or result.conflicts):
        return [Reply(f"Dry run of {summary}\nNothing to import.", file=report)]
    pid = await ctx.remember("import", {"name": upload.name}, IMPORT_TTL, blob=upload.content)
    ask = Reply(f"Dry run of {summary}\nApply it?", await _buttons(ctx, pid, upload, result))
    return [ask] if report is None else [_report_reply(result, report), ask]


async def _buttons(
    ctx: Context, pid: int, upload: InFile, result: importer.ImportResult
) -> tuple[Any, ...]:
    """`Import N rows` (N: rows that would change), and with conflicts `Import M rows,
    overwriting K conflicts` (M from a second dry run that writes them), then Cancel."""
    buttons = []
    if _changing(result):
        buttons.append(ctx.button(_rows(_changing(result)), pending_action(pid, "ok"), "primary"))
    if result.conflicts:
        forced, _report = await _run(ctx, upload, dry_run=True, on_conflict="update")
        overwriting = render.count(result.conflicts, "conflict")
        label = f"{_rows(_changing(forced))}, overwriting {overwriting}"
        buttons.append(ctx.button(label, pending_action(pid, OVERWRITE), "danger"))
    return (*buttons, ctx.button("Cancel", pending_action(pid, "no")))


def _changing(result: importer.ImportResult) -> int:
    """Rows an import writes: the new contacts and the updated ones."""
    return result.created + result.updated


def _rows(n: int) -> str:
    return f"Import {render.count(n, 'row')}"


def _report_reply(result: importer.ImportResult, report: OutFile) -> Reply:
    return Reply(
        "Rows with errors or conflicts:" if result.conflicts else "Rows with errors:", file=report
    )


@on_pending("import", role="admin", once=True)
async def confirm_import(ctx: Context, action: PendingAction, choice: str) -> list[Reply]:
    """Apply an import after its dry run (`overwrite`: conflicts are written too)."""
    upload = InFile(str(action.payload["name"]), action.blob or b"")
    mode: OnConflict = "update" if choice == OVERWRITE else "skip"
    result, report = await _run(ctx, upload, dry_run=False, on_conflict=mode)
    done = Reply(f"Imported {_summary(upload.name, result)}", replace=True)
    return [done] if report is None else [done, _report_reply(result, report)]


async def _run(
    ctx: Context, upload: InFile, *, dry_run: bool, on_conflict: OnConflict = "skip"
) -> tuple[importer.ImportResult, OutFile | None]:
    with tempfile.TemporaryDirectory(prefix="cg-bot-import-") as folder:
        source, errors = Path(folder) / _safe(upload.name), Path(folder) / "errors.csv"
        await asyncio.to_thread(source.write_bytes, upload.content)
        result = await importer.import_csv(
            ctx.actor, source, dry_run=dry_run, errors_path=errors, on_conflict=on_conflict
        )
        report = None
        if result.errors_path:
            data = await asyncio.to_thread(Path(result.errors_path).read_bytes)
            report = OutFile(f"errors-{_safe(upload.name)}", data, "text/csv", "rows with errors")
    return result, report


def _safe(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name)
    return cleaned[-100:] or "upload.csv"


def _summary(name: str, r: importer.ImportResult) -> str:
    conflicts = (
        f" {render.count(r.conflicts, 'conflict')} (would overwrite another person: not written),"
        if r.conflicts
        else ""
    )
    return (
        f"{render.plain(name)}: {render.count(r.rows, 'row')}: {r.created} new,"
        f" {r.updated} updated, {r.skipped} skipped (unchanged or blank),{conflicts}"
        f" {r.failed} with errors."
    )
