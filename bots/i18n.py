"""The bots' languages: gettext catalogs (Babel) per language, and locale-aware numbers and times.

Source strings are English msgids written where they are used (`ctx._("Tagged #{id}")`): the
code reads as it did, `pybabel extract` finds them, and a missing Spanish entry shows up in the
catalog test instead of as a blank reply. Catalogs live in bots/locale/<lang>/LC_MESSAGES/
contactgate.po and are compiled in memory at first use (no .mo files to keep in step).
Placeholders are `{name}` fields filled by `str.format`, plural forms go through `ngettext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from store.setup import LANGUAGES

DOMAIN = "contactgate"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "es"  # the product's default, as a workspace's `language`
__all__ = ["DEFAULT", "LANGUAGES", "N_", "Lang", "code_of", "lang"]


def N_(message: str) -> str:
    """Mark a string for the catalogs without translating it here (command briefs, usages)."""
    return message


def code_of(tag: str | None) -> str | None:
    """Our language for an IETF tag or locale (`es-419`, `es_LA`, `en-US`), None when we have
    none for it (`pt-br`) or none was given."""
    if not tag:
        return None
    code = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if code in LANGUAGES else None


@cache
def translations(code: str) -> Translations:
    """The compiled catalog of a language (read from its .po file once)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True, slots=True)
class Lang:
    """One person's language and the workspace's timezone: texts, numbers and times for them."""

    code: str = DEFAULT
    timezone: str = "UTC"

    def _(self, message: str, **fields: object) -> str:
        """The message in this language, `{fields}` filled in (format counts with `number`;
        ids and years are not counts)."""
        text = translations(self.code).gettext(message)
        return text.format(**fields) if fields else text

    def n_(self, singular: str, plural: str, n: float, **fields: object) -> str:
        """The singular or plural form for `n` (the language's plural rule); `{n}` is `n`."""
        chooses = int(n) if float(n).is_integer() else 2  # 1.5 days: the plural
        text = translations(self.code).ngettext(singular, plural, chooses)
        return text.format(**{**fields, "n": self.number(n)})

    def number(self, n: int | float) -> str:
        """`1,234` in English, `1234`/`12.345` in Spanish (CLDR's grouping for the locale)."""
        return format_decimal(n, locale=self.code)

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def date(self, day: date | datetime) -> str:
        """`7 de diciembre de 2026` / `December 7, 2026` (a time: its day in the workspace)."""
        if isinstance(day, datetime):
            day = day.astimezone(self.zone).date()
        return format_date(day, "long", locale=self.code)

    def when(self, moment: datetime | None) -> str:
        """A time in the workspace's timezone, `7 dic 2026, 10:07 (America/Guayaquil)`, or
        `never`."""
        if moment is None:
            return self._("never")
        day = format_skeleton("yMMMd", moment, tzinfo=self.zone, locale=self.code)
        return f"{day} {format_time(moment, 'HH:mm', tzinfo=self.zone)} ({self.timezone})"

    def month(self, period: str) -> str:
        """A period `2026-12` as `diciembre de 2026` / `December 2026`."""
        year, month = (int(part) for part in period.split("-"))
        return format_skeleton("yMMMM", datetime(year, month, 1), locale=self.code)


def lang(code: str | None, timezone: str = "UTC") -> Lang:
    """The Lang of a language code (the default for an unknown one)."""
    return Lang(code if code in LANGUAGES else DEFAULT, timezone)
