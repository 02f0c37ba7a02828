"""Requests checked against the OpenAPI schemas: the document and the server agree by
construction, because the served schemas are the ones that validate."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import jsonschema_rs
import orjson
from aiohttp import web

from gateway.api.parameters import QUERY
from gateway.api.schemas import SCHEMAS, Schema
from store.errors import Invalid
from store.filters import parse_filter
from store.phones import to_e164

_INT = re.compile(r"-?[0-9]{1,19}")
_BOOL = {"true": True, "false": False}
# (schema name, the caller's phone region), set by the route for read_json
BODY_SCHEMA: web.RequestKey[tuple[str, str]] = web.RequestKey("api_body_schema", tuple)


class BadParameter(Exception):
    """A query parameter of the wrong type (an integer or boolean that is not one): a 400."""


def only(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse (422) keys outside `allowed`."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown)}; expected {', '.join(allowed)}")


class ContactFilter:
    """The `x-contact-filter` keyword: the value is a filter the filter grammar accepts (in a
    query parameter, JSON trees arrive as text starting with { or [)."""

    def __init__(self, _parent: Schema, form: str, _path: Any) -> None:
        self.form = form

    def validate(self, instance: Any) -> None:
        value = instance
        if self.form == "query" and isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON: {exc}") from exc
        parse_filter(value)


def check_body(name: str, data: Any, region: str) -> None:
    """Refuse (422) a JSON body that breaks component schema `name`; the detail says where."""
    schema = SCHEMAS[name]
    if schema.get("additionalProperties") is False and isinstance(data, Mapping):
        only(data, tuple(schema["properties"]))
    _check(f"#/components/schemas/{name}", data, "", region)


def check_query(query: Mapping[str, str], names: tuple[str, ...]) -> None:
    """Refuse the declared query parameters that break their schema: 400 for a wrong type,
    422 for a value out of its range, enum or pattern. Absent parameters take defaults."""
    for name in names:
        raw = query.get(name)
        if raw is not None:
            schema = QUERY[name]["schema"]
            _check(f"#/x-query/{name}", typed(name, raw, schema), name, "US")


def typed(name: str, raw: str, schema: Schema) -> Any:
    """A query value as its schema's type (form style: arrays comma-separated)."""
    kinds = schema.get("type", "string")
    if "\x00" in raw:
        raise BadParameter(f"query parameter {name} must not contain NUL characters")
    if schema.get("x-contact-filter") == "query" and raw.strip()[:1] in ("{", "["):
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadParameter(f"query parameter filter is not valid JSON: {exc}") from exc
    if kinds == "integer":
        if not _INT.fullmatch(raw):
            raise BadParameter(f"query parameter {name} must be an integer, not {raw[:40]!r}")
        return int(raw)
    if kinds == "boolean":
        if raw not in _BOOL:
            raise BadParameter(f"query parameter {name} must be true or false, not {raw[:40]!r}")
        return _BOOL[raw]
    if kinds == "array":
        return raw.split(",") if raw else []
    return raw


def _check(pointer: str, value: Any, base: str, region: str) -> None:
    """Invalid for the first error; its detail is the failing schema's description when it
    has one (an `anyOf` or a pattern says more in words than in its own terms). The filter
    grammar's own error, when there is one, goes first: it names the token and why."""
    errors = list(_validator(pointer, region).iter_errors(value))
    errors.sort(key=lambda e: type(e.kind).__name__ != "Custom")
    for error in errors:
        steps = (f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path)
        where = (base + "".join(steps)).lstrip(".")
        node: Any = ROOT
        for step in error.schema_path[:-1]:
            node = node[step] if isinstance(node, dict) or isinstance(step, int) else {}
        kind = type(error.kind).__name__
        if kind == "Required":
            missing = error.message.split('"')[1]
            raise Invalid(f"{(where + '.' if where else '') + missing} is required")
        if kind == "Type" and isinstance(node, dict) and "type" in node:
            kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
            raise Invalid(f"{where or 'the body'} must be {' or '.join(TYPES[k] for k in kinds)}")
        if kind in ("Minimum", "Maximum") and "minimum" in node and "maximum" in node:
            raise Invalid(f"{where} must be between {node['minimum']} and {node['maximum']}")
        if kind == "MaxLength":
            raise Invalid(f"{where} is longer than {node['maxLength']} characters")
        if kind == "Enum":
            choices = ", ".join(str(c) for c in node["enum"] if c is not None)
            raise Invalid(f"{where} must be one of {choices}, not {error.instance!r:.40}")
        said = node.get("description") if kind in WORDED and isinstance(node, dict) else None
        raise Invalid(f"{where + ': ' if where else ''}{said or error.message}")


TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
# Failures whose schema's description says better what is wanted than the validator's words.
WORDED = {
    "AnyOf",
    "OneOfNotValid",
    "OneOfMultipleValid",
    "Pattern",
    "Format",
    "MinProperties",
    "MinItems",
    "MinLength",
    "MaxLength",
    "Not",
}


ROOT: Schema = {
    "components": {"schemas": SCHEMAS},
    "x-query": {name: param["schema"] for name, param in QUERY.items()},
}


def is_phone(value: str, region: str) -> bool:
    """The `phone` format: blank (no phone), or a number valid in the caller's region."""
    return not value.strip() or to_e164(value, region) is not None


@cache
def _validator(pointer: str, region: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(
        {"$ref": pointer, **ROOT},
        validate_formats=True,
        formats={
            "phone": lambda value: is_phone(value, region),
            "phone-number": lambda value: bool(value.strip()) and is_phone(value, region),
        },
        keywords={"x-contact-filter": ContactFilter},
    )
