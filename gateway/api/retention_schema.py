"""JSON Schemas of the retention rules (merged into gateway.api.schemas.SCHEMAS)."""

from __future__ import annotations

from typing import Any

from store.reset.rules import MAX_DAYS, MIN_MESSAGE_DAYS

Schema = dict[str, Any]
TIME: Schema = {"type": "string", "format": "date-time"}
COUNT: Schema = {"type": "integer", "minimum": 0}
CONTACT_DAYS: Schema = {
    "type": ["integer", "null"],
    "minimum": 1,
    "maximum": MAX_DAYS,
    "description": "Delete contacts with no activity for this many days (null: off).",
}
MESSAGE_DAYS: Schema = {
    "type": ["integer", "null"],
    "minimum": MIN_MESSAGE_DAYS,
    "maximum": MAX_DAYS,
    "description": "Delete messages older than this many days (null: off). At least"
    f" {MIN_MESSAGE_DAYS}: a message row is the dedupe mark of provider retries (7 days).",
}


def _obj(required: list[str] | None = None, /, **props: Schema) -> Schema:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": False,
    }


def _maybe(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


RUN = _obj(
    id={"type": "integer"},
    period={"type": "string", "description": "The workspace's local date (YYYY-MM-DD)."},
    mode={"type": "string", "description": "The rules it ran with: `contacts:30 messages:90`."},
    trigger={"enum": ["schedule", "manual"]},
    state={"enum": ["started", "exported", "done", "failed"]},
    enabled_by=_maybe("string"),
    requested_by=_maybe("string"),
    counts={"type": "object", "additionalProperties": COUNT},
    export_path=_maybe("string"),
    started_at=TIME,
    finished_at=_maybe("string", format="date-time"),
    error=_maybe("string"),
)
RETENTION_SCHEMAS: dict[str, Schema] = {
    "Retention": _obj(
        workspace={"type": "string"},
        contacts_inactive_days=CONTACT_DAYS,
        messages_older_than_days=MESSAGE_DAYS,
        local_time={"type": "string", "description": "The daily run's local time (the reset's)."},
        timezone={"type": "string"},
        next_run_at=_maybe("string", format="date-time"),
        next_run_local=_maybe("string"),
        set_by=_maybe("string"),
        set_at=_maybe("string", format="date-time"),
        message={"type": "string"},
    ),
    "RetentionChange": {
        **_obj([], contacts_inactive_days=CONTACT_DAYS, messages_older_than_days=MESSAGE_DAYS),
        "minProperties": 1,
        "description": "Either rule or both; a rule left out keeps its value.",
    },
    "RetentionPreview": _obj(
        workspace={"type": "string"},
        day={"type": "string"},
        contacts_inactive_days=CONTACT_DAYS,
        messages_older_than_days=MESSAGE_DAYS,
        contacts_cutoff=_maybe("string", format="date-time"),
        messages_cutoff=_maybe("string", format="date-time"),
        contacts=COUNT,
        identities=COUNT,
        messages=COUNT,
        notes=COUNT,
        old_messages=COUNT,
        sample={
            "type": "array",
            "items": _obj(
                id={"type": "integer"},
                name={"type": "string"},
                email={"type": "string"},
                phone={"type": "string"},
            ),
        },
    ),
    "RetentionRun": RUN,
    "RetentionRunList": _obj(runs={"type": "array", "items": RUN}),
}
