"""JSON encoding for raw SQL parameters and the held-message replay format."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import orjson

from store.types import Inbound


def dump_json(value: Any) -> str:
    """JSON text for a JSON column (both backends take text for raw parameters)."""
    return orjson.dumps(value).decode()


def load_json(value: Any) -> Any:
    """A JSON column value as Python: text on SQLite, text or already decoded on PostgreSQL."""
    if value is None or isinstance(value, dict | list):
        return value
    return orjson.loads(value)


def inbound_to_json(inbound: Inbound) -> str:
    """An Inbound as JSON text, for the held queue."""
    return dump_json(asdict(inbound))


def inbound_from_json(value: Any) -> Inbound:
    """The Inbound stored by `inbound_to_json`."""
    data = dict(load_json(value))
    data["sent_at"] = datetime.fromisoformat(data["sent_at"])
    return Inbound(**data)
