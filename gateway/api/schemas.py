"""JSON Schemas of the API's bodies and parameters (OpenAPI 3.1 components), written by hand."""

from __future__ import annotations

from typing import Any

from store.contact_fields import CUSTOM_KEY_MAX, CUSTOM_VALUE_MAX, FIELD_LIMITS
from store.contacts import MAX_ID, REF_KINDS
from store.filter_chatwoot import OPERATORS, OUR_OPERATORS
from store.merge import FIELDS as MERGE_FIELDS
from store.query import MAX_LIMIT, SORT_ALIASES, SORTS
from store.tags import MAX_TAG
from store.views import VIEW_COLUMNS

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
MAX_AFTER = 2**62
EMPTY: list[Any] = [None, "", {}, []]  # no filter at all
TEXT = {"type": "string"}
# What requests may send: the server refuses NUL anywhere, and blank names.
NO_NUL = "^[^\\u0000]*$"
# Python's str.strip() whitespace, spelled out (ECMA's \s differs: it has U+FEFF, not U+001C-F)
SPACE = (
    "\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680"
    "\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
NOT_BLANK = f"^[^\\u0000]*[^{SPACE}\\u0000][^\\u0000]*$"
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
    "description": f"a column: {', '.join(VIEW_COLUMNS)} or custom.<key>",
    "anyOf": [{"enum": list(VIEW_COLUMNS)}, {"type": "string", "pattern": "^custom\\..+"}],
}
KINDS = "|".join(k for k in REF_KINDS if k != "id")
TIME_OF_DAY = {
    "description": "reset time must be HH:MM on a 24-hour clock, like 23:00 (workspace time)",
    "type": "string",
    "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$",
}
REF = {
    "type": "string",
    "pattern": f"^(#?[0-9]+|id:[0-9]+|@{NOT_BLANK[1:-1]}|({KINDS}):{NOT_BLANK[1:-1]})$",
}
INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
COUNT_IN = {**COUNT, "maximum": MAX_ID}  # counts and ids live in 32-bit columns
EMAIL_IN = {
    "description": "an email address: local@domain.tld, no spaces",
    "type": ["string", "null"],
    "maxLength": FIELD_LIMITS["email"],
    "pattern": f"^[{SPACE}]*([^@ \\u0000]+@[^ \\u0000]*\\.[^ \\u0000]*)?[{SPACE}]*$",
}
TEXTS = {"type": "array", "items": TEXT}
RESET_MODE = {"enum": ["off", "tagged", "all"]}
SCALAR = {"anyOf": [{"type": "string", "pattern": NOT_BLANK}, {"type": ["number", "boolean"]}]}
PRESENCE = ["present", "absent", *(k for k, v in OPERATORS.items() if v in ("present", "absent"))]
PAYLOAD_ITEM = {
    "type": "object",
    "properties": {
        "attribute_key": {"type": "string", "pattern": NOT_BLANK},
        "filter_operator": {"enum": sorted({*OPERATORS, *OUR_OPERATORS})},
        "values": {"anyOf": [SCALAR, {"type": "array", "items": SCALAR}]},
        "query_operator": {"enum": ["and", "or", "AND", "OR", None]},
        "custom_attribute_type": {},
        "attribute_model": {},
    },
    "required": ["attribute_key", "filter_operator"],
    "additionalProperties": False,
    "if": {"properties": {"filter_operator": {"enum": PRESENCE}}},
    "else": {
        "required": ["values"],
        "properties": {
            "values": {
                "not": {"type": "null"},
                "items": {"not": {"type": "null"}},
                "minItems": 1,
            }
        },
    },
}
ANY_FILTER: Schema = {
    "description": "A filter: the text syntax (`tag:vip country:EC`), a JSON tree, or"
    " Chatwoot's `payload` list (of objects); null for none.",
    "anyOf": [
        {"type": ["null", "object"]},
        {**TEXT_IN, "format": "contact-filter"},
        {"type": "array", "items": PAYLOAD_ITEM},
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
    "Error": obj(error=TEXT, detail=TEXT),
    "Contact": CONTACT,
    "ContactInput": CONTACT_INPUT,
    "ContactPatch": CONTACT_PATCH,
    "ContactPage": PAGE,
    "SearchRequest": SEARCH,
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
    "MessageRequest": obj(
        ("text",),
        text={
            "type": "string",
            "pattern": NOT_BLANK,
            "description": "the message: not blank, at most the provider's limit",
        },
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
        tags=COUNT,
    ),
    "FieldDiff": obj(
        field=TEXT, primary=CUSTOM_VALUE, secondary=CUSTOM_VALUE, keeps={"enum": list(SIDES)}
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
        },
    ),
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
    "ImportResult": obj(
        rows=COUNT,
        created=COUNT,
        updated=COUNT,
        skipped=COUNT,
        failed=COUNT,
        encoding=TEXT,
        delimiter=TEXT,
        dry_run={"type": "boolean"},
        errors_csv=nullable("string", description="The error report (CSV), inline."),
        errors_truncated={"type": "boolean"},
    ),
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
    "after": {
        "description": "Only events after this id.",
        "schema": {**COUNT, "maximum": MAX_AFTER},
    },
    "undelivered": {
        "description": "Only events no chat has been sent yet.",
        "schema": {"type": "boolean"},
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
}
