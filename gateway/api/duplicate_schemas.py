"""The OpenAPI schemas of /duplicates (store.duplicates), merged into gateway.api.schemas."""

from __future__ import annotations

from typing import Any

from gateway.api.inputs import COUNT_IN, REF
from store.duplicates import WEIGHTS

Schema = dict[str, Any]
CONTACT_IN = {"description": "a contact: its id or a typed identifier", "anyOf": [COUNT_IN, REF]}


def _obj(**props: Schema) -> Schema:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _contact() -> Schema:
    return {"$ref": "#/components/schemas/Contact"}


DUPLICATE_SCHEMAS: dict[str, Schema] = {
    "DuplicatePage": _obj(
        pairs={"type": "array", "items": {"$ref": "#/components/schemas/DuplicatePair"}},
        total={"type": "integer", "minimum": 0, "description": "Pairs in every page."},
        next_cursor={"type": ["string", "null"]},
    ),
    "DuplicatePair": _obj(
        a={**_contact(), "description": "The older contact (lower id): kept by the preview."},
        b=_contact(),
        score={
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "description": "The sum of the reasons' weights ("
            + ", ".join(f"{k} {w}" for k, w in WEIGHTS.items())
            + "), at most 100.",
        },
        reasons={
            "type": "array",
            "minItems": 1,
            "items": _obj(kind={"enum": list(WEIGHTS)}, value={"type": "string"}),
        },
        merge_preview={
            "type": "string",
            "description": "The API path of the merge preview keeping `a`.",
        },
    ),
    "DismissRequest": _obj(a=CONTACT_IN, b=CONTACT_IN),
    "DuplicateDismissed": _obj(
        a={"type": "integer", "description": "The pair as stored: lower id first."},
        b={"type": "integer"},
        already={"type": "boolean", "description": "It had been dismissed before."},
    ),
}
