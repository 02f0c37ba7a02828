"""The API's query and path parameters (OpenAPI 3.1), written by hand like the body schemas."""

from __future__ import annotations

from gateway.api.inputs import COLUMN, REF, SORT_IN, TAG, TEXT_IN
from gateway.api.schemas import COUNT, INT, MAX_AFTER, Schema
from store.query import MAX_LIMIT

WHEN: Schema = {
    "description": "a date (2026-12-01) or a date-time (2026-12-01T09:30:00-05:00)",
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
}
QUERY: dict[str, Schema] = {
    "q": {"description": "Search box text (every word must match).", "schema": TEXT_IN},
    "filter": {
        "description": "A filter in the text syntax (`tag:vip -tag:Borrar last_in<7d`), or a"
        " URL-encoded JSON tree / Chatwoot payload (starting with { or [).",
        "schema": {**TEXT_IN, "format": "contact-filter", "x-contact-filter": "query"},
    },
    "sort": {
        "description": "name, email, phone, company, city, country, created_at,"
        " last_activity_at; prefix - for descending.",
        "schema": {"enum": SORT_IN["enum"][:-1]},
    },
    "cursor": {"description": "next_cursor of the previous page.", "schema": TEXT_IN},
    "limit": {
        "description": "Page size (default 100).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    },
    "count": {"description": "Also return the total.", "schema": {"type": "boolean"}},
    "dry_run": {"description": "Check every row, change nothing.", "schema": {"type": "boolean"}},
    "on_conflict": {
        "description": "A row matched by email or phone with another person's name, or a second"
        " row for a contact the file already wrote: skip (default: counted as a conflict, not"
        " written) or update (write it anyway).",
        "schema": {"enum": ["skip", "update"]},
    },
    "format": {
        "description": "csv (default) or pdf.",
        "schema": {"enum": ["csv", "pdf", "CSV", "PDF"]},
    },
    "columns": {
        "description": "Comma-separated columns (name always first), e.g. email,tags,custom.vip.",
        "schema": {"type": "array", "items": COLUMN},
        "style": "form",
        "explode": False,
    },
    "view": {"description": "A saved view's name: its filter and columns.", "schema": TEXT_IN},
    "mode": {
        "description": "Reset mode to preview (default: the one in force).",
        "schema": {"enum": ["off", "tagged", "all"]},
    },
    "contacts_inactive_days": {
        "description": "Preview this contact rule instead of the one set (days, 1-36500).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 36500},
    },
    "messages_older_than_days": {
        "description": "Preview this message rule instead of the one set (days, 8-36500).",
        "schema": {"type": "integer", "minimum": 8, "maximum": 36500},
    },
    "after": {
        "description": "Only events after this id.",
        "schema": {**COUNT, "maximum": MAX_AFTER},
    },
    "before": {
        "description": "Only deliveries with a smaller id (the next page).",
        "schema": {**COUNT, "maximum": MAX_AFTER},
    },
    "undelivered": {
        "description": "Only events no chat has been sent yet.",
        "schema": {"type": "boolean"},
    },
    "actor": {
        "description": "Audit lines by this actor only (a token name, `telegram:42`, `cli`…).",
        "schema": TEXT_IN,
    },
    "action": {
        "description": "Audit lines of this action (`tag.add`), or a family ending in `.` or"
        " `.*` (`contact.*`).",
        "schema": TEXT_IN,
    },
    "contact": {
        "description": "Audit lines about this contact (id or typed identifier), including the"
        " contacts merged into it.",
        "schema": REF,
    },
    "since": {
        "description": "From this date or date-time (ISO 8601; without an offset, the"
        " workspace's timezone).",
        "schema": WHEN,
    },
    "until": {
        "description": "Before this date or date-time (exclusive; same forms as since).",
        "schema": WHEN,
    },
}
PATH: dict[str, Schema] = {
    "ref": {
        "description": "A contact id, or a typed identifier: `email:…`, `phone:…`,"
        " `identifier:…`, `username:…` (URL-encoded).",
        "schema": REF,
    },
    "other": {"description": "The secondary contact (id or typed identifier).", "schema": REF},
    "name": {"description": "The name (URL-encoded).", "schema": TAG},
    "note_id": {"description": "A note id.", "schema": INT},
    "run_id": {"description": "A reset run id.", "schema": INT},
    "import_id": {"description": "An import job id (from POST /imports).", "schema": INT},
    "sub_id": {"description": "An event subscription id.", "schema": INT},
}
