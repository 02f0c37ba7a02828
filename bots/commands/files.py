"""export (a CSV or PDF file in the chat) and import (an uploaded CSV: dry run, then confirm)."""

from __future__ import annotations

import asyncio
import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bots import render
from bots.buttons import SHORT_TTL
from bots.commands.common import filter_value
from bots.core import Context, InFile, OutFile, Reply, Usage, command
from bots.i18n import N_, Lang
from bots.pressing import on_pending, pending_action
from store import views
from store.bot_actions import PendingAction
from store.errors import Invalid, NotFound
from store.files import OnConflict, export, importer

MIMES = {"csv": "text/csv", "pdf": "application/pdf"}
OTHER_FORMATS = frozenset(  # formats people ask for that the export does not write
    {"xlsx", "xls", "ods", "json", "jsonl", "tsv", "txt", "xml", "html", "doc", "docx", "zip"}
)
MAX_EXPORT = 45 * 1024 * 1024  # Telegram bots upload at most 50 MB
MAX_IMPORT = 20 * 1024 * 1024  # Telegram bots download at most 20 MB
IMPORT_TTL = SHORT_TTL * 2
OVERWRITE = "overwrite"  # the import button's choice that writes conflicts too


@command(
    "export", es="exportar", role="admin", usage=N_("[csv|pdf] [filter or view name]"),
    group="files", brief=N_("Contacts as a CSV or PDF file (all, a filter or a view)"),
)  # fmt: skip
async def export_(ctx: Context, args: str) -> Reply:
    """Export contacts (all, a filter, or a saved view) as a CSV or PDF file."""
    fmt, _, rest = args.strip().partition(" ")
    if fmt.lower().lstrip(".") in OTHER_FORMATS:
        raise Usage(ctx._("I do not export {format}; say csv or pdf", format=fmt))
    if fmt.lower() in MIMES:
        fmt, rest = fmt.lower(), rest.strip()
    else:
        fmt, rest = "csv", args.strip()
    options: export.ExportOptions = await _selection(ctx, rest)
    out = io.BytesIO()
    if fmt == "pdf":
        written = await export.write_pdf(ctx.actor, out, pdf_words(ctx.lang), **options)
    else:
        # `;` for Spanish-language workspaces: their spreadsheets expect it (decimal comma)
        delimiter = ";" if ctx.binding.language == "es" else ","
        written = await export.write_csv(ctx.actor, out, delimiter=delimiter, **options)
    data = out.getvalue()
    if len(data) > MAX_EXPORT:
        raise Invalid(ctx._("the export is {mb} MB, too large for a chat file; narrow it with a"
                            " filter, or use `contactgate export` or the API",
                            mb=ctx.lang.number(len(data) // 1_000_000)))  # fmt: skip
    what = f" ({rest})" if rest else ""
    if written.rows == 0:  # no empty file: say so
        return Reply(ctx._("No contacts match{what}; nothing to export.", what=what))
    text = ctx.n_("Exported {n} contact{what}.", "Exported {n} contacts{what}.", written.rows,
                  what=what)  # fmt: skip
    title = ctx._("contacts")
    name = await export.file_name(ctx.actor, fmt, everything=title, **options)
    return Reply(text, file=OutFile(name, data, MIMES[fmt], f"{title}{what}"))


def pdf_words(t: Lang) -> export.PdfWords:
    """The PDF's title, subtitle and headings in the person's language, times in the
    workspace's timezone."""

    def headline(workspace: str, total: int, options: export.ExportOptions) -> tuple[str, str]:
        now = datetime.now(UTC)
        parts = [t.n_("{n} contact", "{n} contacts", total),
                 t._("exported {when}", when=t.when(now))]  # fmt: skip
        if options.get("view"):
            parts.append(t._("view: {name}", name=options["view"]))
        if options.get("filter"):
            raw = options["filter"]
            shown = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
            parts.append(t._("filter: {expression}", expression=shown))
        return t._("Contacts - {workspace}", workspace=workspace), " · ".join(parts)

    return export.PdfWords(headline, lambda column: render.field_name(t, column))


async def _selection(ctx: Context, rest: str) -> export.ExportOptions:
    if not rest:
        return {}
    try:
        await views.get(ctx.actor, rest.strip('"“”'))
    except NotFound:
        return {"filter": filter_value(rest)}
    return {"view": rest.strip('"“”')}


@command(
    "import", es="importar", role="admin", usage=N_("(with a CSV file: name, email, phone, …)"),
    group="files", brief=N_("Contacts from a CSV file: a dry run, then confirm"),
)  # fmt: skip
async def import_(ctx: Context, args: str) -> list[Reply]:
    """Import contacts from a CSV file: a dry run first, then a button to apply it.

    The buttons count the rows that would change; rows that would overwrite another person
    (conflicts) get a second button that writes them too.
    """
    upload = ctx.file
    if upload is None:
        raise Usage(
            ctx._(
                "send me the CSV file (Telegram: as a document, or reply {typed} to one;"
                " Slack: share the file and point at it)",
                typed=ctx.typed("import"),
            )
        )
    if len(upload.content) > MAX_IMPORT:
        raise Invalid(ctx._("the file is larger than {mb} MB; use the API or CLI",
                            mb=MAX_IMPORT // 1_000_000))  # fmt: skip
    result, report = await _run(ctx, upload, dry_run=True)
    summary = ctx._("Dry run of {summary}", summary=_summary(ctx, upload.name, result))
    if not (_changing(result) or result.conflicts):
        return [Reply(summary + "\n" + ctx._("Nothing to import."), file=report)]
    pid = await ctx.remember("import", {"name": upload.name}, IMPORT_TTL, blob=upload.content)
    ask = Reply(summary + "\n" + ctx._("Apply it?"), await _buttons(ctx, pid, upload, result))
    return [ask] if report is None else [_report_reply(ctx, result, report), ask]


async def _buttons(
    ctx: Context, pid: int, upload: InFile, result: importer.ImportResult
) -> tuple[Any, ...]:
    """`Import N rows` (N: rows that would change), and with conflicts `Import M rows,
    overwriting K conflicts` (M from a second dry run that writes them), then Cancel."""
    buttons = []
    if _changing(result):
        label = _rows(ctx, _changing(result))
        buttons.append(ctx.button(label, pending_action(pid, "ok"), "primary"))
    if result.conflicts:
        forced, _report = await _run(ctx, upload, dry_run=True, on_conflict="update")
        overwriting = ctx.n_("{n} conflict", "{n} conflicts", result.conflicts)
        label = ctx._("{rows}, overwriting {conflicts}", rows=_rows(ctx, _changing(forced)),
                      conflicts=overwriting)  # fmt: skip
        buttons.append(ctx.button(label, pending_action(pid, OVERWRITE), "danger"))
    return (*buttons, ctx.button(ctx._("Cancel"), pending_action(pid, "no")))


def _changing(result: importer.ImportResult) -> int:
    """Rows an import writes: the new contacts and the updated ones."""
    return result.created + result.updated


def _rows(ctx: Context, n: int) -> str:
    return ctx.n_("Import {n} row", "Import {n} rows", n)


def _report_reply(ctx: Context, result: importer.ImportResult, report: OutFile) -> Reply:
    if result.conflicts:
        return Reply(ctx._("Rows with errors or conflicts:"), file=report)
    return Reply(ctx._("Rows with errors:"), file=report)


@on_pending("import", role="admin", once=True)
async def confirm_import(ctx: Context, action: PendingAction, choice: str) -> list[Reply]:
    """Apply an import after its dry run (`overwrite`: conflicts are written too)."""
    upload = InFile(str(action.payload["name"]), action.blob or b"")
    mode: OnConflict = "update" if choice == OVERWRITE else "skip"
    result, report = await _run(ctx, upload, dry_run=False, on_conflict=mode)
    done = Reply(ctx._("Imported {summary}", summary=_summary(ctx, upload.name, result)),
                 replace=True)  # fmt: skip
    return [done] if report is None else [done, _report_reply(ctx, result, report)]


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


def _summary(ctx: Context, name: str, r: importer.ImportResult) -> str:
    num = ctx.lang.number
    conflicts = ""
    if r.conflicts:
        conflicts = " " + ctx.n_(
            "{n} conflict (would overwrite another person: not written),",
            "{n} conflicts (would overwrite another person: not written),", r.conflicts,
        )  # fmt: skip
    rows = ctx.n_("{n} row", "{n} rows", r.rows)
    return ctx._("{file}: {rows}: {new} new, {updated} updated, {skipped} skipped (unchanged or"
                 " blank),{conflicts} {failed} with errors.", file=render.plain(name), rows=rows,
                 new=num(r.created), updated=num(r.updated), skipped=num(r.skipped),
                 conflicts=conflicts, failed=num(r.failed))  # fmt: skip
