"""JSON Schemas of the API's bodies and parameters (OpenAPI 3.1 components), written by hand."""

from __future__ import annotations

from typing import Any

from store.contact_fields import CUSTOM_KEY_MAX, FIELD_LIMITS

Schema = dict[str, Any]
SIDES = ("primary", "secondary")


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> Schema:
    """A value of `kind` or null."""
    return {"type": [kind, "null"], **extra}


def obj(required: tuple[str, ...] | None = None, /, **props: Schema) -> Schema:
    """A closed object; every property required unless `required` says otherwise."""
    return {
        "type": "object",
        "properties": props,
        "required": list(props if required is None else required),
        "additionalProperties": False,
    }


TIME = {"type": "string", "format": "date-time"}
TEXT = {"type": "string"}
INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
TEXTS = {"type": "array", "items": TEXT}
RESET_MODE = {"enum": ["off", "tagged", "all"]}
ANY_FILTER: Schema = {
    "description": "A filter: the text syntax (`tag:vip country:EC`), a JSON tree, or"
    " Chatwoot's `payload` list; null for none."
}
CUSTOM_VALUE = {"type": ["string", "number", "boolean", "null"]}
CUSTOM = {
    "type": "object",
    "propertyNames": {"maxLength": CUSTOM_KEY_MAX},
    "additionalProperties": CUSTOM_VALUE,
}

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
    display_name=TEXT,
)
CONTACT_INPUT = obj(
    (),
    **{k: nullable("string", maxLength=n) for k, n in FIELD_LIMITS.items()},
    phone=nullable("string"),
    custom=CUSTOM,
)
PAGE = obj(
    contacts={"type": "array", "items": ref("Contact")},
    next_cursor=nullable("string"),
    total=nullable("integer"),
)
SEARCH = obj(
    (),
    filter=ANY_FILTER,
    q=TEXT,
    sort=nullable("string"),
    cursor=nullable("string"),
    limit={"type": "integer", "minimum": 1, "maximum": 500},
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
    "Error": obj(error=TEXT, detail=TEXT),
    "Contact": CONTACT,
    "ContactInput": CONTACT_INPUT,
    "ContactPage": PAGE,
    "SearchRequest": SEARCH,
    "Deleted": obj(deleted=INT),
    "DeletedName": obj(deleted=TEXT),
    "BulkDeleteRequest": obj(("confirm",), filter=ANY_FILTER, q=TEXT, confirm=COUNT),
    "TagsRequest": obj(tags={**TEXTS, "minItems": 1}),
    "TagList": obj(
        tags={"type": "array", "items": obj(name=TEXT, contacts=COUNT)},
    ),
    "TagDeleted": obj(deleted=TEXT, contacts=COUNT),
    "BulkTagRequest": obj(
        ("action", "tags"),
        action={"enum": ["add", "remove"]},
        tags={**TEXTS, "minItems": 1},
        filter=ANY_FILTER,
        q=TEXT,
    ),
    "BulkTagResult": obj(action={"enum": ["add", "remove"]}, tags=TEXTS, contacts=COUNT),
    "Note": NOTE,
    "NoteList": obj(notes={"type": "array", "items": ref("Note")}),
    "NoteRequest": obj(body={"type": "string", "minLength": 1}),
    "MessageRequest": obj(
        ("text",),
        text={"type": "string", "minLength": 1, "description": "At most the provider's limit."},
        channel=nullable("string", description="A channel key, kind or name; default: the last."),
        subject=nullable("string", description="Email only; default `Re:` their last subject."),
    ),
    "Message": obj(
        id=INT,
        contact_id=INT,
        channel_key=TEXT,
        channel_kind=TEXT,
        direction={"enum": ["in", "out"]},
        type=TEXT,
        text=nullable("string"),
        media=nullable("array"),
        status=nullable("string", description="Outbound: sent, failed or unknown (timed out)."),
        provider_message_id=nullable("string"),
        error=nullable("string"),
        detail=nullable("string"),
        sent_by=nullable("string"),
        sent_at=TIME,
        received_at=TIME,
    ),
    "MessagePage": obj(
        messages={"type": "array", "items": ref("Message")}, next_cursor=nullable("string")
    ),
    "View": VIEW,
    "ViewList": obj(views={"type": "array", "items": ref("View")}),
    "ViewRequest": obj(
        ("name",),
        name={"type": "string", "minLength": 1, "maxLength": 100},
        filter=ANY_FILTER,
        columns=TEXTS,
        sort=nullable("string"),
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
        secondary={"type": ["string", "integer"], "description": "Id or typed identifier."},
        picks={
            "type": "object",
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
    "ChannelUsage": CHANNEL_USAGE,
    "PlanUsage": PLAN,
    "CapRequest": obj(cap=COUNT),
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
    "ResetChange": obj(
        (),
        mode=RESET_MODE,
        time={"type": "string", "description": "HH:MM, local to the workspace."},
    ),
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
    "ImportResult": obj(
        rows=COUNT,
        created=COUNT,
        updated=COUNT,
        skipped=COUNT,
        failed=COUNT,
        conflicts={
            **COUNT,
            "description": "Rows that would overwrite another person: not written unless"
            " on_conflict=update (listed in errors_csv).",
        },
        encoding=TEXT,
        delimiter=TEXT,
        dry_run={"type": "boolean"},
        on_conflict={"enum": ["skip", "update"]},
        errors_csv=nullable("string", description="The error report (CSV), inline."),
        errors_truncated={"type": "boolean"},
    ),
}

QUERY: dict[str, Schema] = {
    "q": {"description": "Search box text (every word must match).", "schema": TEXT},
    "filter": {
        "description": "A filter in the text syntax (`tag:vip -tag:Borrar last_in<7d`), or a"
        " URL-encoded JSON tree / Chatwoot payload (starting with { or [).",
        "schema": TEXT,
    },
    "sort": {
        "description": "name, email, phone, company, city, country, created_at,"
        " last_activity_at; prefix - for descending.",
        "schema": TEXT,
    },
    "cursor": {"description": "next_cursor of the previous page.", "schema": TEXT},
    "limit": {
        "description": "Page size (default 100).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
    },
    "count": {"description": "Also return the total.", "schema": {"type": "boolean"}},
    "dry_run": {"description": "Check every row, change nothing.", "schema": {"type": "boolean"}},
    "on_conflict": {
        "description": "A row matched by email or phone with another person's name, or a second"
        " row for a contact the file already wrote: skip (default: counted as a conflict, not"
        " written) or update (write it anyway).",
        "schema": {"enum": ["skip", "update"]},
    },
    "format": {"description": "csv (default) or pdf.", "schema": {"enum": ["csv", "pdf"]}},
    "columns": {
        "description": "Comma-separated columns (name always first), e.g. email,tags,custom.vip.",
        "schema": TEXT,
    },
    "view": {"description": "A saved view's name: its filter and columns.", "schema": TEXT},
    "mode": {
        "description": "Reset mode to preview (default: the one in force).",
        "schema": {"enum": ["off", "tagged", "all"]},
    },
    "after": {"description": "Only events after this id.", "schema": COUNT},
    "undelivered": {
        "description": "Only events no chat has been sent yet.",
        "schema": {"type": "boolean"},
    },
}
PATH: dict[str, Schema] = {
    "ref": {
        "description": "A contact id, or a typed identifier: `email:…`, `phone:…`,"
        " `identifier:…`, `username:…` (URL-encoded).",
        "schema": TEXT,
    },
    "other": {"description": "The secondary contact (id or typed identifier).", "schema": TEXT},
    "name": {"description": "The name (URL-encoded).", "schema": TEXT},
    "note_id": {"description": "A note id.", "schema": INT},
    "run_id": {"description": "A reset run id.", "schema": INT},
}
