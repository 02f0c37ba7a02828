"""The small builders every hand-written schema module uses (schemas.py, message_schema.py)."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
TIME: Schema = {"type": "string", "format": "date-time"}


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
