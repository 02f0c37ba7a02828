"""JSON Schemas of the filter forms (a Chatwoot `payload`, a JSON tree), derived from the filter
grammar's own tables (store.filters: its tree and chatwoot modules): which operators each field
takes and what values go with each, so that a value the schema accepts is one the grammar
accepts."""

from __future__ import annotations

import json
from typing import Any

from store.filters import (
    ANY_OF,
    ATTRIBUTES,
    CUSTOM_KEY_MAX,
    CUSTOM_PREFIXES,
    FIELD_ALIASES,
    KINDS,
    MAX_DAYS,
    MAX_ITEMS,
    MAX_NAMES,
    MAX_VALUE,
    NONE_OF,
    OP_ALIASES,
    OPERATORS,
    OPS,
    REFUSED,
)
from store.tags import MAX_TAG

Schema = dict[str, Any]

NO_NUL = "^[^\\u0000]*$"
# Python's str.strip() whitespace, spelled out (ECMA's \s differs: it has U+FEFF, not U+001C-F)
SPACE = (
    "\\t\\n\\u000b\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680"
    "\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
NOT_BLANK = f"^[^\\u0000]*[^{SPACE}\\u0000][^\\u0000]*$"
EDGE = f"[^{SPACE}\\u0000]"
# a custom field key as the grammar keeps it: 1-64 characters, no NUL, none blank at either end
CUSTOM_KEY = f"^{EDGE}([^\\u0000]{{0,{CUSTOM_KEY_MAX - 2}}}{EDGE})?$"
PRESENCE = ("present", "absent")
FALSY: Schema = {"enum": [None, False, 0, "", [], {}]}  # a custom_attribute_type that is not set

# Values, by what the grammar does with them
TEXT: Schema = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_VALUE, "pattern": NOT_BLANK},
        {"type": "number"},
    ]
}
PHONE: Schema = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_VALUE, "pattern": "^[^\\u0000]*[0-9][^\\u0000]*$"},
        {"type": "number"},
    ]
}
NAME: Schema = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_TAG, "pattern": NOT_BLANK},
        {"type": "number"},
    ]
}
PHONE_NUMBER: Schema = {  # eq / neq compare E.164 numbers: valid in the workspace's region
    "type": "string",
    "format": "phone-number",
    "description": "a phone number: +593991234567, or national in the workspace's region",
}
CUSTOM_EQ: Schema = {"anyOf": [*TEXT["anyOf"], {"type": "boolean"}]}
DAY = "(0[1-9]|1[0-9]|2[0-8])"  # every month has these; 29 February only in leap years
MONTH_DAY = f"(((0[1-9]|1[0-2])-{DAY})|((0[13-9]|1[0-2])-(29|30))|((0[13578]|1[02])-31))"
YEAR = "(1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9])"  # 1000-9998, as the grammar
YEAR_WITH_TIME = "(100[1-9]|10[1-9][0-9]|1[1-9][0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2})"  # UTC shift
TIME = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?"
CENTURY_LEAP = "([13579][26]|[2468][048])00"  # divisible by 400
LEAP = f"([1-9][0-9](0[48]|[2468][048]|[13579][26])|{CENTURY_LEAP})"  # Gregorian, up to 9996
LEAP_WITH_TIME = f"(([1-8][0-9]|9[0-8])(0[48]|[2468][048]|[13579][26])|{CENTURY_LEAP})"
INSTANT: Schema = {
    "description": "a date: 2026-10-01, or 2026-10-01T10:00:00Z",
    "type": "string",
    "pattern": f"^({YEAR}-{MONTH_DAY}|{LEAP}-02-29"
    f"|({YEAR_WITH_TIME}-{MONTH_DAY}|{LEAP_WITH_TIME}-02-29)T{TIME})$",
}
DAYS_UP_TO_MAX = "(36500|36[0-4][0-9]{2}|3[0-5][0-9]{3}|[0-2]?[0-9]{1,4})"
OTHER_UNITS = "[0-9]{1,3}[wW]|[0-9]{1,5}[hH]|[0-9]{1,6}[mM]"  # all within 36500 days
DURATION: Schema = {
    "description": "a duration: 30m, 12h, 7d, 2w or a number of days (up to 100 years)",
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": MAX_DAYS},
        {
            "type": "string",
            "pattern": f"^({DAYS_UP_TO_MAX}[dD]?|{OTHER_UNITS})$",
        },
    ],
}


FLAG: Schema = {
    "description": "true or false (also yes/no, sí/no, 1/0)",
    "anyOf": [
        {"type": "boolean"},
        {"enum": ["true", "false", "yes", "no", "si", "sí", "1", "0", 1, 0]},
    ],
}


def value_of(kind: str, op: str) -> Schema | None:
    """What one value of a condition on a `kind` field with canonical `op` is (None: no value)."""
    if op in PRESENCE:
        return None
    if kind in ("tag", "channel"):
        return NAME
    if kind == "date":
        return DURATION if op in ("within", "older_than") else INSTANT
    if kind == "custom":
        return CUSTOM_EQ if op in ("eq", "neq") else TEXT
    if kind == "phone":
        return PHONE_NUMBER if op in ("eq", "neq") else PHONE
    if kind == "flag":
        return FLAG
    return TEXT


def canonical(kind: str, name: str) -> str | None:
    """The canonical operator an operator name means on a `kind` field, None if it takes none."""
    op = OP_ALIASES.get(kind, {}).get(name, name)
    return op if op in OPS[kind] else None


def payload_values(kind: str, op: str) -> Schema:
    """The `values` of a payload item: one value or a list; several only where they mean
    any / none of them (or for names, always)."""
    one = value_of(kind, op)
    if one is None:
        return {}
    several = kind in ("tag", "channel") or op in (*ANY_OF, *NONE_OF)
    limit = {"maxItems": MAX_NAMES} if several else {"maxItems": 1}
    return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1, **limit}]}


def _grouped(kind: str, names: list[str], values: Any) -> dict[str, list[str]]:
    """Operator names of `kind` grouped by the values schema they take (as JSON text)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        op = canonical(kind, OPERATORS.get(name, name))
        if op is not None:
            groups.setdefault(json.dumps(values(kind, op), sort_keys=True), []).append(name)
    return groups


def _keys(kind: str) -> list[str]:
    """The attribute keys of a payload that name a field of `kind`."""
    fields = [f for f, k in KINDS.items() if k == kind]
    return [*fields, *(a for a, f in ATTRIBUTES.items() if f in fields)]


OUR_NAMES = sorted(
    {op for ops in OPS.values() for op in ops} | {a for v in OP_ALIASES.values() for a in v}
)
PAYLOAD_OPS = [*OPERATORS, *(n for n in OUR_NAMES if n not in OPERATORS)]
KNOWN_KEYS = [k for kind in sorted(set(KINDS.values())) for k in _keys(kind)]
CUSTOM_FIELD = {"type": "string", "pattern": CUSTOM_KEY}


def _item_branches() -> list[Schema]:
    """One schema per (attribute keys, operators, values) combination the grammar takes."""
    keyed: list[tuple[Schema, Schema, str]] = [
        ({"enum": _keys(kind)}, FALSY, kind) for kind in sorted(set(KINDS.values()))
    ]
    unknown = {**CUSTOM_FIELD, "not": {"enum": [*KNOWN_KEYS, *REFUSED, *CUSTOM_PREFIXES]}}
    keyed.append((unknown, FALSY, "custom"))
    typed = {**CUSTOM_FIELD, "not": {"enum": list(REFUSED)}}
    keyed.append((typed, {"not": FALSY}, "custom"))
    branches = []
    for key, custom_type, kind in keyed:
        for values, names in _grouped(kind, PAYLOAD_OPS, payload_values).items():
            props = {
                "attribute_key": key,
                "custom_attribute_type": custom_type,
                "filter_operator": {"enum": names},
                "values": json.loads(values),
            }
            required = ["custom_attribute_type"] if "not" in custom_type else []
            if props["values"]:
                required.append("values")
            branches.append({"properties": props, "required": required})
    return branches


PAYLOAD_ITEM: Schema = {
    "description": "a payload item: attribute_key, a filter_operator that field takes and"
    " values of its kind (dates 2026-10-01, durations 7d, tags as names)",
    "type": "object",
    "properties": {
        "attribute_key": {"type": "string"},
        "filter_operator": {"enum": PAYLOAD_OPS},
        "values": {},
        "query_operator": {"enum": ["and", "or", "AND", "OR", None]},
        "custom_attribute_type": {},
        "attribute_model": {},
    },
    "required": ["attribute_key", "filter_operator"],
    "additionalProperties": False,
    "anyOf": _item_branches(),
}
PAYLOAD: Schema = {"type": "array", "items": PAYLOAD_ITEM, "maxItems": MAX_ITEMS}


def tree_value(kind: str, op: str) -> Schema:
    """The `value` of a tree condition: one value, or a list of names."""
    one = value_of(kind, op)
    if one is None:
        return {"type": "null"}
    if kind in ("tag", "channel"):
        return {
            "anyOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": MAX_NAMES}]
        }
    return one


def _condition_branches() -> list[Schema]:
    """One schema per (fields, operators, value) combination of a tree condition."""
    prefixed = {"type": "string", "pattern": f"^(custom|cf)\\.{CUSTOM_KEY[1:]}"}
    keyed: list[tuple[Schema, str]] = [
        ({"enum": [*fields_of(kind)]}, kind) for kind in sorted(set(KINDS.values()))
    ]
    keyed.append((prefixed, "custom"))
    branches = []
    for field, kind in keyed:
        for value, names in _grouped(kind, OUR_NAMES, tree_value).items():
            props = {"field": field, "op": {"enum": names}, "value": json.loads(value)}
            required = ["field", "op"] if "null" in value else ["field", "op", "value"]
            branches.append({"properties": props, "required": required})
    return branches


def fields_of(kind: str) -> list[str]:
    """The field names and aliases of a tree condition that name a field of `kind`."""
    fields = [f for f, k in KINDS.items() if k == kind]
    return [*fields, *(a for a, f in FIELD_ALIASES.items() if f in fields)]


NODE = {"$ref": "#/components/schemas/FilterNode"}
FILTER_NODE: Schema = {
    "description": "a filter node: a condition {field, op, value} with an operator its field"
    " takes, or a group {and: [...]}, {or: [...]}, {not: node}",
    "anyOf": [
        {
            "type": "object",
            "properties": {"field": {}, "op": {}, "value": {}},
            "additionalProperties": False,
            "anyOf": _condition_branches(),
        },
        *(
            {
                "type": "object",
                "properties": {group: {"type": "array", "items": NODE, "minItems": 1}},
                "required": [group],
                "additionalProperties": False,
            }
            for group in ("and", "or")
        ),
        {
            "type": "object",
            "properties": {"not": NODE},
            "required": ["not"],
            "additionalProperties": False,
        },
    ],
}
OBJECT_FILTER: Schema = {
    "anyOf": [
        {"enum": [{}, {"and": []}]},
        {
            "type": "object",
            "properties": {"payload": PAYLOAD},
            "required": ["payload"],
            "additionalProperties": False,
        },
        NODE,
    ]
}
