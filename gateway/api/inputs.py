"""JSON Schemas of what requests may send: the server's own input rules, spelled for OpenAPI
(and validated by them, gateway/api/validate.py)."""

from __future__ import annotations

from typing import Any

from gateway.api.filter_schema import NO_NUL, NOT_BLANK, OBJECT_FILTER, PAYLOAD, SPACE
from store import refs
from store.contact_fields import CUSTOM_KEY_MAX, CUSTOM_VALUE_MAX, FIELD_LIMITS
from store.contacts import MAX_ID
from store.query import SORT_ALIASES, SORTS
from store.tags import MAX_TAG
from store.views import VIEW_COLUMNS

Schema = dict[str, Any]

# What requests may send: the server refuses NUL anywhere, and blank names (NO_NUL, SPACE and
# NOT_BLANK live with the filter schemas, which need them first).
TEXT_IN = {"type": "string", "pattern": NO_NUL}
TAG = {
    "description": f"a tag name: 1-{MAX_TAG} characters, not blank",
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_TAG,
    "pattern": NOT_BLANK,
}
TAGS_IN = {"type": "array", "items": TAG, "minItems": 1, "description": "name at least one tag"}
VIEW_NAME = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NOT_BLANK}
SORT_NAMES = [*SORTS, *SORT_ALIASES]
SORT_IN = {"enum": [*SORT_NAMES, *(f"-{n}" for n in SORT_NAMES), None]}
COLUMN = {
    "description": f"a column: {', '.join(VIEW_COLUMNS)}, custom.<key> (a custom field) or"
    " channel.<kind or key> (the contact's handles there: channel.whatsapp)",
    "anyOf": [
        {"enum": list(VIEW_COLUMNS)},
        {"type": "string", "pattern": "^(custom|channel)\\.[^,]+$"},
    ],
}
KINDS = "|".join(k for k in refs.KINDS if k != "id")
TIME_OF_DAY = {
    "description": "reset time must be HH:MM on a 24-hour clock, like 23:00 (workspace time)",
    "type": "string",
    "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$",
}
REF = {
    "type": "string",
    "pattern": f"^(#?[0-9]+|id:[0-9]+|@{NOT_BLANK[1:-1]}|({KINDS}):{NOT_BLANK[1:-1]})$",
}

COUNT_IN = {"type": "integer", "minimum": 0, "maximum": MAX_ID}  # 32-bit columns
EMAIL_IN = {
    "description": "an email address: local@domain.tld, no spaces",
    "type": ["string", "null"],
    "maxLength": FIELD_LIMITS["email"],
    "pattern": f"^[{SPACE}]*([^@ \\u0000]+@[^ \\u0000]*\\.[^ \\u0000]*)?[{SPACE}]*$",
}
ANY_FILTER: Schema = {
    "description": "A filter: the text syntax (`tag:vip country:EC`), a JSON tree, or"
    " Chatwoot's `payload` list (of objects); null for none.",
    "anyOf": [
        {"type": "null"},
        OBJECT_FILTER,
        {**TEXT_IN, "format": "contact-filter"},
        PAYLOAD,
    ],
    "x-contact-filter": "body",
}
CUSTOM_VALUE = {"type": ["string", "number", "boolean", "null"]}
CUSTOM_VALUE_IN = {
    "anyOf": [{"type": ["number", "boolean", "null"]}, {**TEXT_IN, "maxLength": CUSTOM_VALUE_MAX}]
}
CUSTOM = {
    "type": "object",
    "propertyNames": {"maxLength": CUSTOM_KEY_MAX, "pattern": NOT_BLANK},
    "additionalProperties": CUSTOM_VALUE_IN,
}
