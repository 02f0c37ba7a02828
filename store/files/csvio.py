"""Reading contact CSV files: encoding and delimiter, header mapping, numbered clean rows."""

from __future__ import annotations

import asyncio
import codecs
import csv
import itertools
import multiprocessing
import os
import re
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from store import phones, tags, text
from store.contact_fields import CUSTOM_KEY_MAX, clean_fields
from store.errors import Invalid
from store.fold import fold

CHUNK = 1 << 20
YIELD_EVERY = 50  # rows cleaned between two turns of the event loop
MAX_WORKERS = 2
DELIMITERS = (",", ";", "\t")
CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
IDENTIFYING = ("name", "email", "phone", "identifier")

# Header names by field (or `tags`), compared folded with letters and digits only.
SYNONYMS = {
    "name": ("name", "nombre", "fullname", "nombrecompleto", "contactname", "nombres"),
    "email": ("email", "correo", "correoelectronico", "mail", "emailaddress", "emails"),
    "phone": (
        *("phone", "telefono", "phonenumber", "mobile", "movil", "celular", "cellphone"),
        *("mobilephone", "numerodetelefono", "tel"),
    ),
    "identifier": ("identifier", "identificador", "externalid", "idexterno"),
    "company": ("company", "empresa", "companyname", "compania", "organization", "organizacion"),
    "city": ("city", "ciudad"),
    "country": ("country", "pais", "countrycode", "codigopais"),
    "tags": ("tags", "tag", "etiquetas", "etiqueta", "labels", "label"),
    "language": ("language", "idioma", "lang", "locale"),
    "avatar_url": ("avatarurl", "avatar", "photo", "foto"),
    "assignee": ("assignee", "asignado", "assignedto", "agente", "agent"),
}
HEADER_FIELDS = {alias: name for name, aliases in SYNONYMS.items() for alias in aliases}


@dataclass(frozen=True, slots=True)
class Format:
    """How a file is written: its text encoding and cell delimiter."""

    encoding: str  # utf-8 | utf-8-sig | cp1252 | latin-1
    delimiter: str
    size: int  # bytes


@dataclass(slots=True)
class Columns:
    """What each column of a file holds: a contact field, the tags, or a custom field."""

    header: list[str]
    fields: list[tuple[int, str]] = field(default_factory=list)
    custom: list[tuple[int, str]] = field(default_factory=list)
    tags: int | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: the physical line it starts on, its cells, or why it could not be read."""

    line: int
    cells: list[str]
    error: str | None = None


@dataclass(slots=True)
class Row:
    """A record made ready for the database: clean fields and tags, or why it is rejected."""

    line: int
    cells: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    error: str | None = None
    blank: bool = False
    text: tuple[str, str | None] | None = None  # search_text and name_key as a new contact
    variants: list[str] = field(default_factory=list)  # of its phone, for search_text


def check(path: Path) -> Format:
    """The file's format once its encoding, delimiter and header are usable; Invalid (saying
    why) otherwise. What an import checks before it starts, so a job can refuse at once."""
    fmt = sniff(path)
    with path.open(encoding=fmt.encoding, newline="") as fh:
        map_header(next(records(fh, fmt), None))
    return fmt


def count_lines(path: Path) -> int:
    """The data rows of a CSV file, about: its line breaks minus the header (a quoted cell
    spanning lines counts more than once), for a progress total."""
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without its line break
    return max(lines - 1, 0)


def header_field(name: str) -> str | None:
    """The contact field a header names (`Teléfono` -> phone), or None for a custom column."""
    return HEADER_FIELDS.get(re.sub(r"[^0-9a-z]", "", fold(name)))


def sniff(path: Path) -> Format:
    """Detect encoding (by scanning every byte, in chunks) and delimiter; Invalid if unreadable."""
    if not path.is_file():
        raise Invalid(f"no file at {path}")
    encoding = _scan_encoding(path)
    with path.open(encoding=encoding, newline="", errors="strict") as fh:
        first = fh.readline()
    return Format(encoding, _delimiter(first), path.stat().st_size)


def _scan_encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, undefined, has_text, bom = True, False, False, None
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if bom is None:
                _check_start(chunk)
                bom = chunk.startswith(codecs.BOM_UTF8)
            if b"\x00" in chunk:
                raise Invalid("the file contains NUL bytes: it is not a CSV text file")
            has_text = has_text or bool(chunk.removeprefix(codecs.BOM_UTF8 if bom else b"").strip())
            undefined = undefined or any(b in chunk for b in CP1252_UNDEFINED)
            utf8 = utf8 and _decodes(decoder, chunk, final=False)
    if not has_text:
        raise Invalid("the file is empty")
    if utf8 and _decodes(decoder, b"", final=True):
        return "utf-8-sig" if bom else "utf-8"
    return "latin-1" if undefined else "cp1252"


def _check_start(start: bytes) -> None:
    if start.startswith(UTF16_BOMS):
        raise Invalid("the file is UTF-16 text: save it as CSV UTF-8 (or Latin-1) and retry")


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, *, final: bool) -> bool:
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(line: str) -> str:
    """The candidate delimiter seen most often outside quotes in the header line (`,` on ties)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def records(fh: IO[str], fmt: Format) -> Iterator[Record]:
    """Every record of an open file with the line it starts on (quoted newlines count)."""
    reader = csv.reader(fh, delimiter=fmt.delimiter, strict=True)
    last = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Record(last + 1, [], _csv_error(exc, last + 1, reader.line_num))
        else:
            yield Record(last + 1, cells)
        last = reader.line_num


def _csv_error(exc: csv.Error, start: int, end: int) -> str:
    message = str(exc)
    if "unexpected end of data" in message:
        return f"unterminated quoted cell: lines {start} to {end} (end of file) were not imported"
    if "field larger than field limit" in message:
        return f"a cell is longer than {csv.field_size_limit()} characters"
    return f"malformed CSV ({message}); quote cells that hold quotes or delimiters"


def map_header(first: Record | None) -> Columns:
    """The meaning of each header cell; Invalid for an unusable header."""
    if first is None:
        raise Invalid("the file is empty")
    if first.error:
        raise Invalid(f"line 1 (the header) is not valid CSV: {first.error}")
    columns = Columns(first.cells)
    seen: dict[str, str] = {}
    for index, raw in enumerate(first.cells):
        name = raw.strip()
        if not name:
            continue  # unnamed columns (trailing delimiters from spreadsheets) are ignored
        known = header_field(name)
        _check_unique(seen, known or f"custom:{fold(name)}", name, known)
        if known == "tags":
            columns.tags = index
        elif known:
            columns.fields.append((index, known))
        else:
            _check_custom_name(name)
            columns.custom.append((index, name))
    _check_identifying(columns)
    return columns


def _check_unique(seen: dict[str, str], slot: str, name: str, known: str | None) -> None:
    if slot in seen:
        means = f": both are {known}" if known else ""
        raise Invalid(f"the header has columns {seen[slot]!r} and {name!r}{means}; keep one")
    seen[slot] = name


def _check_custom_name(name: str) -> None:
    if len(name) > CUSTOM_KEY_MAX:
        raise Invalid(f"column name {name[:40]!r}… is longer than {CUSTOM_KEY_MAX} characters")


def _check_identifying(columns: Columns) -> None:
    if any(f in IDENTIFYING for _i, f in columns.fields):
        return
    found = ", ".join(repr(c.strip()) for c in columns.header if c.strip())
    if not found:
        raise Invalid("line 1 must be a header naming the columns; it is empty")
    raise Invalid(
        "line 1 must be a header with at least one of name, email, phone, identifier"
        f" (or nombre, correo, teléfono…); found {found[:300]}"
    )


class ErrorReport:
    """The error CSV: `line`, `error`, then the file's own columns; created at the first error."""

    def __init__(self, path: Path | None, header: Sequence[str], fmt: Format) -> None:
        self.path = path
        self._header = list(header)
        self._fmt = fmt
        self._fh: IO[str] | None = None
        self._writer: Any = None

    def add(self, line: int, error: str, cells: Sequence[str]) -> None:
        """Write one failed row (nowhere without a path: the counts still say how many)."""
        if self.path is None:
            return
        if self._writer is None:
            self._fh = self.path.open(
                "w", encoding=self._fmt.encoding, newline="", errors="replace"
            )
            self._writer = csv.writer(self._fh, delimiter=self._fmt.delimiter)
            self._writer.writerow(["line", "error", *self._header])
        self._writer.writerow([line, error, *cells])

    def close(self) -> str | None:
        """Close the file; its path when any row failed."""
        if self._fh is not None:
            self._fh.close()
        return str(self.path) if self._fh is not None else None


async def prepared(
    stream: Iterator[Record], columns: Columns, region: str, size: int, *, parallel: bool
) -> AsyncGenerator[list[Row], None]:
    """Records made ready in lists of `size`, in order; `parallel` cleans them in worker processes.

    Phone parsing and search text take most of an import's CPU time: in other processes they run
    while this one reads the file and the database writes.
    """
    if not parallel:
        async for rows in _prepared_here(stream, columns, region, size):
            yield rows
        return
    loop = asyncio.get_running_loop()
    workers = max(1, min(MAX_WORKERS, (os.cpu_count() or 2)))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    queue: deque[tuple[list[Record], asyncio.Future[list[Prepared]]]] = deque()
    try:
        for chunk in _chunked(stream, size):
            plain = [(r.line, r.cells, r.error) for r in chunk]
            queue.append((chunk, loop.run_in_executor(pool, prepare_many, plain, columns, region)))
            if len(queue) > workers:  # bounded: memory stays flat however long the file
                yield await _joined(*queue.popleft())
        while queue:
            yield await _joined(*queue.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def _joined(chunk: list[Record], work: asyncio.Future[list[Prepared]]) -> list[Row]:
    done = await work
    return [Row(r.line, r.cells, *state) for r, state in zip(chunk, done, strict=True)]


async def _prepared_here(
    stream: Iterator[Record], columns: Columns, region: str, size: int
) -> AsyncIterator[list[Row]]:
    rows: list[Row] = []
    for record in stream:
        rows.append(prepare(record, columns, region))
        if len(rows) % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let a pending batch write take its next step
        if len(rows) >= size:
            yield rows
            rows = []
    if rows:
        yield rows


def _chunked(stream: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while chunk := list(itertools.islice(stream, size)):
        yield chunk


Prepared = tuple[
    dict[str, Any], list[str], str | None, bool, tuple[str, str | None] | None, list[str]
]


def prepare_many(
    records: list[tuple[int, list[str], str | None]], columns: Columns, region: str
) -> list[Prepared]:
    """`prepare` in a worker process, on plain tuples both ways (quick to pickle)."""
    out: list[Prepared] = []
    for line, cells, error in records:
        row = prepare(Record(line, cells, error), columns, region)
        out.append((row.fields, row.tags, row.error, row.blank, row.text, row.variants))
    return out


def prepare(record: Record, columns: Columns, region: str) -> Row:
    """One record as clean contact fields and tags, blank, or with the error that rejects it."""
    row = Row(record.line, record.cells)
    if record.error:
        row.error = record.error
        return row
    try:
        _fill(row, columns, region)
    except Invalid as exc:
        row.error = str(exc)
    return row


def _fill(row: Row, columns: Columns, region: str) -> None:
    cells = row.cells
    width = len(columns.header)
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        raise Invalid(f"this row has {len(cells)} cells but the header has {width} columns")
    data: dict[str, Any] = {f: cells[i] for i, f in columns.fields if _given(cells, i)}
    custom = {k: cells[i].strip() for i, k in columns.custom if _given(cells, i)}
    names = (
        _tag_names(cells[columns.tags])
        if columns.tags is not None and _given(cells, columns.tags)
        else []
    )
    if not (data or custom or names):
        row.blank = True
        return
    if custom:
        data["custom"] = custom
    row.fields, row.variants = _clean(data, region)
    row.tags = tags.clean(names) if names else []
    if not any(row.fields.get(k) for k in IDENTIFYING):
        raise Invalid("a contact needs at least one of name, email, phone, identifier")
    search = text.search_text(row.fields, variants=row.variants)
    row.text = (search, text.fold_or_none(row.fields.get("name")))


def _clean(data: dict[str, Any], region: str) -> tuple[dict[str, Any], list[str]]:
    """clean_fields, and the phone's search variants from the same parse (the costliest step)."""
    raw = data.get("phone")
    parsed = phones.parse_phone(raw, region) if raw and "\x00" not in raw else None
    if parsed is None:  # no phone, or one clean_fields rejects with its usual message
        fields = clean_fields(data, region)
        return fields, text.phone_variants(fields.get("phone"))
    cleaned = clean_fields({k: v for k, v in data.items() if k != "phone"}, region)
    return {k: parsed[0] if k == "phone" else cleaned[k] for k in data}, parsed[1]


def _given(cells: list[str], index: int) -> bool:
    return index < len(cells) and bool(cells[index].strip())


def _tag_names(cell: str) -> list[str]:
    return [name for name in cell.replace(";", ",").replace("|", ",").split(",") if name.strip()]
