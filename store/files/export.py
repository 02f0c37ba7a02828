"""Export contacts as CSV (streamed, any size) or PDF (store.files.pdf), of all, a filter or a view.

Rows come in id order, `batch` at a time (keyset pagination on id, tags and channels fetched
per batch), on a read connection: memory stays flat and the webhook writer is never blocked.
Times are written in the workspace's timezone as `YYYY-MM-DD HH:MM:SS`, phones with a space
after the country code (store.files.export_columns).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypedDict, Unpack
from zoneinfo import ZoneInfo

from store import views
from store.access import Actor, audit, require
from store.contacts import workspace_region, workspace_zone
from store.db import ClientTx, RawTx, raw_transaction
from store.errors import Invalid
from store.files.export_columns import (
    CHANNEL,
    CUSTOM,
    FIELD_SQL,
    TIMES,
    channel_cell,
    check_columns,
    local_time,
    phone_text,
    resolve,
)
from store.files.export_columns import file_name as columns_file_name
from store.filters import compile_filter, parse_filter
from store.query import count_matching, matching
from store.serial import load_json
from store.views import DEFAULT_COLUMNS
from store.where import Where, all_of

BATCH = 2000
# fpdf2 holds the whole document in memory. Peak RSS of a whole export process, measured with
# 7 / 14 columns: 10k rows 91 / 93 MB, 50k 115 / 137 MB, 100k 148 / 188 MB (1.3 s, 7-13 s,
# 13-20 s). 50k rows (about 1,400 pages) keeps a PDF export well under 200 MB; CSV streams.
PDF_ROW_LIMIT = 50_000


class ExportOptions(TypedDict, total=False):
    """What to export: a filter (any form store.filters.parse_filter takes), a view, a search."""

    filter: str | dict[str, Any] | list[Any] | None
    view: str | None
    q: str
    columns: Sequence[str] | None
    batch: int


@dataclass(frozen=True, slots=True)
class PdfWords:
    """A PDF's words in its reader's language (the bots'): the title and the line under it
    from (workspace name, count, options), and a column heading from a column key."""

    headline: Callable[[str, int, ExportOptions], tuple[str, str]]
    column: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class ExportResult:
    """How many contacts were written, with which columns, where (None for a stream)."""

    rows: int
    columns: list[str]
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """The contacts to export (a condition on `contact c`) and the expanded columns."""

    where: Where
    columns: list[str]
    zone: ZoneInfo


async def export_rows(
    actor: Actor, **options: Unpack[ExportOptions]
) -> tuple[list[str], AsyncIterator[list[str]]]:
    """The header and an async iterator of rows (lists of strings) of an export; admins only.

    Rows come in id order (a view's sort is not applied). Bad columns, filters or views raise
    here, before any row is read.
    """
    require(actor, "admin")
    tx = ClientTx()
    chosen = await select(tx, actor, options)
    return chosen.columns, rows(tx, chosen, options.get("batch", BATCH))


async def select(tx: RawTx, actor: Actor, options: ExportOptions) -> Selection:
    """Resolve the view, filter and search of `options` into a Selection."""
    trees: list[Any] = []
    view_columns: list[str] | None = None
    if options.get("view"):
        info = await views.get(actor, str(options["view"]))
        trees.append(info.filter)
        view_columns = list(info.columns or []) or None
    raw = options.get("filter")
    if raw:
        trees.append(parse_filter(raw))
    compiled = [await _compiled(tx, actor.workspace_id, tree) for tree in trees if tree]
    where = await matching(tx, actor, filter=all_of(*compiled), q=options.get("q") or "")
    names = check_columns(options.get("columns") or view_columns or DEFAULT_COLUMNS)
    names = await resolve(tx, actor.workspace_id, names, where)
    return Selection(where, names, ZoneInfo(await workspace_zone(tx, actor.workspace_id)))


async def _compiled(tx: RawTx, workspace_id: int, tree: Any) -> Where:
    region = await workspace_region(tx, workspace_id)
    return compile_filter(
        tree, workspace_id=workspace_id, dialect=tx.dialect, now=datetime.now(UTC), region=region
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    sql: str
    cells: list[tuple[str, Any]]  # (kind, SQL position or custom key) per output column
    custom_at: int | None
    handles: bool  # a channel column is chosen: fetch the batch's identities


def _layout(chosen: Selection, dialect: str) -> _Layout:
    exprs, cells = ["c.id"], list[tuple[str, Any]]()
    for col in chosen.columns:
        if col in FIELD_SQL:
            exprs.append(FIELD_SQL[col])
            kind = "time" if col in TIMES else "phone" if col == "phone" else "text"
            cells.append((kind, len(exprs) - 1))
        elif col.startswith(CUSTOM):
            cells.append(("custom", col[len(CUSTOM) :]))
        elif col.startswith(CHANNEL):
            cells.append(("channel", col))
        else:
            cells.append((col, None))
    custom_at = None
    if any(kind == "custom" for kind, _ in cells):
        exprs.append("c.custom")
        custom_at = len(exprs) - 1
    join = (
        "LEFT JOIN channel lc ON lc.id = c.last_channel_id "
        if "last_channel" in chosen.columns
        else ""
    )
    # SQLite would walk a (workspace_id, …) index and sort every batch (quadratic); by rowid,
    # an export reads the table once.
    table = "contact c NOT INDEXED" if dialect == "sqlite" else "contact c"
    sql = (
        f"SELECT {', '.join(exprs)} FROM {table} {join}WHERE {chosen.where.sql}"
        " AND c.id > ? ORDER BY c.id LIMIT ?"
    )
    return _Layout(sql, cells, custom_at, any(kind == "channel" for kind, _ in cells))


async def rows(tx: RawTx, chosen: Selection, batch: int = BATCH) -> AsyncIterator[list[str]]:
    """The rows of a selection in id order, `batch` contacts per query."""
    layout, last = _layout(chosen, tx.dialect), 0
    while True:
        page = await tx.fetch(layout.sql, [*chosen.where.params, last, batch])
        if not page:
            return
        ids = [int(r[0]) for r in page]
        tags = await _by_contact(tx, TAGS_SQL, ids) if "tags" in chosen.columns else {}
        channels = await _by_contact(tx, CHANNELS_SQL, ids) if "channels" in chosen.columns else {}
        handles = await _handles(tx, ids) if layout.handles else {}
        for row in page:
            yield _cells(row, layout, tags, channels, handles, chosen.zone)
        if len(page) < batch:
            return
        last = ids[-1]


def _cells(
    row: Sequence[Any],
    layout: _Layout,
    tags: dict[int, list[str]],
    channels: dict[int, list[str]],
    handles: dict[int, list[tuple[str, str, str]]],
    zone: ZoneInfo,
) -> list[str]:
    custom = (load_json(row[layout.custom_at]) or {}) if layout.custom_at is not None else {}
    out = []
    for kind, arg in layout.cells:
        if kind == "text":
            value = row[arg]
            out.append(value if type(value) is str else "" if value is None else str(value))
        elif kind == "phone":
            out.append(phone_text(row[arg]) if row[arg] else "")
        elif kind == "time":
            out.append(local_time(row[arg], zone))
        elif kind == "custom":
            out.append(_scalar(custom.get(arg)))
        elif kind == "channel":
            out.append(channel_cell(handles.get(int(row[0]), ()), arg))
        else:
            out.append(", ".join((tags if kind == "tags" else channels).get(int(row[0]), ())))
    return out


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


TAGS_SQL = (
    "SELECT ct.contact_id, t.name FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
    " WHERE ct.contact_id IN ({}) ORDER BY t.key"
)
CHANNELS_SQL = (
    "SELECT i.contact_id, ch.kind FROM identity i JOIN channel ch ON ch.id = i.channel_id"
    " WHERE i.contact_id IN ({}) ORDER BY i.id"
)


HANDLES_SQL = (
    "SELECT i.contact_id, ch.kind, ch.key, COALESCE(i.username, i.external_id) FROM identity i"
    " JOIN channel ch ON ch.id = i.channel_id WHERE i.contact_id IN ({}) ORDER BY i.id"
)


async def _handles(tx: RawTx, ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
    """(channel kind, channel key, handle) per contact of a batch: username, else its id."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    for cid, kind, key, handle in await tx.fetch(HANDLES_SQL.format(",".join("?" * len(ids))), ids):
        found.setdefault(int(cid), []).append((str(kind), str(key), str(handle)))
    return found


async def _by_contact(tx: RawTx, sql: str, ids: list[int]) -> dict[int, list[str]]:
    """Distinct values per contact id, in query order (tags or channel kinds of a batch)."""
    found: dict[int, list[str]] = {}
    for cid, value in await tx.fetch(sql.format(",".join("?" * len(ids))), ids):
        values = found.setdefault(int(cid), [])
        if value not in values:
            values.append(str(value))
    return found


# A cell a spreadsheet would run as a formula gets a leading apostrophe (names and custom
# values come from strangers through the webhooks). Phone and number-like cells are left alone.
FORMULA_START = frozenset("=+-@\t\r")
NUMBER_LIKE = re.compile(r"[+-]?[\d\s().]*\d[\d\s().]*")
BOM = "\ufeff"
CHUNK_ROWS = 500


def spreadsheet_safe(cell: str) -> str:
    """`cell`, prefixed with `'` when it starts like a formula (=, +, -, @) and is no number."""
    if cell[:1] in FORMULA_START and not NUMBER_LIKE.fullmatch(cell):
        return "'" + cell
    return cell


DELIMITERS = (",", ";")


async def csv_chunks(
    header: list[str], body: AsyncIterator[list[str]], delimiter: str = ","
) -> AsyncIterator[bytes]:
    """CSV bytes of a header and rows: UTF-8 with a BOM (so Excel reads accents right), CRLF
    line ends, fields quoted where needed, formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    buffer.write(BOM)
    writer.writerow(header)
    written = 0
    async for row in body:
        writer.writerow([spreadsheet_safe(c) if c[:1] in FORMULA_START else c for c in row])
        written += 1
        if written % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


class _Tally:
    """Counts the rows passing through an iterator (telling `progress` every CHUNK_ROWS)."""

    def __init__(self, progress: Progress | None = None, total: int = 0) -> None:
        self.count = 0
        self.progress = progress
        self.total = total

    async def through(self, body: AsyncIterator[list[str]]) -> AsyncIterator[list[str]]:
        async for row in body:
            self.count += 1
            if self.progress and self.count % CHUNK_ROWS == 0:
                self.progress(self.count, max(self.total, self.count))
            yield row


Progress = Callable[[int, int], None]  # (rows done, rows in all)


async def count_rows(actor: Actor, **options: Unpack[ExportOptions]) -> int:
    """How many contacts an export with these options writes (one count query)."""
    require(actor, "admin")
    tx = ClientTx()
    chosen = await select(tx, actor, options)
    rows = await tx.fetch(
        f"SELECT count(*) FROM contact c WHERE {chosen.where.sql}", chosen.where.params
    )
    return int(rows[0][0])


async def file_name(
    actor: Actor,
    fmt: str,
    now: datetime | None = None,
    everything: str = "contacts",
    **options: Unpack[ExportOptions],
) -> str:
    """The file name an export of these options gets (see export_columns.file_name)."""
    what = options.get("view") or _filter_words(options.get("filter")) or options.get("q") or ""
    zone = ZoneInfo(await workspace_zone(ClientTx(), actor.workspace_id))
    return columns_file_name(str(what), fmt, now or datetime.now(UTC), zone, everything)


def _filter_words(raw: Any) -> str:
    return raw if isinstance(raw, str) else ""  # a JSON tree has no words worth a file name


async def write_csv(
    actor: Actor,
    out: BinaryIO | str | Path,
    *,
    progress: Progress | None = None,
    delimiter: str = ",",
    **options: Unpack[ExportOptions],
) -> ExportResult:
    """Write a CSV export (UTF-8 with BOM so Excel shows accents) to a binary file or a path;
    `progress(done, total)` is called every CHUNK_ROWS rows and at the end when given.
    `delimiter`: `,`, or `;` (what spreadsheets expect where the decimal mark is a comma).

    No row limit: it streams. Audited as `contact.export`.
    """
    if delimiter not in DELIMITERS:
        raise Invalid(f"delimiter must be one of {' '.join(DELIMITERS)}")
    total = await count_rows(actor, **options) if progress else 0
    header, body = await export_rows(actor, **options)
    tally = _Tally(progress, total)
    with _opened(out) as (stream, path):
        async for chunk in csv_chunks(header, tally.through(body), delimiter):
            stream.write(chunk)
    if progress:
        progress(tally.count, max(total, tally.count))
    await audit_export(actor, "csv", header, tally.count, options)
    return ExportResult(tally.count, header, path)


async def iter_csv(actor: Actor, **options: Unpack[ExportOptions]) -> AsyncGenerator[bytes, None]:
    """The CSV export as byte chunks for a streamed response (await it, then iterate).

    Bad options raise when awaited, before the first byte; the export is audited when the
    stream ends, also when the client goes away (`complete: false`).
    """
    header, body = await export_rows(actor, **options)
    return _audited_chunks(actor, header, body, options)


async def _audited_chunks(
    actor: Actor, header: list[str], body: AsyncIterator[list[str]], options: ExportOptions
) -> AsyncGenerator[bytes, None]:
    tally, complete = _Tally(), False
    try:
        async for chunk in csv_chunks(header, tally.through(body)):
            yield chunk
        complete = True
    finally:
        await audit_export(actor, "csv", header, tally.count, options, complete=complete)


async def write_pdf(
    actor: Actor,
    out: BinaryIO | str | Path,
    words: PdfWords | None = None,
    **options: Unpack[ExportOptions],
) -> ExportResult:
    """Write a PDF export (a paginated table, store.files.pdf) to a binary file or a path.

    More than PDF_ROW_LIMIT contacts is Invalid: the document is built in memory.
    """
    from store.files import pdf  # fpdf2 takes ~0.3 s to import: only PDF exports pay it

    require(actor, "admin")
    tx = ClientTx()
    chosen = await select(tx, actor, options)
    total = await count_matching(tx, chosen.where)
    if total > PDF_ROW_LIMIT:
        raise Invalid(
            f"{total} contacts is more than a PDF export holds ({PDF_ROW_LIMIT});"
            " export CSV instead, or narrow it with a filter"
        )
    found = await tx.fetch("SELECT name FROM workspace WHERE id = ?", [actor.workspace_id])
    if words is None:
        title, subtitle = pdf.headline(found[0][0], total, **options)
        header = chosen.columns
    else:
        title, subtitle = words.headline(found[0][0], total, options)
        header = [words.column(c) for c in chosen.columns]
    body = rows(tx, chosen, options.get("batch", BATCH))
    written = await pdf.render_table(title, subtitle, header, body)
    with _opened(out) as (stream, path):
        stream.write(written.data)
    await audit_export(actor, "pdf", chosen.columns, written.rows, options)
    return ExportResult(written.rows, chosen.columns, path)


@contextmanager
def _opened(out: BinaryIO | str | Path) -> Iterator[tuple[BinaryIO, str | None]]:
    if isinstance(out, str | Path):
        with open(out, "wb") as stream:
            yield stream, str(out)
    else:
        yield out, None


async def audit_export(
    actor: Actor,
    fmt: str,
    columns: list[str],
    written: int,
    options: ExportOptions,
    *,
    complete: bool = True,
) -> None:
    """One `contact.export` audit line with the count and the options."""
    detail = {
        "format": fmt,
        "rows": written,
        "columns": columns,
        "filter": options.get("filter"),
        "view": options.get("view"),
        "q": options.get("q") or "",
        "complete": complete,
    }
    async with raw_transaction() as tx:
        await audit(tx, actor, "contact.export", fmt, detail)
