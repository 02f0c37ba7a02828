"""JSON Schemas of the privacy operations: the audit log, erasure (merged into
gateway.api.schemas.SCHEMAS)."""

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
PRIVACY_SCHEMAS: dict[str, Any] = {
    "AuditPage": {
        "type": "object",
        "properties": {
            "lines": {"type": "array", "items": AUDIT_LINE},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["lines", "next_cursor"],
        "additionalProperties": False,
    },
    "EraseRequest": {
        "type": "object",
        "properties": {
            "confirm": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100000,
                "description": "The number of contacts the erasure takes: the person and everyone"
                " merged into them (a 409 names them and says the number).",
            }
        },
        "required": ["confirm"],
        "additionalProperties": False,
    },
    "Erasure": {
        "type": "object",
        "properties": {
            "contact_id": {"type": "integer"},
            "erased": {
                "type": "object",
                "description": "What was deleted, by kind (contacts, identities, messages,"
                " notes, tag_links, merge_records, outbox_events, held_messages, message_parts),"
                " and"
                " audit_lines_scrubbed.",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "exports_holding": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Reset export files on disk that hold one of the person's"
                " handles; purge them with `contactgate exports purge`.",
            },
        },
        "required": ["contact_id", "erased", "exports_holding"],
        "additionalProperties": False,
    },
}
