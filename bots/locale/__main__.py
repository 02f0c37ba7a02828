"""python -m bots.locale: bring the catalogs up to date with the code (make messages)."""

from bots.locale import extract, untranslated, update
from store.setup import LANGUAGES

template = extract()
for code in LANGUAGES:
    catalog = update(code, template)
    todo = untranslated(catalog, template)
    print(f"{code}: {len(catalog)} messages, {len(todo)} to translate")
