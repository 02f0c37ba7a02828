"""python -m bots.locale: bring the catalogs up to date with the code (make messages)."""

from bots.locale import extract, update
from store.setup import LANGUAGES

template = extract()
for code in LANGUAGES:
    catalog = update(code, template)
    todo = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    print(f"{code}: {len(catalog)} messages, {len(todo)} to translate")
