"""JSON Schemas of the audit log's answers (merged into gateway.api.schemas.SCHEMAS)."""

from __future__ import annotations

from typing import Any

AUDIT_LINE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "actor": {"type": "string", "description": "Token name, slack:T:U, telegram:ID, cli…"},
        "surface": {"enum": ["api", "cli", "slack", "telegram", "system"]},
        "action": {"type": "string", "description": "contact.update, tag.add, reset.done…"},
        "target": {"type": ["string", "null"], "description": "#id for a contact, or a name."},
        "detail": {"type": ["object", "null"]},
    },
    "required": ["id", "at", "actor", "surface", "action", "target", "detail"],
    "additionalProperties": False,
}
AUDIT_SCHEMAS: dict[str, Any] = {
    "AuditPage": {
        "type": "object",
        "properties": {
            "lines": {"type": "array", "items": AUDIT_LINE},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["lines", "next_cursor"],
        "additionalProperties": False,
    },
}
