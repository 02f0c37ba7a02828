"""JSON Schemas of the API's bodies and parameters (OpenAPI 3.1 components), written by hand."""

from __future__ import annotations

from typing import Any

from gateway.api.duplicate_schemas import DUPLICATE_SCHEMAS
from gateway.api.filter_schema import FILTER_NODE
from gateway.api.inputs import (
    ANY_FILTER,
    COLUMN,
    COUNT_IN,
    CUSTOM,
    CUSTOM_VALUE,
    EMAIL_IN,
    NO_NUL,
    NOT_BLANK,
    REF,
    SORT_IN,
    TAGS_IN,
    TEXT_IN,
    TIME_OF_DAY,
    VIEW_NAME,
)
from gateway.api.message_schema import MESSAGE_SCHEMAS
from gateway.api.privacy_schema import PRIVACY_SCHEMAS
from gateway.api.retention_schema import RETENTION_SCHEMAS
from gateway.api.schema_parts import TIME, Schema, nullable, obj, ref
from gateway.api.subscription_schema import SUBSCRIPTION_SCHEMAS
from store.contact_fields import FIELD_LIMITS
from store.merge import FIELDS as MERGE_FIELDS
from store.query import MAX_LIMIT

SIDES = ("primary", "secondary")


MAX_AFTER = 2**62
EMPTY: list[Any] = [None, "", {}, []]  # no filter at all
TEXT = {"type": "string"}
INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
TEXTS = {"type": "array", "items": TEXT}
RESET_MODE = {"enum": ["off", "tagged", "all"]}
CONTACT = obj(
    id=INT,
    workspace_id=INT,
    **{k: nullable("string") for k in ("name", "email", "phone", "identifier", "company")},
    **{k: nullable("string") for k in ("city", "country", "language", "avatar_url")},
    custom={"type": "object"},
    assignee=nullable("string"),
    source=TEXT,
    last_channel_id=nullable("integer"),
    created_at=TIME,
    updated_at=TIME,
    last_activity_at=nullable("string", format="date-time"),
    last_incoming_at=nullable("string", format="date-time"),
    tags=TEXTS,
    channels=TEXTS,
    opted_out={
        "type": "boolean",
        "description": "One of its identities sent an opt-out word (STOP, BAJA…); see each"
        " identity's opted_out_at.",
    },
    display_name=TEXT,
)
CONTACT_PATCH = {
    **obj(
        (),
        **{
            k: EMAIL_IN if k == "email" else nullable("string", maxLength=n, pattern=NO_NUL)
            for k, n in FIELD_LIMITS.items()
        },
        phone=nullable(
            "string",
            pattern=NO_NUL,
            format="phone",
            description="a phone number: +593991234567, or national in the workspace's region",
        ),
        custom=CUSTOM,
    ),
    "minProperties": 1,
    "description": "nothing to change: send at least one field",
}
NAMES_ONE = ("name", "email", "phone", "identifier")
CONTACT_INPUT = {
    **CONTACT_PATCH,
    "description": "At least one of name, email, phone or identifier (not blank).",
    "anyOf": [
        {"required": [k], "properties": {k: {"type": "string", "pattern": NOT_BLANK}}}
        for k in NAMES_ONE
    ],
}
PAGE = obj(
    contacts={"type": "array", "items": ref("Contact")},
    next_cursor=nullable("string"),
    total=nullable("integer"),
)
SEARCH = obj(
    (),
    filter=ANY_FILTER,
    q=TEXT_IN,
    sort=SORT_IN,
    cursor=nullable("string", pattern=NO_NUL),
    limit={"type": ["integer", "null"], "minimum": 1, "maximum": MAX_LIMIT},
    count={"type": "boolean"},
)
NOTE = obj(id=INT, contact_id=INT, author=TEXT, body=TEXT, created_at=TIME)
VIEW = obj(name=TEXT, filter=ANY_FILTER, columns=TEXTS, sort=TEXT, created_by=TEXT, created_at=TIME)
CHANNEL_USAGE = obj(channel_key=TEXT, kind=TEXT, carried_over=COUNT, created=COUNT)
PLAN = obj(
    workspace=TEXT,
    period=TEXT,
    cap=COUNT,
    used=COUNT,
    carried_over=COUNT,
    held_messages=COUNT,
    held_senders=COUNT,
    days_to_next_period={"type": "number"},
    channels={"type": "array", "items": ref("ChannelUsage")},
    admitted_now=COUNT,
)

SCHEMAS: dict[str, Schema] = {
    **PRIVACY_SCHEMAS,
    **RETENTION_SCHEMAS,
    "Error": obj(error=TEXT, detail=TEXT),
    "Contact": CONTACT,
    "ContactDetail": {
        **CONTACT,
        "properties": {
            **CONTACT["properties"],
            "identities": {"type": "array", "items": ref("Identity")},
        },
        "required": [*CONTACT["required"], "identities"],
    },
    "Identity": obj(
        channel_kind=TEXT,
        channel_key=TEXT,
        external_id=TEXT,
        scoped_id=nullable("string", description="A second stable id (WhatsApp BSUID)."),
        username=nullable("string"),
        display_name=nullable("string"),
        phone=nullable("string", description="The phone the channel vouched for."),
        email=nullable("string", description="The email the channel vouched for."),
        first_seen=TIME,
        last_seen=nullable(
            "string", format="date-time", description="Its newest message; null if none."
        ),
        opted_out_at=nullable(
            "string", format="date-time", description="When it sent an opt-out word; null: not."
        ),
    ),
    "ContactInput": CONTACT_INPUT,
    "ContactPatch": CONTACT_PATCH,
    "ContactPage": PAGE,
    "SearchRequest": SEARCH,
    "FilterNode": FILTER_NODE,
    "Deleted": obj(deleted=INT),
    "DeletedName": obj(deleted=TEXT),
    "BulkDeleteRequest": {
        **obj(("confirm",), filter=ANY_FILTER, q=TEXT_IN, confirm=COUNT_IN),
        "description": "bulk delete needs a filter or a search; to delete everything use reset",
        "anyOf": [
            {"required": ["q"], "properties": {"q": {"pattern": NOT_BLANK}}},
            {"required": ["filter"], "properties": {"filter": {"not": {"enum": EMPTY}}}},
        ],
    },
    "TagsRequest": obj(tags=TAGS_IN),
    "TagList": obj(
        tags={"type": "array", "items": obj(name=TEXT, contacts=COUNT)},
    ),
    "TagDeleted": obj(deleted=TEXT, contacts=COUNT),
    "BulkTagRequest": obj(
        ("action", "tags"),
        action={"enum": ["add", "remove"]},
        tags=TAGS_IN,
        filter=ANY_FILTER,
        q=TEXT_IN,
    ),
    "BulkTagResult": obj(action={"enum": ["add", "remove"]}, tags=TEXTS, contacts=COUNT),
    "Note": NOTE,
    "NoteList": obj(notes={"type": "array", "items": ref("Note")}),
    "NoteRequest": obj(
        body={"type": "string", "pattern": NOT_BLANK, "description": "a note needs some text"}
    ),
    **MESSAGE_SCHEMAS,
    "View": VIEW,
    "ViewList": obj(views={"type": "array", "items": ref("View")}),
    "ViewRequest": obj(
        ("name",),
        name=VIEW_NAME,
        filter=ANY_FILTER,
        columns={"type": ["array", "null"], "items": COLUMN},
        sort=SORT_IN,
        replace={"type": "boolean"},
    ),
    "MergePreview": obj(
        primary=ref("Contact"),
        secondary=ref("Contact"),
        diffs={"type": "array", "items": ref("FieldDiff")},
        identities=COUNT,
        messages=COUNT,
        notes=COUNT,
        tags={**TEXTS, "description": "The secondary's tags new to the primary: they move."},
        reset_tag=nullable(
            "string",
            description="The workspace's reset tag when the secondary has it and the primary"
            " does not: it moves only with `move_reset_tag`.",
        ),
    ),
    "FieldDiff": obj(
        field=TEXT,
        primary=CUSTOM_VALUE,
        secondary=CUSTOM_VALUE,
        keeps={"enum": list(SIDES)},
        pickable={
            "type": "boolean",
            "description": "Both sides hold a value; a pick never blanks one.",
        },
    ),
    "MergeRequest": obj(
        ("secondary",),
        secondary={
            "description": "the other contact: its id or a typed identifier",
            "anyOf": [COUNT_IN, REF],
        },
        picks={
            "type": "object",
            "propertyNames": {
                "description": f"a field ({', '.join(MERGE_FIELDS)}) or custom.<key>",
                "anyOf": [{"enum": list(MERGE_FIELDS)}, {"pattern": "^custom\\..+"}],
            },
            "additionalProperties": {"enum": list(SIDES)},
            "description": "Field (or custom.<key>) to the side that wins; the primary wins"
            " by default. Picking an empty value over a present one is refused.",
        },
        move_reset_tag={
            "type": "boolean",
            "default": False,
            "description": "Also move the secondary's reset tag (e.g. Borrar) onto the"
            " primary. Without it the primary keeps its own reset-tag state.",
        },
    ),
    "MergeResult": {
        **CONTACT,
        "properties": {
            **CONTACT["properties"],
            "moved_tags": {**TEXTS, "description": "The tags the merge put on the primary."},
            "reset_tag_stayed": nullable(
                "string",
                description="The reset tag, when the secondary had it, the primary did not, and"
                " it was not moved.",
            ),
        },
        "required": [*CONTACT["required"], "moved_tags", "reset_tag_stayed"],
    },
    "Unmerged": obj(primary=ref("Contact"), secondary=ref("Contact")),
    "MergeList": obj(
        merges={
            "type": "array",
            "items": obj(
                id=INT,
                primary_id=INT,
                secondary_id=INT,
                secondary_name=TEXT,
                merged_by=TEXT,
                merged_at=TIME,
            ),
        }
    ),
    **DUPLICATE_SCHEMAS,
    "ChannelUsage": CHANNEL_USAGE,
    "PlanUsage": PLAN,
    "CapRequest": obj(cap=COUNT_IN),
    "ResetStatus": obj(
        workspace=TEXT,
        mode=RESET_MODE,
        period=TEXT,
        pending_mode=nullable("string"),
        pending_from=nullable("string"),
        tag=TEXT,
        local_time=TEXT,
        timezone=TEXT,
        next_run_at=nullable("string", format="date-time"),
        next_run_local=nullable("string"),
        last_change_day=TEXT,
        set_by=nullable("string"),
        set_at=nullable("string", format="date-time"),
        runs={"type": "array", "items": ref("ResetRun")},
        message=TEXT,
    ),
    "ResetRun": obj(
        id=INT,
        period=TEXT,
        mode=RESET_MODE,
        trigger={"enum": ["schedule", "manual"]},
        state={"enum": ["started", "exported", "done", "failed"]},
        enabled_by=nullable("string"),
        requested_by=nullable("string"),
        counts={"type": "object", "additionalProperties": COUNT},
        export_path=nullable("string"),
        started_at=TIME,
        finished_at=nullable("string", format="date-time"),
        error=nullable("string"),
    ),
    "ResetRunList": obj(runs={"type": "array", "items": ref("ResetRun")}),
    "ResetChange": {
        "description": "send mode (off, tagged or all), time (HH:MM), or both",
        **obj(
            (),
            mode=RESET_MODE,
            time=TIME_OF_DAY,
        ),
        "minProperties": 1,
    },
    "RunRequest": obj((), mode={"enum": ["all", "tagged"]}),
    "ResetPreview": obj(
        workspace=TEXT,
        mode=RESET_MODE,
        period=TEXT,
        contacts=COUNT,
        identities=COUNT,
        messages=COUNT,
        notes=COUNT,
        sample={
            "type": "array",
            "items": obj(id=INT, name=TEXT, email=TEXT, phone=TEXT),
        },
    ),
    "EventList": obj(
        events={
            "type": "array",
            "items": obj(
                id=INT,
                kind=TEXT,
                key=TEXT,
                payload={"type": "object"},
                created_at=TIME,
                delivered_at=nullable("string", format="date-time"),
            ),
        }
    ),
    "ImportJob": obj(
        id=INT,
        state={
            "enum": ["running", "done", "failed"],
            "description": "running, then done (result and errors_csv set) or failed (error"
            " says why; rows written before stay).",
        },
        dry_run={"type": "boolean"},
        on_conflict={"enum": ["skip", "update"]},
        rows_done=COUNT,
        rows_total={
            **COUNT,
            "description": "The file's data lines (about: a quoted cell may span lines).",
        },
        result={
            "oneOf": [
                {"type": "null"},
                obj(
                    rows=COUNT,
                    created=COUNT,
                    updated=COUNT,
                    skipped=COUNT,
                    failed=COUNT,
                    conflicts={
                        **COUNT,
                        "description": "Rows that would overwrite another person: not written"
                        " unless on_conflict=update (listed in errors_csv).",
                    },
                    encoding=TEXT,
                    delimiter=TEXT,
                ),
            ]
        },
        errors_csv=nullable("string", description="The error report (CSV), inline."),
        errors_truncated={"type": "boolean"},
        error=nullable("string"),
        created_by=TEXT,
        created_at=TIME,
        finished_at=nullable("string", format="date-time"),
    ),
}
SCHEMAS |= SUBSCRIPTION_SCHEMAS
