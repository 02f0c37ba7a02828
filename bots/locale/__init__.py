"""The bots' gettext catalogs (bots/locale/<lang>/LC_MESSAGES/contactgate.po) and their upkeep.

`make messages` (python -m bots.locale) extracts every message of bots/ with Babel and merges it
into each catalog: Spanish entries to translate come in empty (or fuzzy, when Babel guesses
from a similar message), English ones are filled with their msgid. tests/bots/test_catalogs.py
fails until no Spanish entry is missing, empty or fuzzy.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
BOTS = HERE.parent
DOMAIN = "contactgate"
KEYWORDS = {**DEFAULT_KEYWORDS, "n_": (1, 2)}  # `_`, `N_` are Babel's defaults
SOURCE_LANGUAGE = "en"  # msgids are English sentences


def catalog_path(code: str) -> Path:
    """Where a language's catalog lives."""
    return HERE / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every message the bots' code marks (`_`, `n_`, `N_`), as a template catalog."""
    template = Catalog(project="contactgate", domain=DOMAIN)
    found = extract_from_dir(str(BOTS), method_map=[("**.py", "python")], keywords=KEYWORDS)
    for _file, _line, message, comments, context in found:
        template.add(message, None, auto_comments=comments, context=context)
    return template


def read(code: str) -> Catalog:
    """A language's catalog as it is in the repository."""
    with catalog_path(code).open("rb") as po:
        return read_po(po, locale=code, domain=DOMAIN)


def untranslated(catalog: Catalog, template: Catalog) -> list[object]:
    """The template's messages a catalog lacks, or has empty (any plural form) or fuzzy."""
    problems: list[object] = []
    for wanted in template:
        if not wanted.id:
            continue
        found = catalog.get(wanted.id)
        strings = found.string if found is not None else None
        forms = list(strings) if isinstance(strings, tuple | list) else [strings]
        if found is None or found.fuzzy or not all(forms):
            problems.append(wanted.id)
    return problems


def update(code: str, template: Catalog) -> Catalog:
    """Merge the template into a language's catalog (English: msgstr = msgid) and write it."""
    catalog = read(code)
    catalog.update(template, no_fuzzy_matching=code == SOURCE_LANGUAGE)
    if code == SOURCE_LANGUAGE:
        for message in catalog:
            if message.id and not all(message.string or ()):
                message.string = message.id  # (singular, plural) for a plural message
    catalog.obsolete.clear()
    with catalog_path(code).open("wb") as po:
        write_po(po, catalog, sort_output=True, omit_header=False, no_location=True, width=100)
    return catalog
