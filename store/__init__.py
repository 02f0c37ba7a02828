"""Domain operations on the database (see store/db.py); importing it fixes tortoise-orm."""

from store import tortoise_fixes as _tortoise_fixes  # noqa: F401
