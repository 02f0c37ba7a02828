"""The gettext catalogs: every message the bots can say is translated into Spanish and English."""

from __future__ import annotations

import ast
import string
from datetime import UTC, datetime

from bots import i18n
from bots.locale import BOTS, extract, read, untranslated
from store.setup import LANGUAGES

MARKERS = {"_": 1, "N_": 1, "n_": 2}  # call name -> how many leading msgid arguments


def marked_in_source() -> set[str | tuple[str, str]]:
    """Every literal msgid of the bots' code, by parsing it (f-string insides included)."""
    found: set[str | tuple[str, str]] = set()
    for path in BOTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            wanted = MARKERS.get(str(name), 0)
            args = node.args[:wanted]
            if wanted and len(args) == wanted and all(isinstance(a, ast.Constant) for a in args):
                texts = [str(a.value) for a in args]  # type: ignore[attr-defined]
                found.add(texts[0] if wanted == 1 else (texts[0], texts[1]))
    return found


def test_babel_extracts_every_message_the_code_marks() -> None:
    extracted = {m.id if isinstance(m.id, str) else tuple(m.id) for m in extract() if m.id}
    missed = marked_in_source() - extracted
    assert not missed, f"Babel cannot see these (inside an f-string?): {sorted(map(str, missed))}"
    assert len(extracted) > 250


def test_every_message_is_translated_in_every_language() -> None:
    template = extract()
    for code in LANGUAGES:
        assert untranslated(read(code), template) == [], f"{code}: missing, empty or fuzzy"


def test_a_missing_empty_or_fuzzy_message_is_noticed() -> None:
    template, catalog = extract(), read("es")
    plural = next(m for m in catalog if m.id and not isinstance(m.id, str))
    single = next(m for m in catalog if m.id and isinstance(m.id, str))
    gone = next(m for m in catalog if m.id and m.id not in (plural.id, single.id))
    plural.string = (plural.string[0], "")
    single.flags.add("fuzzy")
    del catalog[gone.id]
    found = untranslated(catalog, template)
    assert sorted(map(str, found)) == sorted(map(str, (plural.id, single.id, gone.id)))


def test_placeholders_survive_translation() -> None:
    """A translation keeps its msgid's `{fields}` (a lost one would raise at run time)."""

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for message in read("es"):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        texts = [message.string] if isinstance(message.string, str) else list(message.string)
        for text in texts:
            assert fields(text) == fields(ids[-1]), (message.id, text)


def test_plural_forms_and_locale_formats() -> None:
    es, en = i18n.lang("es", "America/Guayaquil"), i18n.lang("en", "America/Guayaquil")
    assert [es.n_("{n} contact", "{n} contacts", n) for n in (1, 2, 12345)] == [
        "1 contacto", "2 contactos", "12.345 contactos",
    ]  # fmt: skip
    assert [en.n_("{n} contact", "{n} contacts", n) for n in (1, 2, 12345)] == [
        "1 contact", "2 contacts", "12,345 contacts",
    ]  # fmt: skip
    moment = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)  # still the 7th in Guayaquil (UTC-5)
    assert es.date(moment) == "7 de diciembre de 2026"
    assert en.date(moment) == "December 7, 2026"
    assert es.when(moment) == "7 dic 2026 22:30 (America/Guayaquil)"
    assert en.month("2026-12") == "December 2026" and es.month("2026-12") == "diciembre de 2026"
    assert i18n.code_of("es-419") == "es" and i18n.code_of("en-US") == "en"
    assert i18n.code_of("pt-br") is None and i18n.code_of(None) is None
