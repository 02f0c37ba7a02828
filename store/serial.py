"""JSON encoding for raw SQL parameters and the held-message replay format."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from store.types import Inbound


def dump_json(value: Any) -> str:
    """JSON text for a JSON column (both backends take text for raw parameters), NUL-free."""
    data = orjson.dumps(value)
    if b"\\u0000" in data:  # PostgreSQL jsonb refuses \u0000; strip NULs from every string
        data = orjson.dumps(_scrub(value))
    return data.decode()


def nul_free(text: str | None) -> str | None:
    """`text` without NUL characters, which PostgreSQL text columns cannot hold."""
    return text.replace("\x00", "") if text and "\x00" in text else text


def short_text(text: str | None, limit: int = 255) -> str | None:
    """A NUL-free name cut to `limit` characters (the width of name columns)."""
    clean = nul_free(text)
    return clean[:limit] if clean else clean


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return nul_free(value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


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


def iso(value: datetime) -> str:
    """A timestamp as ISO 8601 in UTC with a Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """Dataclasses, datetimes and containers as JSON-ready values (the API's and events' shape)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def contact_data(contact: Any) -> dict[str, Any]:
    """A store.contacts.Contact as JSON-ready data, as the API and events show it (with its
    display_name)."""
    return {**plain(contact), "display_name": contact.display_name}
