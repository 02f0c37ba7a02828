"""Text folding: the case- and accent-insensitive form searches, filters and tags compare.

Its own module because both sides use it: the search columns (store.text) and the SQLite
`cg_fold` SQL function every connection registers (store.db).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Case- and accent-insensitive form: `José` and `JOSE` both fold to `jose`."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped.casefold())
