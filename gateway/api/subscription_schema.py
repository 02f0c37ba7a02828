"""The OpenAPI schemas of /event-subscriptions (kept apart: gateway/api/schemas.py is full)."""

from __future__ import annotations

from typing import Any

from store.outbox import TYPES
from store.subscriptions import DESCRIPTION_MAX, TEST, URL_MAX

Schema = dict[str, Any]
TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
TYPE = {"enum": list(TYPES)}
# What store.subscriptions.check_url accepts: http(s), a host, printable ASCII without spaces.
URL_IN = {
    "type": "string",
    "maxLength": URL_MAX,
    "pattern": "^https?://[A-Za-z0-9._~-]+(:[0-9]{1,5})?([/?#][!-~]*)?$",
    "description": "an absolute http or https URL, where events are POSTed",
}


def _closed(**props: Schema) -> Schema:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


SUBSCRIPTION_PROPS: dict[str, Schema] = {
    "id": INT,
    "url": {"type": "string"},
    "types": {"type": "array", "items": TYPE, "description": "Empty: every type."},
    "description": {"type": "string"},
    "active": {"type": "boolean", "description": "False once disabled after failing 3 days."},
    "created_at": TIME,
    "failing_since": TIME_OR_NULL,
    "disabled_at": TIME_OR_NULL,
}
DELIVERY = _closed(
    id=INT,
    event_id={"type": "string", "description": "The webhook-id, the same on every retry."},
    type={"enum": [*TYPES, TEST]},
    contact_id={"type": ["integer", "null"]},
    state={"enum": ["pending", "delivered", "failed"]},
    attempts={"type": "integer", "minimum": 0},
    last_status={"type": ["integer", "null"], "description": "The receiver's last HTTP status."},
    last_error={"type": ["string", "null"]},
    created_at=TIME,
    next_try_at=TIME_OR_NULL,
    delivered_at=TIME_OR_NULL,
)
SUBSCRIPTION_SCHEMAS: dict[str, Schema] = {
    "SubscriptionInput": {
        "type": "object",
        "properties": {
            "url": URL_IN,
            "types": {"type": "array", "items": TYPE, "description": "Empty or absent: all."},
            "description": {
                "type": "string",
                "maxLength": DESCRIPTION_MAX,
                "pattern": "^[^\\u0000]*$",
            },
        },
        "required": ["url"],
        "additionalProperties": False,
    },
    "Subscription": _closed(**SUBSCRIPTION_PROPS),
    "SubscriptionCreated": _closed(
        **SUBSCRIPTION_PROPS,
        secret={
            "type": "string",
            "description": "whsec_ + base64: the signing key, shown only in this answer.",
        },
    ),
    "SubscriptionList": _closed(
        subscriptions={"type": "array", "items": _closed(**SUBSCRIPTION_PROPS)}
    ),
    "SecretRotated": _closed(
        secret={"type": "string"},
        previous_valid_until={**TIME, "description": "Until then both secrets sign."},
    ),
    "Delivery": DELIVERY,
    "DeliveryList": _closed(deliveries={"type": "array", "items": DELIVERY}),
}
