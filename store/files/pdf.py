"""The PDF layout of an export: a landscape A4 table, header row on every page, page numbers.

Text is set in DejaVu Sans (Latin, Greek, Cyrillic and more), found among the system fonts
(Debian: fonts-dejavu-core); a CJK font found there (Noto CJK, Droid Sans Fallback, WenQuanYi)
is used for characters DejaVu lacks. Characters no loaded font has are printed as `?`. Without
DejaVu the PDF falls back to the core Helvetica font: accents of Western European languages
still show (Windows-1252), other letters lose their accents, the rest become `?`.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from store.serial import dump_json

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
)
FALLBACK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
MARGIN = 10.0  # mm
ROW_H = 5.0
HEAD_FILL = (225, 230, 238)
STRIPE_FILL = (246, 247, 249)
SAMPLE_ROWS = 200  # rows measured to fit column widths
MAX_SHARE = 0.4  # no column wider than this share of the page
ELLIPSIS = "…"
FIT_CACHE = 20_000
YIELD_EVERY = 100  # rows laid out between two returns to the event loop


@dataclass(frozen=True, slots=True)
class Rendered:
    """A finished PDF and the number of table rows in it."""

    data: bytes
    rows: int


class TablePdf(FPDF):
    """A landscape A4 document whose every page starts with the table heading."""

    def __init__(self, title: str, subtitle: str, header: list[str]) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.title_text, self.subtitle_text, self.columns = title, subtitle, header
        self.family, self.printable, self.primary = _load_fonts(self)
        self.widths: list[float] = []
        self._fitted: dict[tuple[str, float], str] = {}
        self.font_pt = 8.0 if len(header) <= 10 else 6.5
        self.alias_nb_pages("")  # off: a contact named "{nb}" must print as it is

    def header(self) -> None:
        """The title on page 1, then the column headings on every page."""
        if self.page_no() == 1:
            self.set_font(self.family, "B", 13)
            self.cell(0, 7, self.printable(self.title_text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_font(self.family, "", 8.5)
            self.cell(
                0, 5, self.fit(self.subtitle_text, self.epw), new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            self.ln(2)
        self.set_font(self.family, "B", self.font_pt)
        self.set_fill_color(*HEAD_FILL)
        for name, width in zip(self.columns, self.widths, strict=True):
            self.cell(width, ROW_H + 1, self.fit(name, width), border="B", fill=True)
        self.ln(ROW_H + 1)
        self.set_font(self.family, "", self.font_pt)

    def footer(self) -> None:
        """`page N` at the bottom right."""
        self.set_y(-MARGIN + 2)
        self.set_font(self.family, "", 7.5)
        self.cell(0, 4, f"page {self.page_no()}", align="R")

    def fit(self, text: str, width: float) -> str:
        """`text` on one line, cut with an ellipsis to fit `width` mm (cell padding included)."""
        text = self.printable(" ".join(text.split()))
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room:
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that fits with the ellipsis
            mid = (low + high + 1) // 2
            if self.get_string_width(text[:mid] + ELLIPSIS) <= room:
                low = mid
            else:
                high = mid - 1
        return text[:low].rstrip() + ELLIPSIS

    def add_row(self, cells: list[str], stripe: bool) -> None:
        """One table row, on a new page when this one is full.

        Drawn with text() and one rectangle: cell() per value is about three times slower,
        but only cell() switches to the fallback font.
        """
        if self.get_y() + ROW_H > self.h - MARGIN - 4:
            self.add_page()
        x, y = self.l_margin, self.get_y()
        if stripe:
            self.set_fill_color(*STRIPE_FILL)
            self.rect(x, y, self.epw, ROW_H, style="F")
        baseline = y + ROW_H / 2 + 0.3 * self.font_size
        for text, width in zip(cells, self.widths, strict=True):
            if text and self.in_main_font(text):
                self.text(x + self.c_margin, baseline, self.fit_cached(text, width))
            elif text:
                self.set_xy(x, y)
                self.cell(width, ROW_H, self.fit_cached(text, width))
            x += width
        self.set_y(y + ROW_H)

    def in_main_font(self, text: str) -> bool:
        """Whether every character of `text` is in the main font (no fallback needed)."""
        return self.primary is None or text.isascii() or all(ord(c) in self.primary for c in text)

    def fit_cached(self, text: str, width: float) -> str:
        """`fit`, remembered: cities, countries and tags repeat down a column."""
        key = (text, width)
        found = self._fitted.get(key)
        if found is None:
            if len(self._fitted) >= FIT_CACHE:
                self._fitted.clear()
            found = self._fitted[key] = self.fit(text, width)
        return found


def headline(workspace: str, total: int, **options: Any) -> tuple[str, str]:
    """The title and the line under it: count, date, and the view, filter and search used."""
    parts = [f"{total} contacts", f"exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    if options.get("view"):
        parts.append(f"view: {options['view']}")
    if options.get("filter"):
        raw = options["filter"]
        parts.append(f"filter: {raw if isinstance(raw, str) else dump_json(raw)}")
    if options.get("q"):
        parts.append(f"search: {options['q']}")
    return f"Contacts - {workspace}", " · ".join(parts)


async def render_table(
    title: str, subtitle: str, header: list[str], rows: AsyncIterator[list[str]]
) -> Rendered:
    """Lay out the rows as a table under a title; the whole document is built in memory."""
    pdf = TablePdf(title, subtitle, header)
    sample = []
    async for row in rows:
        sample.append(row)
        if len(sample) >= SAMPLE_ROWS:
            break
    pdf.widths = fit_widths(pdf, header, sample)
    pdf.add_page()
    written = 0
    for row in sample:
        pdf.add_row(row, written % 2 == 1)
        written += 1
    async for row in rows:
        pdf.add_row(row, written % 2 == 1)
        written += 1
        if written % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # keep webhooks flowing while a big PDF is laid out
    return Rendered(bytes(await asyncio.to_thread(pdf.output)), written)


def fit_widths(pdf: TablePdf, header: list[str], sample: list[list[str]]) -> list[float]:
    """Column widths (mm) filling the page, each as wide as its content where it can be."""
    pdf.set_font(pdf.family, "B", pdf.font_pt)
    wanted = [pdf.get_string_width(pdf.printable(name)) + 2 * pdf.c_margin for name in header]
    pdf.set_font(pdf.family, "", pdf.font_pt)
    for row in sample:
        for i, cell in enumerate(row):
            text = pdf.printable(" ".join(cell.split()))
            wanted[i] = max(wanted[i], pdf.get_string_width(text) + 2 * pdf.c_margin)
    return share(wanted, pdf.epw)


def share(wanted: list[float], total: float) -> list[float]:
    """Split `total` among columns: narrow ones get what they want, the wide ones the rest."""
    wanted = [min(w, total * MAX_SHARE) for w in wanted]
    if sum(wanted) <= total:
        spare = (total - sum(wanted)) / len(wanted)
        return [w + spare for w in wanted]
    widths: list[float | None] = [None] * len(wanted)
    left = total
    while True:
        open_cols = [i for i, w in enumerate(widths) if w is None]
        fair = left / len(open_cols)
        narrow = [i for i in open_cols if wanted[i] <= fair]
        if not narrow:
            break
        for i in narrow:
            widths[i] = wanted[i]
            left -= wanted[i]
    return [fair if w is None else w for w in widths]


def _load_fonts(pdf: FPDF) -> tuple[str, Callable[[str], str], set[int] | None]:
    """Register the fonts; returns the family, the function making text printable, and the
    characters of the main font when a fallback font serves the others (else None)."""
    regular, bold = _dejavu()
    if regular is None:
        return "helvetica", _core_printable, None
    pdf.add_font("dejavu", "", regular)
    pdf.add_font("dejavu", "B", bold or regular)
    primary = set(pdf.fonts["dejavu"].cmap)  # type: ignore[union-attr]
    fallbacks = [path for path in FALLBACK_FONTS if Path(path).is_file()]
    if not fallbacks:
        return "dejavu", lambda text: printable(text, primary), None
    pdf.add_font("fallback", "", fallbacks[0])
    pdf.add_font("fallback", "B", fallbacks[0])
    pdf.set_fallback_fonts(["fallback"])
    covered = primary | set(pdf.fonts["fallback"].cmap)  # type: ignore[union-attr]
    return "dejavu", lambda text: printable(text, covered), primary


def _dejavu() -> tuple[str | None, str | None]:
    for folder in FONT_DIRS:
        regular = Path(folder) / "DejaVuSans.ttf"
        if regular.is_file():
            bold = Path(folder) / "DejaVuSans-Bold.ttf"
            return str(regular), str(bold) if bold.is_file() else None
    return None, None


def printable(text: str, covered: set[int]) -> str:
    """`text` with characters outside `covered` replaced by `?` (no empty boxes in the PDF)."""
    if all(ord(ch) in covered for ch in text):
        return text
    return "".join(ch if ord(ch) in covered else "?" for ch in text)


def _core_printable(text: str) -> str:
    """`text` in Windows-1252 (the core fonts' encoding): accents stripped where needed."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        return "".join(_core_char(ch) for ch in text)


def _core_char(ch: str) -> str:
    try:
        ch.encode("cp1252")
        return ch
    except UnicodeEncodeError:
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        return base if base and base.isascii() else "?"
