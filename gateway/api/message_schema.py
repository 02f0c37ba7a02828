"""The OpenAPI schemas of messages: sending one (text or a WhatsApp template), and a message as
the API shows it, with its delivery status and that status's history."""

from __future__ import annotations

from gateway.api.content_schema import CONTENT, VERSION
from gateway.api.content_schema import VARIANTS as CONTENT_VARIANTS
from gateway.api.filter_schema import NO_NUL, NOT_BLANK
from gateway.api.schema_parts import TIME, Schema, nullable, obj, ref

TEXT: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
WORD: Schema = {"type": "string", "minLength": 1, "maxLength": 512, "pattern": NOT_BLANK}
STATUSES = ["sending", "queued", "sent", "delivered", "read", "failed", "unknown"]

TEMPLATE: Schema = obj(
    ("name", "language"),
    name={**WORD, "description": "An approved template's name."},
    language={**WORD, "description": "Its language code, e.g. es or en_US."},
    parameters={
        "type": "array",
        "items": {"type": "string", "pattern": NO_NUL, "maxLength": 1024},
        "maxItems": 100,
        "description": "The body's {{1}}, {{2}}, ... in order.",
    },
)
MESSAGE_REQUEST: Schema = {
    **obj(
        (),
        text={
            "type": "string",
            "pattern": NOT_BLANK,
            "description": "the message: not blank, at most the provider's limit",
        },
        template=ref("MessageTemplate"),
        channel=nullable(
            "string", pattern=NO_NUL, description="A channel key, kind or name; default: the last."
        ),
        subject=nullable(
            "string", pattern=NO_NUL, description="Email only; default `Re:` their last subject."
        ),
    ),
    "oneOf": [{"required": ["text"]}, {"required": ["template"]}],
    "description": "text is required (or, on WhatsApp, template instead of text; not both)",
}
STATUS_STEP = obj(
    status={"enum": STATUSES},
    at=TIME,
    error=nullable("string", description="Failed: our error code, or the provider's."),
    detail=nullable("string", description="Failed: what went wrong, in the provider's words."),
)
MESSAGE = obj(
    id=INT,
    contact_id=INT,
    channel_key=TEXT,
    channel_kind=TEXT,
    direction={"enum": ["in", "out"]},
    type=TEXT,
    text=nullable("string"),
    media=nullable("array"),
    status={
        "enum": [*STATUSES, None],
        "description": "Outbound: sending until the provider answers; then sent, failed or"
        " unknown (timed out); then as the provider reports it (delivered, read, failed).",
    },
    provider_message_id=nullable("string"),
    error=nullable("string"),
    detail=nullable("string"),
    sent_by=nullable("string"),
    sent_at=TIME,
    received_at=TIME,
    content=ref("MessageContent"),
    reply_to=nullable("string", description="The provider's id of the message it answers."),
    edited_at=nullable("string", format="date-time"),
    history={
        "type": "array",
        "items": VERSION,
        "description": "An edited message's earlier texts, oldest first.",
    },
    status_history={
        "type": "array",
        "items": ref("StatusStep"),
        "description": "Outbound: every status it had, in the order heard.",
    },
)
MESSAGE_SCHEMAS: dict[str, Schema] = {
    "MessageRequest": MESSAGE_REQUEST,
    "MessageTemplate": TEMPLATE,
    "Message": MESSAGE,
    "StatusStep": STATUS_STEP,
    "MessageContent": CONTENT,
    **CONTENT_VARIANTS,
    "MessagePage": obj(
        messages={"type": "array", "items": ref("Message")}, next_cursor=nullable("string")
    ),
}
